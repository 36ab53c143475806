// Keep people where they were when htmx swaps a part of the page.
// After a swap with a problem in it, focus goes to the problem; otherwise to the control in
// the new content that does what the pressed one did, so keyboard and screen-reader users
// are not dropped back at the top of the page.
let lastAction = null;

document.addEventListener("htmx:beforeSwap", () => {
  const form = document.activeElement && document.activeElement.closest && document.activeElement.closest("form");
  lastAction = form ? form.getAttribute("action") : null;
});

document.addEventListener("htmx:afterSwap", (event) => {
  if (isLive(event.detail.elt)) return; // a live refresh never moves anyone's focus
  const target = event.detail.target;
  if (!target || !target.querySelector) return;
  const problem = target.querySelector('[aria-invalid="true"], .error[role="alert"]');
  if (problem) {
    if (!problem.matches("input, select, textarea, button")) problem.setAttribute("tabindex", "-1");
    problem.focus();
    problem.scrollIntoView({ block: "center" });
    return;
  }
  if (document.activeElement && document.activeElement !== document.body) return;
  const root = document.getElementById(target.id) || target;
  const again = lastAction && root.querySelector(`form[action="${CSS.escape(lastAction)}"] button`);
  const next = again || root.querySelector(".seat-actions button, button, a[href]");
  if (next) next.focus();
});

// Live parts ([data-live]) are fetched again when the server says they changed. Not while
// someone is inside one (typing, or on a button): that would take their place away. The
// refresh waits until they leave it.
function isLive(elt) {
  return Boolean(elt && elt.hasAttribute && elt.hasAttribute("data-live"));
}

document.addEventListener("htmx:beforeRequest", (event) => {
  const elt = event.detail.elt;
  if (!isLive(elt) || !elt.contains(document.activeElement)) return;
  event.preventDefault();
  if (elt.dataset.waiting) return;
  elt.dataset.waiting = "1";
  elt.addEventListener("focusout", function later(leaving) {
    if (elt.contains(leaving.relatedTarget)) return;
    elt.removeEventListener("focusout", later);
    delete elt.dataset.waiting;
    htmx.trigger(elt, "refresh");
  });
});
