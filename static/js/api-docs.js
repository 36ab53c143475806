// Starts Swagger UI on /api/docs from this file: the pages' policy runs no inline script.
// The document's address is on the element Swagger UI draws into.
const docs = document.getElementById("swagger-ui");
SwaggerUIBundle({
  url: docs.dataset.openapi,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
  // A deep link is a link inside each operation's button: keyboards and screen readers
  // meet two controls in one (axe: nested-interactive).
  deepLinking: false,
  showExtensions: true,
  showCommonExtensions: true,
  // The default asks validator.swagger.io for a badge: nothing leaves the server's origin.
  validatorUrl: null,
});
