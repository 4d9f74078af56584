import { api } from "./app.js";

const form = document.getElementById("camera-form");
const errorBox = document.getElementById("form-error");
const dropped = document.getElementById("credentials-dropped");
const numbers = ["latitude", "longitude", "direction_deg"];

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  if (dropped) dropped.hidden = true;
  const id = form.dataset.camera;
  const body = {};
  // the site and groups are not fields of the camera: placed by a second request below
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "checkbox") { body[el.name] = el.checked; continue; }
    const v = el.value.trim();
    if (v === "") { if (!id && !["username", "password"].includes(el.name)) continue; }
    if (["username", "password"].includes(el.name) && v === "") continue;
    body[el.name] = v === "" ? null : numbers.includes(el.name) ? Number(v) : v;
  }
  const res = await api(id ? `/cameras/${id}` : "/cameras", { method: id ? "PATCH" : "POST", body });
  if (res.ok) {
    const cam = await res.json();
    form.dataset.camera = cam.id;  // saved: trying again changes it, never adds a second
    const placed = await place(cam.id);
    if (!placed.ok) { await refused(placed); return; }
    if (cam.credentials_dropped && dropped) {
      // the new address reaches another host: the stored credentials were dropped, not sent
      // there (docs/SECURITY.md). Stay here, say so, and let them be entered again.
      const password = form.elements.password;
      password.placeholder = "";
      password.value = "";
      form.elements.username.value = "";
      dropped.hidden = false;
      dropped.scrollIntoView({ block: "center" });
      return;
    }
    location.href = `/cameras/${cam.id}`;
    return;
  }
  await refused(res);
});

// Where the camera is shown: its site (or none) and its groups, all at once.
function place(id) {
  const site = document.getElementById("camera-site").value;
  const groups = [...form.querySelectorAll("input.camera-group:checked")].map((el) => Number(el.value));
  return api(`/cameras/${id}/placement`, {
    method: "PUT", body: { site_id: site ? Number(site) : null, group_ids: groups },
  });
}

async function refused(res) {
  const detail = (await res.json()).detail;
  errorBox.textContent = Array.isArray(detail)
    ? detail.map((d) => d.msg).join("; ") // names the field by label (invalid.py)
    : String(detail);
  errorBox.hidden = false;
}
