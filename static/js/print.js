// A "Print" button on printable pages: shown only where a script can press it for you
// (without JavaScript, the browser's own Print menu does the same).
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
