// The live grid: a player per tile, a camera picker in empty slots, double-click to enlarge
// (the main stream while enlarged), full screen, and an overlay on cameras not recording.
import { LivePlayer } from "./live-player.js";
import { api, formatTime, t } from "./app.js";

const grid = document.getElementById("live-grid");
const players = new Map();   // tile -> LivePlayer
const STATUS_EVERY_MS = 5000;

// The grid as wide as square rows of 16:9 tiles that fit below whatever is above it (the bar,
// a banner, a wrapped navigation): its top, measured, in the stylesheet's --grid-top.
function fit() {
  const top = grid.getBoundingClientRect().top + window.scrollY;
  document.documentElement.style.setProperty("--grid-top", `${Math.ceil(top)}px`);
}
fit();
window.addEventListener("resize", fit);

function play(tile, stream) {
  players.get(tile)?.close();
  const video = tile.querySelector("video.live");
  const label = tile.querySelector(".state");
  players.set(tile, new LivePlayer(video, video.dataset.camera, stream, (s) => {
    if (label) label.textContent = s;
  }));
}

function enlarge(tile) {
  const video = tile.querySelector("video.live");
  if (!video) return;
  const on = !tile.classList.contains("enlarged");
  for (const other of grid.querySelectorAll(".tile.enlarged")) shrink(other);
  if (!on) return;
  tile.classList.add("enlarged");
  grid.classList.add("has-enlarged");
  if (video.dataset.stream !== "main") play(tile, "main");  // the full picture when large
}

function shrink(tile) {
  tile.classList.remove("enlarged");
  grid.classList.remove("has-enlarged");
  const video = tile.querySelector("video.live");
  if (video && video.dataset.stream !== "main") play(tile, video.dataset.stream);
}

function mount(tile) {
  const video = tile.querySelector("video.live");
  play(tile, video.dataset.stream);
  tile.addEventListener("dblclick", (e) => {
    if (e.target.closest(".tile-tools, figcaption a")) return;
    if (tile.classList.contains("enlarged")) shrink(tile);
    else enlarge(tile);
  });
  tile.querySelector("button.fullscreen")?.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else tile.requestFullscreen?.().catch(() => {});
  });
}

// An empty slot's picker, or a camera in the tree, puts that camera there (for this view).
function pick(tile, select) {
  const option = select.selectedOptions[0];
  if (option?.value) place(tile, option.value, option.textContent, option.dataset.stream);
}

function place(tile, id, name, stream) {
  players.get(tile)?.close();
  players.delete(tile);
  const option = { value: id, textContent: name, dataset: { stream } };
  tile.classList.remove("vacant");
  tile.replaceChildren();
  const video = document.createElement("video");
  Object.assign(video, { muted: true, autoplay: true, playsInline: true, className: "live" });
  video.dataset.camera = option.value;
  video.dataset.stream = option.dataset.stream;
  const overlay = document.createElement("div");
  overlay.className = "offline";
  overlay.dataset.offlineFor = option.value;
  overlay.hidden = true;
  const caption = document.createElement("figcaption");
  const link = document.createElement("a");
  link.href = `/cameras/${option.value}`;
  link.textContent = option.textContent;
  const state = document.createElement("span");
  state.className = "state";
  state.dataset.stateFor = option.value;
  caption.append(link, " ", state);
  const tools = document.querySelector(".tile .tile-tools")?.cloneNode(true);
  tile.append(video, overlay, caption);
  if (tools) {
    tools.querySelector("a.snapshot").href = `/api/v1/cameras/${option.value}/snapshot`;
    tile.append(tools);
  }
  mount(tile);
}

// The tree: a camera goes into the first empty slot, or the enlarged tile, or the last one.
for (const button of document.querySelectorAll("#camera-tree button.tree-camera")) {
  button.addEventListener("click", () => {
    const tile = grid.querySelector(".tile.vacant") ?? grid.querySelector(".tile.enlarged") ??
      [...grid.querySelectorAll(".tile")].at(-1);
    if (tile) place(tile, button.dataset.camera, button.textContent, button.dataset.stream);
  });
}

for (const tile of grid.querySelectorAll(".tile")) {
  if (tile.querySelector("video.live")) mount(tile);
  const select = tile.querySelector("select.pick-camera");
  select?.addEventListener("change", () => pick(tile, select));
}

document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  for (const tile of grid.querySelectorAll(".tile.enlarged")) shrink(tile);
});

// Cameras the recorder cannot reach: the reason and since when, over the tile.
async function refreshStates() {
  try {
    const res = await api("/status");
    if (!res.ok) return;
    const { cameras } = await res.json();
    const byId = new Map(cameras.map((c) => [String(c.id), c]));
    for (const overlay of grid.querySelectorAll(".offline[data-offline-for]")) {
      const cam = byId.get(overlay.dataset.offlineFor);
      const down = cam && (cam.open_gap_since || cam.state === "reconnecting" || cam.state === "error");
      overlay.hidden = !down;
      if (!down) continue;
      const since = cam.open_gap_since ? Date.parse(cam.open_gap_since) : NaN;
      const head = document.createElement("strong");
      head.textContent = Number.isFinite(since)
        ? t("Offline since {time}").replace("{time}", formatTime(since, true))
        : t("Offline");
      const reason = document.createElement("span");
      reason.textContent = cam.last_error || "";
      overlay.replaceChildren(head, reason);
    }
  } catch {
    // the next round tries again; the players show their own state meanwhile
  }
}
refreshStates();
setInterval(refreshStates, STATUS_EVERY_MS);

// Saved views (the person's own): save the grid as it is now — its layout and the camera in
// each slot, empty ones null — under a name; open one; delete the one open.
const viewError = document.getElementById("view-error");

async function refused(res) {
  let detail;
  try { detail = (await res.json()).detail; } catch { detail = res.statusText; }
  viewError.textContent = Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : String(detail);
  viewError.hidden = false;
}

document.getElementById("view-save")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  viewError.hidden = true;
  const slots = [...grid.querySelectorAll(".tile")].map((tile) => {
    const id = tile.querySelector("video.live")?.dataset.camera;
    return id ? Number(id) : null;
  });
  const body = { name: document.getElementById("view-name").value, layout: Number(grid.dataset.layout), slots };
  const res = await api("/views", { method: "POST", body });
  if (!res.ok) { await refused(res); return; }
  const saved = await res.json();
  location.href = `/live?view=${saved.id}`;
});

document.getElementById("view-open")?.addEventListener("change", (event) => {
  const id = event.target.value;
  location.href = id ? `/live?view=${id}` : "/live";
});

document.getElementById("view-delete")?.addEventListener("click", async (event) => {
  viewError.hidden = true;
  const res = await api(`/views/${event.target.dataset.view}`, { method: "DELETE" });
  if (!res.ok) { await refused(res); return; }
  location.href = `/live?layout=${grid.dataset.layout}`;
});
