// The bookmarks page: Delete on one's own bookmark (the server refuses anyone else's); the
// ledger keeps what it said.
import { api, t } from "./app.js";

const error = document.getElementById("bookmark-error");

for (const button of document.querySelectorAll("button.bookmark-delete")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    const res = await api(`/bookmarks/${button.dataset.bookmark}`, { method: "DELETE" });
    if (res.ok) {
      button.closest("tr").remove();
      return;
    }
    const body = await res.json().catch(() => ({}));
    error.textContent = typeof body.detail === "string" ? body.detail : t("Not deleted");
    error.hidden = false;
    button.disabled = false;
  });
}
