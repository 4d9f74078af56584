// The access register: rows from /api/v1/register, newest first; CSV and PDF with the filter.
import { api, formatTime, siteInstant, t } from "./app.js";

const KINDS = {
  "request-approved": "Request approved",
  "media-viewed": "Footage viewed",
  "export-created": "Copy made",
  "export-downloaded": "Copy taken",
  "request-rejected": "Request rejected",
  "grant-revoked": "Grant revoked",
  "access-denied": "Access refused",
};

const table = document.getElementById("register");
const body = table.querySelector("tbody");
// what each kind of grant allows, named in the page's language by the server
const ACTIONS = JSON.parse(table.dataset.actions);
const from = document.getElementById("reg-from");
const to = document.getElementById("reg-to");
const error = document.getElementById("reg-error");

const person = (p) => (p ? `${p.name || p.username}${p.work_id ? ` (${p.work_id})` : ""}` : "");
// a stored time no calendar holds is shown as its number, never an exception that empties the table
const when = (us) => {
  if (us === null || us === undefined) return "";
  const ms = us / 1e3;
  return Number.isNaN(new Date(ms).getTime()) ? `${us} µs` : formatTime(ms, true);
};

function query() {
  const q = new URLSearchParams();
  // the days typed are the site's days (its time zone), whatever the browser's zone
  if (from.value) q.set("from", siteInstant(from.value));
  if (to.value) q.set("to", siteInstant(to.value, "23:59:59.999"));
  return q;
}

async function load() {
  const q = query();
  document.getElementById("reg-csv").href = `/api/v1/register.csv?${q}`;
  document.getElementById("reg-pdf").href = `/api/v1/register.pdf?${q}`;
  q.set("order", "desc");
  q.set("limit", "500");
  const res = await api(`/register?${q}`);
  body.replaceChildren();  // never the old rows under a new filter
  error.hidden = true;
  if (!res.ok) {
    // the server's refusal, in the page's language (e.g. "to" before "from")
    const detail = await res.json().then((j) => j.detail, () => res.statusText);
    error.textContent = Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : String(detail);
    error.hidden = false;
    return;
  }
  for (const r of await res.json()) {
    const tr = document.createElement("tr");
    tr.dataset.kind = r.kind;
    tr.dataset.seq = r.seq;
    const cells = [
      when(r.time_us),
      t(KINDS[r.kind] ?? r.kind),
      person(r.recorded_by),
      person(r.approved_by),
      r.retrieved_by.map(person).join(", "),
      r.organisation || "",
      r.cameras.map((c) => c.name || c.id).join(", "),
      r.footage_start_us !== null ? `${when(r.footage_start_us)} – ${when(r.footage_end_us)}` : "",
      r.purpose || "",
      r.destination || "",
      r.document ? `${r.document.filename} ${r.document.sha256.slice(0, 12)}…` : "",
      r.grant ? `#${r.grant.id} ${ACTIONS[r.grant.action] ?? r.grant.action}` : "",
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
}

document.getElementById("reg-filter").addEventListener("click", load);
load();
