// Starts Redoc on /redoc over the API's own OpenAPI document.
// disableSearch: Redoc's search runs in a Web Worker started from a blob: URL, which the page's
// Content-Security-Policy (worker-src falls back to script-src 'self') does not allow.
"use strict";
Redoc.init(
  new URL("v1/openapi.json", document.baseURI).href,
  { disableSearch: true },
  document.getElementById("redoc"),
);
