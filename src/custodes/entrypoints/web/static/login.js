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
    const next = form.dataset.next || "/live";
    location.href = next.startsWith("/") && !next.startsWith("//") ? next : "/live";
  } else {
    document.getElementById("login-error").hidden = false;
  }
});
