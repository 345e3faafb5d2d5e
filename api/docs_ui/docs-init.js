// Renders /openapi.json at GET /docs. "Authorize" takes a bearer token for
// "Try it out"; it is kept in this page's memory only (not persisted).
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // The default validator badge loads an image from a public service.
    validatorUrl: null,
    persistAuthorization: false,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 1,
  });
};
