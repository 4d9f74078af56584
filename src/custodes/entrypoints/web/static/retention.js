// Retention and holds (/retention): place a hold (its range typed in the site's time zone),
// ask for or confirm a release — each release step only after its dialog was confirmed. A
// refusal (the same person twice, a range backwards or past 2200) is shown as the server
// words it, in the user's language.
import { api, fromSiteLocal } from "./app.js";
import { confirmed } from "./confirm.js";

const errorBox = document.getElementById("form-error");

function showError(detail) {
  errorBox.textContent = Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : String(detail);
  errorBox.hidden = false;
}

async function refused(res) {
  let detail = res.statusText;
  try { detail = (await res.json()).detail; } catch { /* not JSON: the status says it */ }
  showError(detail);
}

// A datetime-local value in the site's zone as ISO 8601 UTC; what is no time is sent as it
// is, for the server to refuse in the user's words.
function instant(value) {
  const ms = fromSiteLocal(value);
  return Number.isFinite(ms) && Number.isFinite(new Date(ms).getTime()) ? new Date(ms).toISOString() : value;
}

const form = document.getElementById("hold-form");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const f = form.elements;
    const body = {
      camera_id: Number(f.camera_id.value),
      start: instant(f.start.value),
      end: instant(f.end.value),
      kind: f.kind.value,
      reason: f.reason.value.trim(),
    };
    if (f.reference.value.trim()) body.reference = f.reference.value.trim();
    const button = document.getElementById("place-hold");
    button.disabled = true; // one hold per click, however often it is clicked
    const res = await api("/holds", { method: "POST", body });
    if (res.ok) { location.href = "/retention?done=placed"; return; }
    await refused(res);
    button.disabled = false;
  });
}

for (const button of document.querySelectorAll("button.release-hold")) {
  button.addEventListener("click", async () => {
    errorBox.hidden = true;
    if (!(await confirmed(button.dataset.step))) return;
    button.disabled = true;
    const id = button.closest("tr").dataset.hold;
    const res = await api(`/holds/${id}/release`, { method: "POST" });
    if (res.ok) { location.href = `/retention?done=${(await res.json()).outcome}`; return; }
    await refused(res);
    button.disabled = false;
  });
}
