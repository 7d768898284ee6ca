// Logster's Swagger UI setup. Kept out of index.html so the page runs under a
// Content-Security-Policy without inline scripts. The document is fetched
// from this server (../openapi.json relative to /docs/), never from a CDN.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: new URL("../openapi.json", window.location.href).toString(),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // The bearer token entered under "Authorize" is forgotten on reload.
    persistAuthorization: false,
    validatorUrl: null,
    tryItOutEnabled: false
  });
};
