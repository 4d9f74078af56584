// One camera: live view, a zoomable timeline of recorded spans, gaps and bookmarks, and
// playback; a bookmark at the play head or a clicked time; a range selected on the timeline
// to ask for in an access request (/requests/new, filled in by the server).
import { api, formatTime, fromSiteLocal, t, toSiteLocal } from "./app.js";
import { LivePlayer } from "./live-player.js";
import { RecordedPlayer } from "./recorded-player.js";
import { SVG_NS as NS, ZOOMS, ticks } from "./timeline-axis.js";

const live = document.querySelector("video.live");
if (live) new LivePlayer(live, live.dataset.camera, live.dataset.stream);

const svg = document.getElementById("timeline");
const camera = svg.dataset.camera;
const video = document.getElementById("playback");
const position = document.getElementById("playback-position");
const head = document.getElementById("playback-head");
const player = new RecordedPlayer(video);
const CHUNK_MS = 30 * 60e3; // one media range at most (the server allows 2 h)
const LOOKAHEAD_MS = 30 * 86400e3; // how far on "Next recording" looks (timelines: ≤ 31 days)
let zoom = 0;
let viewEnd = Date.now();
let data = { spans: [], gaps: [] };
let playing = null; // { start: ms of the requested start, end: ms }
let grants = []; // [{ start, end }] ms: my live grants' windows on this camera
let marks = []; // the view's bookmarks (GET /bookmarks): { at_us, note, author, … }
let clicked = null; // ms: the last instant clicked, gone to or linked to (?at=)
let selection = null; // { start, end } ms: the range selected (Select range, or Shift+drag)
let selecting = false; // "Select range" pressed: a drag selects instead of panning

const span = () => ZOOMS[zoom];
const iso = (ms) => new Date(ms).toISOString();

async function load() {
  const from = viewEnd - span();
  const range = `from=${iso(from)}&to=${iso(viewEnd)}`;
  const [res, bm] = await Promise.all([
    api(`/cameras/${camera}/recordings?${range}`),
    api(`/bookmarks?camera_id=${camera}&${range}`),
  ]);
  if (res.ok) data = await res.json();
  if (bm.ok) marks = await bm.json();
  draw();
}

function rect(x0, x1, cls, title) {
  const r = document.createElementNS(NS, "rect");
  r.setAttribute("x", x0);
  r.setAttribute("width", Math.max(1, x1 - x0));
  r.setAttribute("y", cls === "gap" ? 30 : 14);
  r.setAttribute("height", cls === "gap" ? 8 : 24);
  r.setAttribute("class", cls);
  const tip = document.createElementNS(NS, "title");
  tip.textContent = title;
  r.appendChild(tip);
  return r;
}

function draw() {
  const w = svg.clientWidth;
  const from = viewEnd - span();
  const x = (ms) => ((ms - from) / span()) * w;
  svg.replaceChildren();
  svg.dataset.from = String(from); // the window drawn (ms): where an instant lies on it
  svg.dataset.to = String(viewEnd);
  for (const s of data.spans) {
    svg.appendChild(rect(x(s.start_us / 1e3), x(s.end_us / 1e3), "span",
      `${t("Recorded")} ${formatTime(s.start_us / 1e3, true)} – ${formatTime(s.end_us / 1e3)}`));
  }
  for (const g of data.gaps) {
    const end = g.end_us === null ? Date.now() : g.end_us / 1e3;
    svg.appendChild(rect(x(g.start_us / 1e3), x(end), "gap",
      `${t("Gap")} ${formatTime(g.start_us / 1e3, true)}: ${g.reason}`));
  }
  ticks(from, viewEnd).forEach((ms, i) => {
    const px = x(ms);
    line(px, "tick", 40, 48);
    const label = document.createElementNS(NS, "text");
    label.setAttribute("x", Math.min(px + 2, w - 60));
    label.setAttribute("y", 60);
    label.textContent = formatTime(ms, zoom === 0 && i === 0);
    svg.appendChild(label);
  });
  line(x(Date.now()), "now");
  if (selection) {
    const r = rect(x(selection.start), x(selection.end), "selection", `${t("Selected")} ${rangeText()}`);
    r.setAttribute("y", 0);
    r.setAttribute("height", 48);
    svg.appendChild(r);
  }
  const focused = document.activeElement?.closest?.(".bookmark")?.dataset.id;
  for (const m of marks) svg.appendChild(marker(x(m.at_us / 1e3), m));
  // redrawn while footage plays: a flag reached from the keyboard keeps the focus
  if (focused) svg.querySelector(`.bookmark[data-id="${CSS.escape(focused)}"]`)?.focus();
  if (playing) line(x(headMs()), "head");
  else if (clicked !== null) line(x(clicked), "cursor");
}

