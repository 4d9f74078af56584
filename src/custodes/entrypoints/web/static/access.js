// Access pages: the request form, a request's signatures and decisions, using a grant.
import { api, csrfToken, formatTime, t } from "./app.js";

const errorBox = document.getElementById("form-error");

function showError(detail) {
  if (!errorBox) return;
  errorBox.textContent = Array.isArray(detail)
    ? detail.map((d) => `${d.loc.at(-1)}: ${d.msg}${d.article ? ` (${d.article})` : ""}`).join("; ")
    : String(detail);
  errorBox.hidden = false;
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
      start: f.start.value.trim(),
      end: f.end.value.trim(),
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
  on("withdraw", () => call(`/requests/${id}/withdraw`));
  on("approve", () => call(`/requests/${id}/approve`, {
    note: document.getElementById("note").value,
    validity_days: Number(document.getElementById("validity").value || 7),
    manager_consent: document.getElementById("manager-consent").checked,
  }));
  on("reject", () => call(`/requests/${id}/reject`, { note: document.getElementById("note").value }));
  on("revoke", (el) => call(`/grants/${el.dataset.grant}/revoke`, {
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
  from.value = new Date(start).toISOString();
  to.value = new Date(Math.min(end, start + 2 * 3600e3)).toISOString(); // /media: ≤ 2 h
  const video = document.getElementById("grant-video");
  const range = () => ({
    camera: document.getElementById("camera").value,
    start: from.value.trim(),
    end: to.value.trim(),
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
  const exportButton = document.getElementById("export");
  if (exportButton) {
    exportButton.addEventListener("click", async () => {
      errorBox.hidden = true;
      const r = range();
      exportButton.disabled = true;
      const made = await call("/exports", {
        grant_id: Number(use.dataset.grant),
        camera_id: Number(r.camera),
        start: r.start,
        end: r.end,
        watermark: document.getElementById("watermark").checked,
      });
      exportButton.disabled = false;
      if (!made) return;
      const p = document.createElement("p");
      p.className = "export";
      const a = document.createElement("a");
      a.href = `/api/v1/exports/${made.id}/download`;
      a.id = `download-${made.id}`;
      a.textContent = `${t("Download")} ${made.id}`;
      p.append(a, ` ${formatTime(Date.now(), true)}`);
      document.getElementById("exports").append(p);
    });
  }
}
