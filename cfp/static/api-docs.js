// The API's docs page: Swagger UI (served by the app) on the OpenAPI document.
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle === "undefined") { return; }
  SwaggerUIBundle({
    url: root.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    persistAuthorization: false,
    // No "try it out" request leaves with a browser's cookie: the API reads tokens only.
    requestInterceptor: function (req) { req.credentials = "omit"; return req; }
  });
});