// A bookmark: a flag over the time it marks, its note as the tip; pressed, it plays from
// there (under the same grant rules as a click: a bookmark opens no footage).
function marker(px, m) {
  const g = document.createElementNS(NS, "g");
  g.setAttribute("class", "bookmark");
  g.dataset.at = String(m.at_us / 1e3);
  g.dataset.id = String(m.id);
  const hit = document.createElementNS(NS, "rect"); // wider than the flag: easy to press
  hit.setAttribute("x", px - 6); hit.setAttribute("width", 12);
  hit.setAttribute("y", 0); hit.setAttribute("height", 40);
  hit.setAttribute("class", "bookmark-hit");
  const flag = document.createElementNS(NS, "path");
  flag.setAttribute("d", `M${px},0 V40 M${px},0 h8 l-3,4 l3,4 h-8`);
  const tip = document.createElementNS(NS, "title");
  tip.textContent = `${formatTime(m.at_us / 1e3, true)} · ${m.author}: ${m.note}`;
  g.append(hit, flag, tip);
  // reached with Tab, pressed with Enter or Space, as a button
  g.setAttribute("tabindex", "0");
  g.setAttribute("role", "button");
  g.setAttribute("aria-label", tip.textContent);
  return g;
}

// The instant (ms) at the video's time 0: where the server says the media starts (the
// keyframe at or before the start asked for), else the start asked for.
const originMs = () => player.originMs ?? playing.start;

// The wall-clock time (ms) of what the player shows.
function headMs() {
  return originMs() + video.currentTime * 1e3;
}

// The play head's time, always shown (in the site's zone; `datetime` holds it to the ms).
function showHead() {
  if (!playing) return;
  const ms = headMs();
  head.textContent = formatTime(ms, true);
  head.dateTime = iso(ms);
}

function line(px, cls, y1 = 0, y2 = 48) {
  const l = document.createElementNS(NS, "line");
  l.setAttribute("x1", px); l.setAttribute("x2", px);
  l.setAttribute("y1", y1); l.setAttribute("y2", y2);
  l.setAttribute("class", cls);
  svg.appendChild(l);
}

// Recorded spans from `ms` on (fresh: the view's may be stale, and may end before the next one).
async function recordedFrom(ms) {
  const to = Math.min(Date.now(), ms + LOOKAHEAD_MS);
  if (!(to > ms)) return [];
  const res = await api(`/cameras/${camera}/recordings?from=${iso(ms)}&to=${iso(to)}`);
  return res.ok ? (await res.json()).spans : [];
}

// Whole milliseconds inside a span or a grant: a range asked for never starts before its
// first microsecond or ends after its last (a grant covers [start_us, end_us] exactly).
const startOf = (x) => Math.ceil(x.start_us / 1e3);
const endOf = (x) => Math.floor(x.end_us / 1e3);

// The windows of my live grants on this camera (every grant allows viewing): a media range
// must lie inside one of them.
async function loadGrants() {
  const res = await api("/grants");
  grants = res.ok
    ? (await res.json()).filter((g) => g.live && g.camera_ids.includes(Number(camera)))
      .map((g) => ({ start: startOf(g), end: endOf(g) }))
    : [];
}

// The first stretch of [from, to) that one grant covers, or null.
function covered(from, to) {
  let best = null;
  for (const g of grants) {
    const a = Math.max(from, g.start);
    const b = Math.min(to, g.end);
    if (a < b && (!best || a < best.start || (a === best.start && b > best.end))) best = { start: a, end: b };
  }
  return best;
}

function say(text, error = false) {
  position.textContent = text;
  position.classList.toggle("error", error);
}

// Each click, "Next recording" or continue supersedes the one before, still waiting on the
// server: only the latest one plays.
let latest = 0;

// Plays [a, b) (one grant, one span, ≤ 30 min): asks first, so that a refusal shows its reason.
async function play(a, b, mine) {
  const check = await api(`/grants/check?camera_id=${camera}&start=${iso(a)}&end=${iso(b)}`);
  const refusal = check.ok ? null : (await check.json()).detail;
  if (mine !== latest) return;
  if (refusal !== null) { say(refusal, true); return; }
  say(`${t("Playing from")} ${formatTime(a, true)}`);
  playing = { start: a, end: b };
  player.play(`/api/v1/cameras/${camera}/media?start=${iso(a)}&end=${iso(b)}`);
  setSpeed(Number(speed.value));
  showHead();
  draw();
}

