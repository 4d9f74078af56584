// Synchronised playback: up to four cameras' recorded footage on one clock. The clock, not
// any one video, is the truth: each tile plays its camera's footage from the clock's instant
// (under its grants, asked as the camera page asks, a refusal said in the tile), and every
// TICK_MS each video is brought back to the clock when it has drifted more than DRIFT_S (× the
// speed). While a tile waits for footage the clock waits with it, so that the others do not
// run ahead of it; a tile that gets none within GIVE_UP_MS is let go, said in the tile.
import { api, formatTime, fromSiteLocal, t, toSiteLocal } from "./app.js";
import { RecordedPlayer } from "./recorded-player.js";
import { SVG_NS as NS, ZOOMS, ticks } from "./timeline-axis.js";

const grid = document.getElementById("sync-grid");
const svg = document.getElementById("sync-timeline");
const headEl = document.getElementById("sync-head");
const speed = document.getElementById("sync-speed");
const CHUNK_MS = 30 * 60e3; // one media range at most (the server allows 2 h)
const LOOKAHEAD_MS = 86400e3; // how far a tile looks for its next recording
const TICK_MS = 250;
const DRIFT_S = 0.3;
const GIVE_UP_MS = 15000;
const DRAG_PX = 4;
const ROW = 18;
const AXIS = 26;
const iso = (ms) => new Date(ms).toISOString();
const startOf = (x) => Math.ceil(x.start_us / 1e3);
const endOf = (x) => Math.floor(x.end_us / 1e3);

const tiles = [...grid.querySelectorAll(".sync-tile")].map((fig) => {
  const video = fig.querySelector("video");
  return {
    camera: Number(fig.dataset.camera),
    name: fig.querySelector("figcaption").textContent,
    fig, video, note: fig.querySelector(".sync-note"), player: new RecordedPlayer(video),
    range: null, // { start, end } ms: what its video plays (asked from `start`)
    busy: false, // asking the server what to play
    retryAt: null, // ms: the clock's instant at which its next recording (or grant) begins
    waitSince: null, // performance.now() when it began waiting for footage
    spans: [], gaps: [], grants: [],
  };
});
// The instant (ms) at a tile's video time 0: where the server says its media starts (the
// keyframe at or before the start asked for, up to a GOP earlier), else the start asked for.
// Sound stays off here: four cameras at once would drown each other (the camera page plays it).
const originOf = (tile) => tile.player.originMs ?? tile.range.start;
for (const tile of tiles) {
  tile.player.onchange = () => {
    if (tile.range) tile.fig.dataset.start = String(originOf(tile));
  };
}

// The instant shown (ms since 1970) at `base` (performance.now()), moving at `rate` while it
// runs and no tile holds it.
const clock = { at: null, base: 0, rate: 1, running: false, held: false };
function now() {
  if (clock.at === null) return null;
  if (!clock.running || clock.held) return clock.at;
  return clock.at + (performance.now() - clock.base) * clock.rate;
}
function rebase() {
  clock.at = now();
  clock.base = performance.now();
}

let epoch = 0; // each seek supersedes what the one before still asks the server
let zoom = 0;
let viewEnd = Date.now();
const span = () => ZOOMS[zoom];

async function loadGrants() {
  const res = await api("/grants");
  const all = res.ok ? await res.json() : [];
  for (const tile of tiles) {
    tile.grants = all.filter((g) => g.live && g.camera_ids.includes(tile.camera))
      .map((g) => ({ start: startOf(g), end: endOf(g) }));
  }
}

async function loadView() {
  const from = viewEnd - span();
  await Promise.all(tiles.map(async (tile) => {
    const res = await api(`/cameras/${tile.camera}/recordings?from=${iso(from)}&to=${iso(viewEnd)}`);
    if (res.ok) Object.assign(tile, await res.json());
  }));
  draw();
}

// The stretch of [from, to) that one of the tile's grants covers from `from` on, or null.
function coveredFrom(tile, from, to) {
  let best = null;
  for (const g of tile.grants) {
    if (g.start <= from && g.end > from) best = Math.max(best ?? 0, Math.min(to, g.end));
  }
  return best;
}

// The first of the tile's grants that begins after `from`, or null.
function nextGrant(tile, from) {
  const later = tile.grants.filter((g) => g.start > from).map((g) => g.start);
  return later.length ? Math.min(...later) : null;
}

function say(tile, text, error = false) {
  tile.note.hidden = !text;
  tile.note.textContent = text ?? "";
  tile.note.classList.toggle("error", error);
}

function rest(tile, text, error = false) {
  tile.range = null;
  delete tile.fig.dataset.start;
  tile.waitSince = null;
  tile.player.stop();
  tile.video.removeAttribute("src");
  tile.video.load();
  say(tile, text, error);
}

