import { api } from "./app.js";

const form = document.getElementById("camera-form");
const errorBox = document.getElementById("form-error");
const numbers = ["latitude", "longitude", "direction_deg"];

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const id = form.dataset.camera;
  const body = {};
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
    location.href = `/cameras/${cam.id}`;
    return;
  }
  const detail = (await res.json()).detail;
  errorBox.textContent = Array.isArray(detail)
    ? detail.map((d) => `${d.loc.at(-1)}: ${d.msg}`).join("; ")
    : String(detail);
  errorBox.hidden = false;
});
