// Account changes waiting for a second person (/changes): confirm or turn down, through
// /api/v1/account-changes. A refusal (the proposer, a change decided or lapsed meanwhile) is
// shown as the server words it, in the user's language.
import { api } from "./app.js";

const errorBox = document.getElementById("form-error");

function showError(detail) {
  errorBox.textContent = Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : String(detail);
  errorBox.hidden = false;
}

for (const button of document.querySelectorAll("#changes button[data-action]")) {
  button.addEventListener("click", async () => {
    errorBox.hidden = true;
    const row = button.closest("tr");
    const buttons = row.querySelectorAll("button");
    for (const b of buttons) b.disabled = true;
    const action = button.dataset.action;
    const res = await api(`/account-changes/${row.dataset.change}/${action}`, { method: "POST" });
    if (res.ok) {
      location.href = `/changes?done=${action}`; // decided: no longer offered
      return;
    }
    let detail = res.statusText;
    try { detail = (await res.json()).detail; } catch { /* not JSON: the status says it */ }
    showError(detail);
    for (const b of buttons) b.disabled = false;
  });
}
