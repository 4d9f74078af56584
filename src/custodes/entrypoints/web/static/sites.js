// Sites and camera groups (/sites): add, rename, delete; each change reloads the page, which
// the server renders from what is stored. A refusal is shown as the API words it.
import { api } from "./app.js";

const errorBox = document.getElementById("sites-error");

async function send(path, method, body) {
  errorBox.hidden = true;
  const res = await api(path, { method, body });
  if (res.ok) { location.reload(); return; }
  let detail;
  try { detail = (await res.json()).detail; } catch { detail = res.statusText; }
  errorBox.textContent = Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : String(detail);
  errorBox.hidden = false;
}

const siteOf = (select) => (select.value ? Number(select.value) : null);

document.getElementById("site-add").addEventListener("submit", (e) => {
  e.preventDefault();
  send("/sites", "POST", { name: document.getElementById("site-add-name").value });
});

document.getElementById("group-add").addEventListener("submit", (e) => {
  e.preventDefault();
  send("/groups", "POST", {
    name: document.getElementById("group-add-name").value,
    site_id: siteOf(document.getElementById("group-add-site")),
  });
});

for (const row of document.querySelectorAll("tr[data-site]")) {
  const id = row.dataset.site;
  row.querySelector(".site-rename").addEventListener("click", () =>
    send(`/sites/${id}`, "PATCH", { name: row.querySelector(".site-name").value }));
  row.querySelector(".site-delete").addEventListener("click", () => send(`/sites/${id}`, "DELETE"));
}

for (const row of document.querySelectorAll("tr[data-group]")) {
  const id = row.dataset.group;
  row.querySelector(".group-save").addEventListener("click", () =>
    send(`/groups/${id}`, "PATCH", {
      name: row.querySelector(".group-name").value,
      site_id: siteOf(row.querySelector(".group-site")),
    }));
  row.querySelector(".group-delete").addEventListener("click", () => send(`/groups/${id}`, "DELETE"));
}
