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

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    await api("/auth/logout", { method: "POST" });
    location.href = "/login";
  });
}

// An alarm no condition clears (footage cut short) ends when a person acknowledges it.
for (const button of document.querySelectorAll("button.ack-alarm")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    const res = await api(`/alarms/${button.dataset.alarm}/acknowledge`, { method: "POST" });
    if (res.ok) location.reload();
    else button.disabled = false;
  });
}

// Times the server renders as <time data-us="…">: shown in the site's zone.
for (const el of document.querySelectorAll("time[data-us]")) {
  const ms = Number(el.dataset.us) / 1000;
  const shown = Number.isFinite(new Date(ms).getTime())
    ? formatTime(ms, true)
    : `${el.dataset.us} µs since 1970 UTC`; // the stored number, exactly as stored
  el.textContent = `(${shown})`;
}
