// Swagger UI over this deployment's own document; "Try it out" sends the key the console saved.
const key = localStorage.getItem("meridian.apiKey");
window.ui = SwaggerUIBundle({
  url: "/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  onComplete() {
    if (key) window.ui.preauthorizeApiKey("apiKey", key);
  },
});
