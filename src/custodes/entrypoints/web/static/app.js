// Shared helpers: CSRF-aware fetch, translated strings, site time zone, logout.
export const strings = JSON.parse(document.getElementById("strings").textContent);
export const t = (s) => strings[s] ?? s;
export const timezone = document.body.dataset.timezone;

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)custodes_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`/api/v1${path}`, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && !location.pathname.startsWith("/login")) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
  }
  return res;
}

// Total: a stored time no Date holds (beyond ±275,760 years) shows as its number, marked,
// instead of throwing and leaving the rest of the page unrendered.
export function formatTime(ms, withDate = false) {
  const opts = { timeZone: timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
  if (withDate) Object.assign(opts, { year: "numeric", month: "2-digit", day: "2-digit" });
  const date = new Date(ms);
  if (!Number.isFinite(date.getTime())) return `${Math.round(ms * 1000)} µs since 1970 UTC`;
  return new Intl.DateTimeFormat(document.documentElement.lang, opts).format(date);
}

// The site zone's offset from UTC (ms) at the instant `ms`.
export function zoneOffset(ms) {
  const opts = {
    timeZone: timezone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  };
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-US", opts).formatToParts(new Date(ms))
    .map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1e3) * 1e3;
}

// A datetime-local value ("2026-12-01T21:30" or with seconds), read in the site's zone: ms
// since 1970 UTC, or NaN.
export function fromSiteLocal(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!m) return NaN;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0));
  const first = wall - zoneOffset(wall);
  return wall - zoneOffset(first); // again at the instant itself: right across a DST change
}

// The instant `ms` as a datetime-local value in the site's zone (to the second).
export function toSiteLocal(ms) {
  return new Date(Math.floor(ms / 1e3) * 1e3 + zoneOffset(ms)).toISOString().slice(0, 19);
}

// The instant a wall-clock time in the site's zone names ("2026-12-01", "23:59:59.999"), as
// ISO 8601 UTC: a date or time a person types is the site's, not the browser's zone's.
export function siteInstant(date, time = "00:00:00") {
  const wall = Date.parse(`${date}T${time}Z`); // the reading on the site's clocks, as if UTC
  if (!Number.isFinite(wall)) return "";
  const guess = wall - zoneOffset(wall);
  return new Date(wall - zoneOffset(guess)).toISOString(); // again: across a change of offset
}

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    await api("/auth/logout", { method: "POST" });
    location.href = "/login";
  });
}

// An alarm no condition clears is acknowledged on the alarm list (/alarms), with a note.

// Times the server renders as <time data-us="…">: shown in the site's zone.
for (const el of document.querySelectorAll("time[data-us]")) {
  const ms = Number(el.dataset.us) / 1000;
  const shown = Number.isFinite(new Date(ms).getTime())
    ? formatTime(ms, true)
    : `${el.dataset.us} µs since 1970 UTC`; // the stored number, exactly as stored
  el.textContent = `(${shown})`;
}
