// Starts Swagger UI on /docs over the API's own OpenAPI document.
// validatorUrl: null — by default Swagger UI sends the document to an external validator.
"use strict";
window.ui = SwaggerUIBundle({
  url: new URL("v1/openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
