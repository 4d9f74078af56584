// The API documentation page (/api/v1/docs): Swagger UI, from the installed package, on the
// site's own OpenAPI schema. A file of its own: the site's CSP runs no inline script.
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.schema,
  dom_id: "#swagger-ui",
  deepLinking: true,
  // the API asks for the session's CSRF token on every unsafe call ("Try it out" included)
  requestInterceptor: (req) => {
    const m = document.cookie.match(/(?:^|;\s*)custodes_csrf=([^;]+)/);
    if (m) req.headers["X-CSRF-Token"] = decodeURIComponent(m[1]);
    return req;
  },
});