// Plays the tile's camera from `ms`: the recording there, as far as a grant of its covers it;
// what it cannot play is said, and it starts by itself when the clock reaches its next
// recording or grant.
async function startTile(tile, ms, mine) {
  tile.busy = true;
  try {
    const to = Math.min(Date.now(), ms + LOOKAHEAD_MS);
    const res = to > ms
      ? await api(`/cameras/${tile.camera}/recordings?from=${iso(ms)}&to=${iso(to)}`)
      : null;
    const spans = res && res.ok ? (await res.json()).spans : [];
    if (mine !== epoch) return;
    const s = spans.find((x) => endOf(x) > ms);
    if (!s || startOf(s) > ms) {
      rest(tile, t("Nothing recorded at this time"));
      tile.retryAt = s ? startOf(s) : null;
      return;
    }
    const end = coveredFrom(tile, ms, endOf(s)) ?? endOf(s);
    const b = Math.min(ms + CHUNK_MS, end);
    const check = await api(`/grants/check?camera_id=${tile.camera}&start=${iso(ms)}&end=${iso(b)}`);
    const refusal = check.ok ? null : (await check.json()).detail;
    if (mine !== epoch) return;
    if (refusal !== null) {
      rest(tile, typeof refusal === "string" ? refusal : t("No video"), true);
      tile.retryAt = nextGrant(tile, ms);
      return;
    }
    say(tile, null);
    tile.range = { start: ms, end: b };
    tile.fig.dataset.start = String(ms); // its video's time 0 (the tests read it): the server
    // says where it lies once the media comes (player.onchange)
    tile.waitSince = performance.now();
    tile.video.defaultPlaybackRate = clock.rate;
    tile.video.playbackRate = clock.rate;
    tile.player.play(`/api/v1/cameras/${tile.camera}/media?start=${iso(ms)}&end=${iso(b)}`);
  } finally {
    if (mine === epoch) tile.busy = false;
  }
}

async function seekAll(ms) {
  ms = Math.round(Math.min(ms, Date.now()));
  const mine = ++epoch;
  clock.at = ms;
  clock.base = performance.now();
  clock.running = true;
  for (const tile of tiles) {
    tile.retryAt = null;
    tile.busy = true; // the clock waits until each tile knows what it plays
    rest(tile, null);
  }
  await loadGrants();
  if (mine !== epoch) return;
  await Promise.all(tiles.map((tile) => startTile(tile, ms, mine)));
}

function buffered(video, s) {
  const b = video.buffered;
  for (let i = 0; i < b.length; i++) if (b.start(i) <= s && s < b.end(i)) return true;
  return false;
}

function tick() {
  const at = now();
  if (at === null) return;
  let waiting = false;
  for (const tile of tiles) {
    if (tile.busy) { waiting = true; continue; }
    if (!tile.range) {
      if (tile.retryAt !== null && at >= tile.retryAt) {
        tile.retryAt = null;
        tile.busy = true;
        startTile(tile, Math.round(at), epoch);
        waiting = true;
      }
      continue;
    }
    if (at >= tile.range.end) { // its range played out: on from there
      tile.busy = true;
      startTile(tile, tile.range.end, epoch);
      waiting = true;
      continue;
    }
    const v = tile.video;
    const want = (at - originOf(tile)) / 1e3;
    if (v.readyState < HTMLMediaElement.HAVE_FUTURE_DATA) {
      if (tile.waitSince === null) tile.waitSince = performance.now();
      if (performance.now() - tile.waitSince > GIVE_UP_MS) {
        rest(tile, t("No video"), true);
        continue;
      }
      waiting = true;
    } else {
      tile.waitSince = null;
    }
    if (Math.abs(v.currentTime - want) > DRIFT_S * Math.max(1, clock.rate) && buffered(v, want)) {
      v.currentTime = want;
    }
  }
  if (waiting !== clock.held) {
    rebase();
    clock.held = waiting;
  }
  const go = clock.running && !clock.held;
  for (const tile of tiles) {
    const v = tile.video;
    if (!tile.range || !v.currentSrc) continue;
    if (go && v.paused) v.play().catch(() => {});
    if (!go && !v.paused) v.pause();
  }
  showHead();
  draw();
}

