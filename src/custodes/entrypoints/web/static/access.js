// Access pages: the request form, a request's signatures and decisions, using a grant.
import { api, csrfToken, formatTime, fromSiteLocal, t, toSiteLocal } from "./app.js";
import { confirmed } from "./confirm.js";
import { exportJobs } from "./export-jobs.js";

const errorBox = document.getElementById("form-error");

function showError(detail) {
  if (!errorBox) return;
  // Each item's message is in the page's language and names its field by label (invalid.py);
  // a refusal by the rules cites its article as the page's language does ("citation").
  errorBox.textContent = Array.isArray(detail)
    ? detail.map((d) => {
      const cited = d.citation ?? d.article;
      return cited ? `${d.msg} (${cited})` : d.msg;
    }).join("; ")
    : String(detail);
  errorBox.hidden = false;
}

// A datetime-local input's value (the site's wall-clock time) as the instant it names, ISO
// 8601 UTC; what it cannot read goes as typed, and the server says what is wrong with it.
function instant(input) {
  const ms = fromSiteLocal(input.value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : input.value.trim();
}

async function call(path, body, method = "POST") {
  const res = await api(path, { method, body });
  if (!res.ok) {
    showError((await res.json()).detail);
    return null;
  }
  return res.status === 204 ? {} : res.json();
}

// --- the request form --------------------------------------------------------------------
const form = document.getElementById("request-form");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    let documentId = null;
    const file = form.elements.document.files[0];
    if (file) {
      const data = new FormData();
      data.append("file", file);
      const res = await fetch("/api/v1/documents", {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
      });
      if (!res.ok) { showError((await res.json()).detail); return; }
      documentId = (await res.json()).id;
    }
    const f = form.elements;
    const body = {
      camera_ids: [...f.camera_ids.selectedOptions].map((o) => Number(o.value)),
      start: instant(f.start),
      end: instant(f.end),
      action: f.action.value,
      basis: f.basis.value,
      purpose: f.purpose.value,
      destination: f.destination.value,
      destination_abroad: f.destination_abroad.checked,
      psb_approval_ref: f.psb_approval_ref.value.trim() || null,
      judicial_approval_ref: f.judicial_approval_ref.value.trim() || null,
      document_id: documentId,
    };
    const created = await call("/requests", body);
    if (created) location.href = `/requests/${created.id}`;
  });
}

// --- one request -------------------------------------------------------------------------
const request = document.getElementById("request");
if (request) {
  const id = request.dataset.request;
  const on = (elId, handler) => {
    const el = document.getElementById(elId);
    if (el) el.addEventListener("click", async () => { if (await handler(el)) location.reload(); });
  };
  on("sign", () => call(`/requests/${id}/sign`, { work_id: document.getElementById("work-id").value }));
  on("submit", () => call(`/requests/${id}/submit`));
  on("withdraw", async () => await confirmed("withdraw") && call(`/requests/${id}/withdraw`));
  on("approve", async () => await confirmed("approve") && call(`/requests/${id}/approve`, {
    note: document.getElementById("note").value,
    validity_days: Number(document.getElementById("validity").value || 7),
    manager_consent: document.getElementById("manager-consent").checked,
  }));
  on("reject", async () => await confirmed("reject")
    && call(`/requests/${id}/reject`, { note: document.getElementById("note").value }));
  on("revoke", async (el) => await confirmed("revoke") && call(`/grants/${el.dataset.grant}/revoke`, {
    reason: document.getElementById("revoke-reason").value,
  }));
}

// --- using a grant: playback and export --------------------------------------------------
const use = document.getElementById("grant-use");
if (use) {
  const start = Number(use.dataset.start) / 1e3;
  const end = Number(use.dataset.end) / 1e3;
  const from = document.getElementById("from");
  const to = document.getElementById("to");
  // Typed and shown in the site's time, to the second, inside the grant (its first whole
  // second on, its last whole second back); sent as the instant they name.
  from.value = toSiteLocal(Math.ceil(start / 1e3) * 1e3);
  to.value = toSiteLocal(Math.min(end, start + 2 * 3600e3)); // /media: ≤ 2 h
  const video = document.getElementById("grant-video");
  const range = () => ({
    camera: document.getElementById("camera").value,
    start: instant(from),
    end: instant(to),
  });
  document.getElementById("play").addEventListener("click", async () => {
    errorBox.hidden = true;
    const r = range();
    const q = `start=${encodeURIComponent(r.start)}&end=${encodeURIComponent(r.end)}`;
    // ask first, so that a refusal shows its reason instead of a blank player
    const ok = await call(`/grants/check?camera_id=${r.camera}&need=view&${q}`, undefined, "GET");
    if (!ok) return;
    video.src = `/api/v1/cameras/${r.camera}/media?${q}`;
    video.dataset.state = "loading";
    await video.play().catch(() => {});
  });
  video.addEventListener("playing", () => { video.dataset.state = "playing"; });
  // An export is a job the server makes in the background (export-jobs.js): its progress
  // shows here, and once done the export joins the grant's list below.
  const jobs = exportJobs({
    grantId: Number(use.dataset.grant),
    box: document.getElementById("export-jobs"),
    cameraName: (id) => {
      const option = document.querySelector(`#camera option[value="${id}"]`);
      return option ? option.textContent : String(id);
    },
    onDone: () => loadExports(),
  });
  const exportButton = document.getElementById("export");
  if (exportButton) {
    exportButton.addEventListener("click", async () => {
      errorBox.hidden = true;
      const r = range();
      exportButton.disabled = true;
      const res = await jobs.submit({
        grant_id: Number(use.dataset.grant),
        camera_id: Number(r.camera),
        start: r.start,
        end: r.end,
        watermark: document.getElementById("watermark").checked,
      });
      exportButton.disabled = false;
      if (!res.ok) showError((await res.json()).detail);
    });
  }
  jobs.refresh();
  loadExports();
}

// The grant's exports, from the server: they outlive the page (a reload, another day).
async function loadExports() {
  const box = document.getElementById("exports");
  const res = await api(`/exports?grant_id=${Number(use.dataset.grant)}`);
  if (!res.ok) return;
  const rows = [];
  for (const e of await res.json()) {
    const p = document.createElement("p");
    p.className = "export";
    p.dataset.export = e.id;
    const a = document.createElement("a");
    a.href = `/api/v1/exports/${encodeURIComponent(e.id)}/download`;
    a.id = `download-${e.id}`;
    a.textContent = `${t("Download")} ${e.id}`;
    const camera = document.querySelector(`#camera option[value="${e.camera_id}"]`);
    const span = `${formatTime(e.covered_start_us / 1e3, true)} – ${formatTime(e.covered_end_us / 1e3, true)}`;
    const size = `${(e.bytes / 1e6).toFixed(1)} MB`;
    p.append(a, ` · ${camera ? camera.textContent : e.camera_id} · ${span} · ${size} · ${e.created_by} `);
    const made = document.createElement("time");
    made.textContent = formatTime(e.created_us / 1e3, true);
    p.append(made);
    rows.push(p);
  }
  box.replaceChildren(...rows);
}
