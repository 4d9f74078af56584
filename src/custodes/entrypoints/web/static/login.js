import { api } from "./app.js";

const form = document.getElementById("login-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const res = await api("/auth/login", {
    method: "POST",
    body: {
      username: data.get("username"),
      password: data.get("password"),
      totp: (data.get("totp") || "").trim() || null,
    },
  });
  if (res.ok) {
    // data-next is already a path of this site: the server's safe_next (hardening.py) chose it
    location.href = form.dataset.next || "/live";
  } else {
    document.getElementById("login-error").hidden = false;
  }
});