// A click: from that instant, or from the next recording when nothing is recorded there.
// Time no grant of mine covers is asked for all the same: the refusal says why.
export async function playFrom(ms) {
  ms = Math.round(ms);
  const mine = ++latest;
  await loadGrants();
  const s = (await recordedFrom(ms)).find((x) => endOf(x) > ms);
  if (mine !== latest) return;
  if (!s) { say(t("Nothing recorded at this time")); return; }
  const from = Math.max(ms, startOf(s));
  const c = covered(from, endOf(s));
  const end = c && c.start === from ? c.end : endOf(s);
  await play(from, Math.min(from + CHUNK_MS, end), mine);
}

// "Next recording" and the continue at the end of a range: the part of the recording from
// `from` on (in span `s`) that a grant covers, trimmed to that grant; said when none does.
async function playCovered(from, s, mine) {
  const c = covered(from, endOf(s));
  if (!c) {
    say(t("The recording from {time} on lies outside every grant of yours: file an access request")
      .replace("{time}", formatTime(from, true)), true);
    return;
  }
  await play(c.start, Math.min(c.start + CHUNK_MS, c.end), mine);
}

async function playNext() {
  const now = Math.floor(playing ? headMs() : viewEnd - span());
  const mine = ++latest;
  await loadGrants();
  const s = (await recordedFrom(now)).find((x) => startOf(x) > now);
  if (mine !== latest) return;
  if (!s) { say(t("No later recording")); return; }
  await playCovered(startOf(s), s, mine);
}

async function playOn() {
  const from = playing.end;
  const mine = ++latest;
  await loadGrants();
  const s = (await recordedFrom(from)).find((x) => endOf(x) > from);
  if (mine !== latest) return;
  if (!s) { say(t("Played up to the latest recording")); return; }
  await playCovered(Math.max(from, startOf(s)), s, mine);
}

// A press that moves the pointer more than DRAG_PX pans the view; one that does not plays
// from the instant where it is released. Decided on pointerup, not on the browser's click:
// the timeline is redrawn at every timeupdate while footage plays, so the element pressed is
// often gone by the release, and then no click comes at all (most ordinary clicks, 80–150 ms,
// were lost during playback; bench/playback.py found it).
// With "Select range" pressed, or Shift held at the press, a drag selects a range instead.
// A bookmark pressed is remembered at the press, for the same reason.
const DRAG_PX = 4;
// { x, y, end: viewEnd at the press, moved, at: ms pressed, mark: ms or null, select: ms or null }
let drag = null;
const timeAt = (clientX) => {
  const box = svg.getBoundingClientRect();
  return viewEnd - span() + ((clientX - box.left) / box.width) * span();
};
svg.addEventListener("pointerdown", (e) => {
  if (e.button !== 0) return;
  const flag = e.target.closest?.(".bookmark");
  drag = {
    x: e.clientX, y: e.clientY, end: viewEnd, moved: false, at: timeAt(e.clientX),
    mark: flag ? Number(flag.dataset.at) : null,
    select: selecting || e.shiftKey ? timeAt(e.clientX) : null,
  };
});
svg.addEventListener("pointermove", (e) => {
  if (!drag) return;
  if (!drag.moved && Math.hypot(e.clientX - drag.x, e.clientY - drag.y) <= DRAG_PX) return;
  drag.moved = true;
  if (drag.select !== null) {
    const now = Date.now();
    const a = Math.min(now, drag.select);
    const b = Math.min(now, timeAt(e.clientX));
    selection = { start: Math.round(Math.min(a, b)), end: Math.round(Math.max(a, b)) };
    showRange();
    draw();
    return;
  }
  const dx = ((e.clientX - drag.x) / svg.clientWidth) * span();
  viewEnd = Math.min(Date.now(), drag.end - dx);
  draw();
});
function release(e) {
  if (!drag) return;
  const press = drag;
  drag = null;
  if (press.moved) { if (press.select === null) load(); return; } // the view dragged to
  if (e.type !== "pointerup") return;
  // let go where it was pressed (a pointer dragged off the timeline moves no handler of its):
  // the instant under the press, whatever the page's layout did meanwhile
  if (Math.hypot(e.clientX - press.x, e.clientY - press.y) > DRAG_PX) return;
  goTo(press.mark ?? press.at);
}
window.addEventListener("pointerup", release);
window.addEventListener("pointercancel", release);
svg.addEventListener("keydown", (e) => {
  const flag = e.target.closest?.(".bookmark");
  if (!flag || (e.key !== "Enter" && e.key !== " ")) return;
  e.preventDefault();
  e.stopPropagation(); // not the page's Space (play/pause)
  goTo(Number(flag.dataset.at));
});

