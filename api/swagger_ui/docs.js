// The console's own start-up for Swagger UI: a file, not an inline script, so the page runs
// under the console's Content-Security-Policy (script-src 'self'). The document is fetched
// from beside this page, so it works under any prefix; no validator badge (it would call
// an outside server).
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
