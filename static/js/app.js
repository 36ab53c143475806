// After htmx swaps in a part of the page with a problem in it, move focus to the problem,
// so a person on a phone or with a screen reader is taken to the message, not left behind.
document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (!target || !target.querySelector) return;
  const problem = target.querySelector('[aria-invalid="true"], .error[role="alert"]');
  if (problem) {
    if (!problem.matches("input, select, textarea, button")) problem.setAttribute("tabindex", "-1");
    problem.focus();
    problem.scrollIntoView({ block: "center" });
  }
});
