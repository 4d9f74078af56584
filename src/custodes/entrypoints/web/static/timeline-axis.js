// The timeline's scale, one for both timelines (camera.js: one camera; sync-playback.js: up
// to four on one clock): its zoom levels and its ticks on round times of the site's clock.
import { zoneOffset } from "./app.js";

export const SVG_NS = "http://www.w3.org/2000/svg";
// The spans in view, widest first (ms).
export const ZOOMS = [24, 12, 6, 2, 1, 0.5, 1 / 6, 1 / 12, 1 / 60].map((h) => h * 3600e3);
// Ticks: the smallest of these steps that puts at most MAX_TICKS in view.
const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200].map((s) => s * 1e3);
const MAX_TICKS = 8;

// The instants (ms) of the ticks in [from, to]: on round times of the site's clock (whole
// hours there, not in UTC, for hour steps). Steps of an hour and more are counted on the
// site's wall clock, so they stay round after its offset changes (summer time) within the
// view; shorter steps are counted in real time, so a repeated hour still has its ticks.
export function ticks(from, to) {
  const step = TICK_STEPS.find((s) => (to - from) / s <= MAX_TICKS) ?? TICK_STEPS.at(-1);
  const out = [];
  if (step < 3600e3) {
    const off = zoneOffset(from);
    for (let ms = Math.ceil((from + off) / step) * step - off; ms <= to; ms += step) out.push(ms);
    return out;
  }
  for (let wall = Math.ceil((from + zoneOffset(from)) / step) * step; ; wall += step) {
    const ms = instantAt(wall);
    if (ms > to) return out;
    if (ms >= from && !(ms <= out.at(-1))) out.push(ms);
  }
}

// The instant (ms) the site's clock shows `wall` (ms of a UTC-less wall time): asked again
// at the instant itself, right across a change of offset (as app.js fromSiteLocal).
function instantAt(wall) {
  const guess = wall - zoneOffset(wall);
  return wall - zoneOffset(guess);
}
