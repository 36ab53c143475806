// The projector runs unattended: clocks tick, the screen stays awake, and a lost
// connection is recovered without anyone touching the laptop.
(() => {
  const pad = (n) => String(n).padStart(2, "0");
  function tick() {
    for (const clock of document.querySelectorAll("[data-until]")) {
      const left = Math.max(0, Math.round((Date.parse(clock.dataset.until) - Date.now()) / 1000));
      clock.textContent = left >= 3600
        ? `${Math.floor(left / 3600)}:${pad(Math.floor(left % 3600 / 60))}:${pad(left % 60)}`
        : `${Math.floor(left / 60)}:${pad(left % 60)}`;
      clock.classList.toggle("countdown--over", left === 0);
    }
  }
  setInterval(tick, 1000);

  // A view shows as many of its reports, actions and topics as fit at a size read from the
  // back of the hall (the server sends a few more than usually fit); the last ones give way.
  function fit() {
    // The wall's and now-and-next's rows too: a later round gives way, never cut in half.
    for (const body of document.querySelectorAll(".screen-body, .screen-table")) {
      const items = [...body.querySelectorAll("[data-fit]")];
      for (const item of items) item.hidden = false;
      for (let n = items.length - 1; n > 0 && body.scrollHeight > body.clientHeight + 1; n--) {
        items[n].hidden = true;
      }
    }
  }
  fit();
  document.addEventListener("htmx:afterSettle", fit);
  window.addEventListener("resize", fit);

  // Keep the screen awake where the browser allows it (asked again when the tab is shown).
  let lock = null;
  async function stayAwake() {
    try {
      if ("wakeLock" in navigator && document.visibilityState === "visible" && !lock) {
        lock = await navigator.wakeLock.request("screen");
        lock.addEventListener("release", () => { lock = null; });
      }
    } catch (_) { /* not allowed here: the screen may sleep */ }
  }
  document.addEventListener("visibilitychange", stayAwake);
  stayAwake();

  // The stream pings every 15 s (a hidden sse-swap="ping" hears it). After a minute
  // without a word, start afresh.
  let heard = Date.now();
  document.addEventListener("htmx:sseOpen", () => { heard = Date.now(); });
  document.addEventListener("htmx:sseMessage", () => { heard = Date.now(); });
  setInterval(() => {
    if (Date.now() - heard > 60000) {
      heard = Date.now();
      fetch(location.href, { cache: "no-store" })
        .then((answer) => { if (answer.ok) location.reload(); })
        .catch(() => { /* still offline: try again in a minute */ });
    }
  }, 5000);
})();
