// Account administration (/accounts) and one's own account (/me).
import { api } from "./app.js";

const errorBox = document.getElementById("form-error");

function showError(detail) {
  errorBox.textContent = Array.isArray(detail)
    ? detail.map((d) => `${d.loc.at(-1)}: ${d.msg}`).join("; ")
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

async function loadPending() {
  const section = document.getElementById("pending-changes");
  if (!section) return;
  const res = await api("/account-changes");
  if (!res.ok) return;
  const rows = document.getElementById("pending-rows");
  const template = document.getElementById("pending-row");
  rows.replaceChildren();
  for (const c of await res.json()) {
    const row = template.content.firstElementChild.cloneNode(true);
    const detail = c.details.to || c.details.role || "";
    row.querySelector(".what").textContent = `${c.kind} · ${c.username} ${detail}`;
    const by = row.querySelector(".by");
    by.textContent = `${by.dataset.label}: ${c.proposed_by}`;
    row.querySelector(".confirm-change").addEventListener("click", async () => {
      if (await call(`/account-changes/${c.id}/confirm`)) location.reload();
    });
    row.querySelector(".cancel-change").addEventListener("click", async () => {
      if (await call(`/account-changes/${c.id}/cancel`)) loadPending();
    });
    rows.append(row);
  }
  section.hidden = rows.children.length === 0;
}
loadPending();

function formBody(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.value.trim() === "") continue;
    body[el.name] = el.name.endsWith("_id") ? Number(el.value) : el.value.trim();
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