// An instant chosen (a click, a bookmark, "Go to", ?at=): the bookmark form's time, and
// played from there if a grant allows (said why not otherwise).
function goTo(ms) {
  clicked = Math.round(ms);
  showBookmarkAt();
  playFrom(ms);
}

document.getElementById("zoom-in").addEventListener("click", () => {
  // Around the play head when playing; otherwise keep the right edge (usually "now").
  zoom = Math.min(zoom + 1, ZOOMS.length - 1);
  if (playing) viewEnd = Math.min(Date.now(), headMs() + span() / 2);
  load();
});
document.getElementById("zoom-out").addEventListener("click", () => {
  zoom = Math.max(zoom - 1, 0);
  viewEnd = Math.min(Date.now(), viewEnd + span() / 4);
  load();
});
document.getElementById("play-pause").addEventListener("click", () => {
  if (video.paused) video.play().catch(() => {}); else video.pause();
});
const speed = document.getElementById("speed");
const SPEEDS = [...speed.options].map((o) => Number(o.value));
function setSpeed(rate) {
  speed.value = String(rate);
  video.defaultPlaybackRate = rate; // kept when the player sets a new source
  video.playbackRate = rate;
  showSound();
}

// Sound: recorded audio plays with the picture (its pitch kept at any speed, the browser's
// default), muted at first (browsers let only muted media start by itself) until the person
// presses the button (or M); muted above MAX_SOUND_RATE, where speech is no longer
// intelligible, and back as chosen below it. Without a sound track the button says so.
const sound = document.getElementById("sound");
const MAX_SOUND_RATE = 4;
let soundWanted = false;
function showSound() {
  const has = player.hasAudio;
  const fast = video.playbackRate > MAX_SOUND_RATE;
  video.muted = !has || fast || !soundWanted;
  if (!sound) return;
  // shown while nothing plays too (greyed): a button that came and went moved the timeline
  sound.disabled = !playing || !has || fast;
  sound.textContent = !playing ? t("Unmute") : !has ? t("No sound track")
    : fast ? t("Muted above 4×") : soundWanted ? t("Mute") : t("Unmute");
}
function toggleSound() {
  if (!player.hasAudio || video.playbackRate > MAX_SOUND_RATE) return;
  soundWanted = !soundWanted;
  showSound();
}
sound?.addEventListener("click", toggleSound);
player.onchange = showSound;
// the video's own controls mute and unmute too: their choice is the person's
video.addEventListener("volumechange", () => {
  if (!player.hasAudio || video.playbackRate > MAX_SOUND_RATE || soundWanted === !video.muted) return;
  soundWanted = !video.muted;
  showSound();
});
speed.addEventListener("change", () => setSpeed(Number(speed.value)));
function stepSpeed(by) {
  const i = SPEEDS.indexOf(Number(speed.value));
  setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, i + by))]);
}
function togglePlay() {
  if (!video.currentSrc) return;
  if (video.paused) video.play().catch(() => {}); else video.pause();
}

// Moves the play head by `s` seconds: inside the range being played a seek; beyond it, or
// back before what the recorded player still holds (it drops what lies well behind the play
// head), the range from there is asked for (under the same grant rules as a click).
function step(s) {
  if (!playing) return;
  const t = video.currentTime + s;
  const end = Number.isFinite(video.duration) ? video.duration : (playing.end - originMs()) / 1e3;
  if (t >= Math.max(0, player.heldFrom()) && t < end) video.currentTime = t;
  else playFrom(headMs() + s * 1e3);
}

// A seek with the video's own controls to footage the player has dropped: asked for again.
video.addEventListener("seeking", () => {
  if (playing && video.currentTime < player.heldFrom() - 0.5) playFrom(headMs());
});

// Space / K play or pause, ←/→ step one second (ten with Shift), +/L faster, −/J slower, M
// sound on or off; not
// while typing in a field (on a focused button too: the key's default, a click, is kept from
// it), and not with Ctrl, Alt or Meta (the browser's own shortcuts).
const KEYS = {
  " ": togglePlay, k: togglePlay,
  ArrowLeft: (e) => step(e.shiftKey ? -10 : -1), ArrowRight: (e) => step(e.shiftKey ? 10 : 1),
  "+": () => stepSpeed(1), "=": () => stepSpeed(1), l: () => stepSpeed(1),
  "-": () => stepSpeed(-1), "−": () => stepSpeed(-1), j: () => stepSpeed(-1),
  m: toggleSound,
};
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.altKey || e.metaKey) return;
  if (e.target.closest?.("input, select, textarea, [contenteditable]")) return;
  const action = KEYS[e.key.length === 1 ? e.key.toLowerCase() : e.key];
  if (!action) return;
  e.preventDefault();
  action(e);
});

