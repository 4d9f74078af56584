// Account administration (/accounts) and one's own account (/me).
import { api } from "./app.js";

const errorBox = document.getElementById("form-error");

function showError(detail) {
  errorBox.textContent = Array.isArray(detail)
    ? detail.map((d) => d.msg).join("; ") // names the field by label (invalid.py)
    : String(detail);
  errorBox.hidden = false;
}

async function call(path, body, method = "POST") {
  errorBox.hidden = true;
  const res = await api(path, { method, body });
  if (!res.ok) { showError((await res.json()).detail); return null; }
  if (res.status === 202) {  // proposed: waits for a second person (docs/DUTIES.md)
    const proposed = await res.json();
    document.getElementById("proposed").hidden = false;
    if (proposed.password) showPassword(proposed.pending.username, proposed.password);
    loadPending();
    return null;
  }
  return res.status === 204 ? {} : res.json();
}

// Proposals are confirmed or turned down on /changes; here only how many wait.
async function loadPending() {
  const notice = document.getElementById("pending-changes");
  if (!notice) return;
  const res = await api("/account-changes");
  if (!res.ok) return;
  const now = Date.now() * 1000;
  const open = (await res.json()).filter((c) => c.expires_us > now).length;
  document.getElementById("pending-count").textContent = String(open);
  notice.hidden = open === 0;
}

function formBody(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.value.trim() === "") continue;
    // the organisation is chosen by its id; a work ID is text ("U-0042"), never a number
    body[el.name] = el.name === "organisation_id" ? Number(el.value) : el.value.trim();
  }
  return body;
}

function showPassword(username, password) {
  const box = document.getElementById("new-password");
  box.textContent = `${username}: ${password}`;
  box.hidden = false;
}

// --- /accounts ----------------------------------------------------------------------------
const accountForm = document.getElementById("account-form");
if (accountForm) {
  accountForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const made = await call("/accounts", formBody(accountForm));
    if (made) { showPassword(made.username, made.password); setTimeout(() => location.reload(), 15000); }
  });
  document.getElementById("org-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await call("/organisations", formBody(event.target))) location.reload();
  });
  for (const b of document.querySelectorAll("button.disable, button.enable")) {
    b.addEventListener("click", async () => {
      const verb = b.classList.contains("disable") ? "disable" : "enable";
      if (await call(`/accounts/${b.dataset.account}/${verb}`)) location.reload();
    });
  }
  for (const b of document.querySelectorAll("button.reset")) {
    b.addEventListener("click", async () => {
      const res = await call(`/accounts/${b.dataset.account}/reset-password`, {});
      if (res) showPassword(b.closest("tr").firstElementChild.textContent, res.password);
    });
  }
  for (const b of document.querySelectorAll("button.save-cameras")) {
    b.addEventListener("click", async () => {
      const select = document.querySelector(`select.assign[data-account="${b.dataset.account}"]`);
      const cameras = [...select.selectedOptions].map((o) => Number(o.value));
      if (await call(`/accounts/${b.dataset.account}/cameras`, { cameras }, "PUT")) location.reload();
    });
  }
}

// Editing an account (its role, name and work ID) in a dialog: only what changed is sent. A
// role that empowers waits for a second person (202): the page says so, linking to /changes.
const editDialog = document.getElementById("edit-dialog");
if (editDialog) {
  const form = document.getElementById("edit-form");
  const editError = document.getElementById("edit-error");
  let editing = null;
  for (const b of document.querySelectorAll("button.edit")) {
    b.addEventListener("click", () => {
      editing = b.dataset;
      editError.hidden = true;
      document.getElementById("edit-username").textContent = editing.username;
      const role = form.elements.role;
      for (const o of role.options) o.disabled = o.dataset.outside !== editing.outside; // roles its organisation may hold
      role.value = editing.role;
      role.disabled = editing.own === "yes"; // one's own role: another administrator's change
      document.getElementById("edit-own").hidden = editing.own !== "yes";
      form.elements.display_name.value = editing.displayName;
      form.elements.work_id.value = editing.workId;
      editDialog.showModal();
    });
  }
  document.getElementById("edit-cancel").addEventListener("click", () => editDialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    editError.hidden = true;
    const body = {};
    if (!form.elements.role.disabled && form.elements.role.value !== editing.role) body.role = form.elements.role.value;
    for (const [name, before] of [["display_name", editing.displayName], ["work_id", editing.workId]]) {
      const value = form.elements[name].value.trim(); // text: a work ID "U-0002" stays "U-0002"
      if (value !== before) body[name] = value === "" ? null : value;
    }
    if (Object.keys(body).length === 0) { editDialog.close(); return; }
    const res = await api(`/accounts/${editing.account}`, { method: "PATCH", body });
    if (res.status === 202) { location.href = "/accounts?proposed=role"; return; }
    if (res.ok) { location.href = "/accounts"; return; }
    let detail = res.statusText;
    try { detail = (await res.json()).detail; } catch { /* not JSON: the status says it */ }
    editError.textContent = Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : String(detail);
    editError.hidden = false;
  });
}

// --- /me ----------------------------------------------------------------------------------
const passwordForm = document.getElementById("password-form");
if (passwordForm) {
  passwordForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await call("/me/password", formBody(passwordForm))) {
      passwordForm.reset();
      document.getElementById("done").hidden = false;
    }
  });
  const totpForm = document.getElementById("totp-form");
  let enrolment = null;
  totpForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = totpForm.elements.password.value;
    if (totpForm.dataset.enabled === "yes") {
      if (await call("/me/totp", { password }, "DELETE")) location.reload();
      return;
    }
    const begun = await call("/me/totp", { password });
    if (!begun) return;
    enrolment = begun.enrolment;
    document.getElementById("totp-secret").textContent = begun.secret;
    document.getElementById("totp-uri").textContent = begun.uri;
    // the server's QR code of the URI, parsed as SVG (never as HTML) and shown as it is
    const svg = new DOMParser().parseFromString(begun.qr_svg, "image/svg+xml").documentElement;
    if (svg.localName === "svg") document.getElementById("totp-qr").replaceChildren(document.importNode(svg, true));
    document.getElementById("totp-setup").hidden = false;
  });
  const confirm = document.getElementById("totp-confirm");
  if (confirm) {
    confirm.addEventListener("click", async () => {
      const code = document.getElementById("totp-code").value.trim();
      if (await call("/me/totp/confirm", { enrolment, code })) location.reload();
    });
  }
}