function showHead() {
  const ms = now();
  if (ms === null) return;
  headEl.textContent = formatTime(ms, true);
  headEl.dateTime = iso(ms);
  grid.dataset.clock = String(Math.round(ms));
  grid.dataset.state = !clock.running ? "paused" : clock.held ? "waiting" : "playing";
}

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function draw() {
  const w = svg.clientWidth;
  const rows = tiles.length * ROW;
  svg.setAttribute("height", String(rows + AXIS));
  const from = viewEnd - span();
  const x = (ms) => ((ms - from) / span()) * w;
  const out = [];
  tiles.forEach((tile, i) => {
    const y = i * ROW;
    for (const s of tile.spans) {
      const x0 = x(s.start_us / 1e3);
      out.push(el("rect", { x: x0, y: y + 2, width: Math.max(1, x(s.end_us / 1e3) - x0), height: ROW - 4, class: "span" }));
    }
    for (const g of tile.gaps) {
      const x0 = x(g.start_us / 1e3);
      const x1 = x(g.end_us === null ? Date.now() : g.end_us / 1e3);
      out.push(el("rect", { x: x0, y: y + ROW - 6, width: Math.max(1, x1 - x0), height: 4, class: "gap" }));
    }
    out.push(el("text", { x: 4, y: y + ROW - 5, class: "row-label" }, tile.name));
  });
  ticks(from, viewEnd).forEach((ms, i) => {
    const px = x(ms);
    out.push(el("line", { x1: px, x2: px, y1: rows, y2: rows + 6, class: "tick" }));
    out.push(el("text", { x: Math.min(px + 2, w - 60), y: rows + 18 }, formatTime(ms, zoom === 0 && i === 0)));
  });
  const nowX = x(Date.now());
  out.push(el("line", { x1: nowX, x2: nowX, y1: 0, y2: rows, class: "now" }));
  const head = now();
  if (head !== null) out.push(el("line", { x1: x(head), x2: x(head), y1: 0, y2: rows, class: "head" }));
  svg.replaceChildren(...out);
}

// A press that moves pans the view; one that does not plays every camera from that instant
// (decided on pointerup: the timeline is redrawn while footage plays).
let drag = null;
svg.addEventListener("pointerdown", (e) => {
  if (e.button === 0) drag = { x: e.clientX, end: viewEnd, moved: false };
});
svg.addEventListener("pointermove", (e) => {
  if (!drag || (!drag.moved && Math.abs(e.clientX - drag.x) <= DRAG_PX)) return;
  drag.moved = true;
  viewEnd = Math.min(Date.now(), drag.end - ((e.clientX - drag.x) / svg.clientWidth) * span());
  draw();
});
function release(e) {
  if (!drag) return;
  const press = drag;
  drag = null;
  if (press.moved) { loadView(); return; }
  if (e.type !== "pointerup") return;
  const box = svg.getBoundingClientRect();
  if (e.clientX < box.left || e.clientX > box.right || e.clientY < box.top || e.clientY > box.bottom) return;
  seekAll(viewEnd - span() + ((e.clientX - box.left) / box.width) * span());
}
window.addEventListener("pointerup", release);
window.addEventListener("pointercancel", release);

function togglePlay() {
  if (clock.at === null) return;
  rebase();
  clock.running = !clock.running;
  tick();
}
function setSpeed(rate) {
  rebase();
  clock.rate = rate;
  speed.value = String(rate);
  for (const tile of tiles) {
    tile.video.defaultPlaybackRate = rate;
    tile.video.playbackRate = rate;
  }
}
document.getElementById("sync-play").addEventListener("click", togglePlay);
speed.addEventListener("change", () => setSpeed(Number(speed.value)));
document.getElementById("sync-zoom-in").addEventListener("click", () => {
  zoom = Math.min(zoom + 1, ZOOMS.length - 1);
  const head = now();
  if (head !== null) viewEnd = Math.min(Date.now(), head + span() / 2);
  loadView();
});
document.getElementById("sync-zoom-out").addEventListener("click", () => {
  zoom = Math.max(zoom - 1, 0);
  viewEnd = Math.min(Date.now(), viewEnd + span() / 4);
  loadView();
});
const jumpTime = document.getElementById("sync-jump-time");
jumpTime.value = toSiteLocal(Date.now() - 3600e3);
document.getElementById("sync-jump").addEventListener("submit", (e) => {
  e.preventDefault();
  const ms = fromSiteLocal(jumpTime.value);
  if (!Number.isFinite(ms)) return;
  zoom = Math.max(zoom, ZOOMS.indexOf(3600e3));
  viewEnd = Math.min(Date.now(), ms + span() / 2);
  loadView();
  seekAll(ms);
});
// Space plays or pauses all, ←/→ move every camera a second (ten with Shift); not in a field.
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.altKey || e.metaKey || e.target.closest?.("input, select, textarea")) return;
  const head = now();
  if (e.key === " ") { e.preventDefault(); togglePlay(); }
  else if (head !== null && (e.key === "ArrowLeft" || e.key === "ArrowRight")) {
    e.preventDefault();
    seekAll(head + (e.key === "ArrowLeft" ? -1 : 1) * (e.shiftKey ? 10 : 1) * 1e3);
  }
});

setInterval(tick, TICK_MS);
setInterval(() => { if (zoom === 0 && !drag) { viewEnd = Date.now(); loadView(); } }, 10000);
loadView();
if (grid.dataset.at) {
  const at = Number(grid.dataset.at);
  zoom = ZOOMS.indexOf(3600e3);
  viewEnd = Math.min(Date.now(), at + span() / 2);
  loadView();
  seekAll(at);
}
