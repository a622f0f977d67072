// Starts Swagger UI on /docs; its files are served by the console itself.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";
  window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The default validator badge asks a public server to check the document.
    validatorUrl: null,
    // "Try it out" runs with the logged-in session; writes need its CSRF token.
    requestInterceptor: (request) => {
      if (csrf) request.headers["X-CSRF-Token"] = csrf;
      return request;
    },
  });
});
