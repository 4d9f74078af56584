// One camera: live view, a zoomable timeline of recorded spans and gaps, and playback.
import { api, formatTime, t } from "./app.js";
import { LivePlayer } from "./live-player.js";

const live = document.querySelector("video.live");
if (live) new LivePlayer(live, live.dataset.camera, live.dataset.stream);

const svg = document.getElementById("timeline");
const camera = svg.dataset.camera;
const video = document.getElementById("playback");
const position = document.getElementById("playback-position");
const ZOOMS = [24, 12, 6, 2, 1, 0.5, 1 / 6, 1 / 12, 1 / 60].map((h) => h * 3600e3);
const CHUNK_MS = 30 * 60e3;
let zoom = 0;
let viewEnd = Date.now();
let data = { spans: [], gaps: [] };
let playing = null; // { start: ms of the requested start, end: ms }

const span = () => ZOOMS[zoom];
const iso = (ms) => new Date(ms).toISOString();
const NS = "http://www.w3.org/2000/svg";

async function load() {
  const from = viewEnd - span();
  const res = await api(`/cameras/${camera}/recordings?from=${iso(from)}&to=${iso(viewEnd)}`);
  if (res.ok) data = await res.json();
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
  for (const s of data.spans) {
    svg.appendChild(rect(x(s.start_us / 1e3), x(s.end_us / 1e3), "span",
      `${t("Recorded")} ${formatTime(s.start_us / 1e3, true)} – ${formatTime(s.end_us / 1e3)}`));
  }
  for (const g of data.gaps) {
    const end = g.end_us === null ? Date.now() : g.end_us / 1e3;
    svg.appendChild(rect(x(g.start_us / 1e3), x(end), "gap",
      `${t("Gap")} ${formatTime(g.start_us / 1e3, true)}: ${g.reason}`));
  }
  for (let i = 0; i <= 6; i++) {
    const ms = from + (span() * i) / 6;
    const label = document.createElementNS(NS, "text");
    label.setAttribute("x", Math.min(x(ms) + 2, w - 60));
    label.setAttribute("y", 60);
    label.textContent = formatTime(ms, zoom === 0 && i === 0);
    svg.appendChild(label);
  }
  line(x(Date.now()), "now");
  if (playing) line(x(playing.start + video.currentTime * 1e3), "head");
}

function line(px, cls) {
  const l = document.createElementNS(NS, "line");
  l.setAttribute("x1", px); l.setAttribute("x2", px);
  l.setAttribute("y1", 0); l.setAttribute("y2", 48);
  l.setAttribute("class", cls);
  svg.appendChild(l);
}

function spanAt(ms) {
  return data.spans.find((s) => s.start_us / 1e3 <= ms && ms < s.end_us / 1e3);
}

function nextSpan(ms) {
  return data.spans.find((s) => s.start_us / 1e3 > ms);
}

export async function playFrom(ms) {
  let s = spanAt(ms);
  if (!s) {
    s = nextSpan(ms);
    if (!s) { position.textContent = t("Nothing recorded at this time"); return; }
    ms = s.start_us / 1e3;
  }
  const end = Math.min(ms + CHUNK_MS, s.end_us / 1e3);
  // Recorded footage needs a grant: ask first, so that a refusal shows its reason.
  const check = await api(`/grants/check?camera_id=${camera}&start=${iso(ms)}&end=${iso(end)}`);
  if (!check.ok) {
    position.textContent = (await check.json()).detail;
    position.classList.add("error");
    return;
  }
  position.classList.remove("error");
  playing = { start: ms, end };
  video.src = `/api/v1/cameras/${camera}/media?start=${iso(ms)}&end=${iso(end)}`;
  video.playbackRate = Number(document.getElementById("speed").value);
  video.play().catch(() => {});
  position.textContent = `${t("Playing from")} ${formatTime(ms, true)}`;
  draw();
}

svg.addEventListener("click", (event) => {
  const box = svg.getBoundingClientRect();
  const ms = viewEnd - span() + ((event.clientX - box.left) / box.width) * span();
  playFrom(ms);
});

let drag = null;
svg.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, end: viewEnd }; });
window.addEventListener("pointerup", () => { drag = null; });
svg.addEventListener("pointermove", (e) => {
  if (!drag || Math.abs(e.clientX - drag.x) < 4) return;
  const dx = ((e.clientX - drag.x) / svg.clientWidth) * span();
  viewEnd = Math.min(Date.now(), drag.end - dx);
  draw();
});
svg.addEventListener("pointerup", () => load());

document.getElementById("zoom-in").addEventListener("click", () => {
  // Around the play head when playing; otherwise keep the right edge (usually "now").
  zoom = Math.min(zoom + 1, ZOOMS.length - 1);
  if (playing) viewEnd = Math.min(Date.now(), playing.start + video.currentTime * 1e3 + span() / 2);
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
document.getElementById("speed").addEventListener("change", (e) => {
  video.playbackRate = Number(e.target.value);
});
document.getElementById("next-recording").addEventListener("click", () => {
  const now = playing ? playing.start + video.currentTime * 1e3 : viewEnd - span();
  const s = nextSpan(now);
  if (s) playFrom(s.start_us / 1e3);
});
video.addEventListener("ended", () => {
  if (!playing) return;
  const s = spanAt(playing.end) ?? nextSpan(playing.end);
  if (s) playFrom(Math.max(playing.end, s.start_us / 1e3));
});
video.addEventListener("timeupdate", () => draw());

load();
setInterval(() => {
  if (zoom === 0 && !drag) { viewEnd = Date.now(); load(); }
}, 10000);