// "Go to": the timeline moves to that time (site zone) and plays from it, as a click would.
const jumpTime = document.getElementById("jump-time");
const HOUR_ZOOM = ZOOMS.indexOf(3600e3);
jumpTime.value = toSiteLocal(Date.now() - 3600e3);
document.getElementById("jump").addEventListener("submit", (e) => {
  e.preventDefault();
  const ms = fromSiteLocal(jumpTime.value);
  if (!Number.isFinite(ms)) return;
  centre(ms);
  goTo(ms);
});

// The timeline around `ms`: at most an hour in view (the whole-day view follows "now").
function centre(ms) {
  zoom = Math.max(zoom, HOUR_ZOOM);
  viewEnd = Math.min(Date.now(), ms + span() / 2);
  load();
}
document.getElementById("next-recording").addEventListener("click", () => playNext());
video.addEventListener("ended", () => { if (playing) playOn(); });
video.addEventListener("timeupdate", () => { showHead(); draw(); });

// Bookmarks: at the play head while footage plays, else at the instant last chosen.
const bookmarkForm = document.getElementById("bookmark-form");
const bookmarkAt = document.getElementById("bookmark-at");
const bookmarkSaid = document.getElementById("bookmark-said");
const bookmarkMs = () => (playing ? Math.round(headMs()) : clicked);
function showBookmarkAt() {
  if (!bookmarkAt) return;
  const ms = bookmarkMs();
  bookmarkAt.textContent = ms === null ? "–" : formatTime(ms, true);
  bookmarkAt.dateTime = ms === null ? "" : iso(ms);
}
if (bookmarkForm) {
  bookmarkForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const note = bookmarkForm.elements.note.value.trim();
    const ms = bookmarkMs();
    const tell = (text, error) => {
      bookmarkSaid.textContent = text;
      bookmarkSaid.classList.toggle("error", error);
    };
    if (ms === null) { tell(t("Click the timeline first, or play"), true); return; }
    if (!note) { tell(t("A note is required"), true); return; }
    const res = await api("/bookmarks", {
      method: "POST", body: { camera_id: Number(camera), at: iso(ms), note },
    });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      const detail = Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join("; ") : body.detail;
      tell(detail || t("Not saved"), true);
      return;
    }
    bookmarkForm.elements.note.value = "";
    tell(`${t("Bookmark added")} ${formatTime(ms, true)}`, false);
    load();
  });
}
video.addEventListener("timeupdate", showBookmarkAt);

// "Select range" and "Request this range": the range goes to the request form, which the
// server fills in with this camera and the range's start and end (in the site's zone).
const selectRange = document.getElementById("select-range");
const requestRange = document.getElementById("request-range");
const rangeShown = document.getElementById("range-shown");
const rangeText = () => `${formatTime(selection.start, true)} – ${formatTime(selection.end, true)}`;
function showRange() {
  if (!requestRange) return;
  requestRange.hidden = !selection;
  rangeShown.hidden = !selection;
  if (selection) rangeShown.textContent = `${t("Selected")} ${rangeText()}`;
}
if (selectRange) {
  selectRange.addEventListener("click", () => {
    selecting = !selecting;
    selectRange.setAttribute("aria-pressed", String(selecting));
    svg.classList.toggle("selecting", selecting);
  });
  requestRange.addEventListener("click", () => {
    if (!selection) return;
    const q = new URLSearchParams({ camera, start: iso(selection.start), end: iso(selection.end) });
    location.href = `/requests/new?${q}`;
  });
}

// /cameras/{id}?at=<ISO 8601>: the timeline at that instant (a bookmark's link), as "Go to".
const linked = Date.parse(new URLSearchParams(location.search).get("at") ?? "");
if (Number.isFinite(linked) && linked >= 0 && linked <= Date.now() + 60e3) {
  jumpTime.value = toSiteLocal(linked);
  centre(linked);
  goTo(linked);
} else {
  load();
}
setInterval(() => {
  if (zoom === 0 && !drag) { viewEnd = Date.now(); load(); }
}, 10000);
