// The alarm list: acknowledging an alarm no condition clears, with a note (required here;
// it goes into the ledger entry with who and when).
import { api, t } from "./app.js";

for (const form of document.querySelectorAll("form.ack-form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const note = form.elements.note.value.trim();
    const said = form.querySelector("[role=status]");
    if (!note) {
      said.textContent = t("A note is required");
      return;
    }
    const button = form.querySelector("button");
    button.disabled = true;
    const res = await api(`/alarms/${form.dataset.alarm}/acknowledge`, { method: "POST", body: { note } });
    if (res.ok) {
      location.reload();
      return;
    }
    const body = await res.json().catch(() => ({}));
    said.textContent = typeof body.detail === "string" ? body.detail : t("Not acknowledged");
    button.disabled = false;
  });
}
