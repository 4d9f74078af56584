import { api } from "./app.js";

const form = document.getElementById("login-form");
const step = document.getElementById("new-password-step");
const messages = ["login-error", "login-mismatch", "login-wait", "login-rule"];

function show(id) {
  for (const m of messages) document.getElementById(m).hidden = m !== id;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const body = {
    username: data.get("username"),
    password: data.get("password"),
    totp: (data.get("totp") || "").trim() || null,
  };
  if (!step.hidden) {  // a one-time password: the new one goes with the same log-in
    if (data.get("new_password") !== data.get("new_password_again")) return show("login-mismatch");
    body.new_password = data.get("new_password");
  }
  const res = await api("/auth/login", { method: "POST", body });
  if (res.ok) {
    // data-next is already a path of this site: the server's safe_next (hardening.py) chose it
    location.href = form.dataset.next || "/live";
    return;
  }
  const detail = (await res.json().catch(() => ({}))).detail;
  if (res.status === 403 && detail && detail.code === "password-change-required") {
    step.hidden = false;
    step.disabled = false;
    show(null);
    document.getElementById("new-password").focus();
  } else if (res.status === 429 || res.status === 503) {
    show("login-wait");
    const seconds = Number(res.headers.get("Retry-After"));
    const when = document.getElementById("login-wait-time");
    when.hidden = !(seconds > 0);
    when.querySelector("b").textContent = String(seconds);
  } else if (res.status === 422 && body.new_password) {
    show("login-rule");
  } else {
    show("login-error");
  }
});
