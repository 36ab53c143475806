// A form that asks before it does something hard to undo (data-confirm holds the question).
// Registered first, so that a "no" stops the form before anything else sees it.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  } else if (question && event.target.elements.confirm) {
    // Asked here, so the server does not ask again on a page of its own (it does without
    // JavaScript).
    event.target.elements.confirm.value = "1";
  }
}, true);

// A refused token (a page kept from before its cookie was renewed): the answer carries the
// fresh one, which goes into htmx's header and every form, so sending again works.
document.addEventListener("openspace:csrf-token", (event) => {
  const token = event.detail && event.detail.value;
  if (!token) return;
  document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRF-Token": token }));
  for (const input of document.querySelectorAll('input[name="csrf_token"]')) input.value = token;
});

// A double tap on a seat button: its second tap lands on what took the first button's place
// (Leave, then "Sign up" under the same finger), and signed the person straight back up. For
// a moment after htmx has put in the answer to a tap, that session takes no other tap.
// (html[data-seat-guard] is there for that moment.)
const SEAT_ACTION = /\/topics\/\d+\/(sign-up|leave|waitlist|leave-waitlist)$/;
const GUARD_MS = 800;
let guarded = null;
const cardOf = (elt) => (elt && elt.closest && elt.closest('[id^="topic-"]')) || null;
document.addEventListener("htmx:afterSwap", (event) => {
  const config = event.detail.requestConfig;
  if (!config || !SEAT_ACTION.test(config.path || "")) return;
  const card = cardOf(config.elt);
  guarded = card ? card.id : null;
  document.documentElement.dataset.seatGuard = "1";
  setTimeout(() => {
    guarded = null;
    delete document.documentElement.dataset.seatGuard;
  }, GUARD_MS);
});
document.addEventListener("submit", (event) => {
  const action = (event.target.getAttribute && event.target.getAttribute("action")) || "";
  const card = cardOf(event.target);
  if (guarded && card && card.id === guarded && SEAT_ACTION.test(action)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// A message the server put in the status line (a rate limit, a database that cannot store)
// is shown, not left hidden; it stays in view at the top of the screen (see the CSS) until
// something the person sends goes through. (htmx counts the 429 or 503 itself as a success,
// since it is swapped: the status code tells. Asked before the swap: after it, the pressed
// button may be gone from the page, and its events with it.)
document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (!target || target.id !== "connection") return;
  target.hidden = false;
  target.dataset.fromServer = "1";
});

// A message sent for the status line goes in whatever its status: htmx would leave out the
// answer to a 404 (a topic no longer there) or a 403 by itself, and the tap would say nothing.
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  if (!target || target.id !== "connection" || liveRefresh(event)) return;
  event.detail.shouldSwap = true;
  event.detail.isError = false;
});

document.addEventListener("htmx:beforeSwap", (event) => {
  const box = banner();
  const status = event.detail.xhr ? event.detail.xhr.status : 0;
  if (!box || !box.dataset.fromServer || status < 200 || status >= 400) return;
  if (liveRefresh(event)) return; // a live refresh is not what they sent
  box.hidden = true;
  box.textContent = "";
  delete box.dataset.fromServer;
});

// Keep people where they were when htmx swaps a part of the page.
// After a swap with a problem in it, focus goes to the problem; otherwise to the control in
// the new content that does what the pressed one did, so keyboard and screen-reader users
// are not dropped back at the top of the page.
let lastAction = null;
let lastCard = null;

document.addEventListener("htmx:beforeSwap", (event) => {
  if (liveRefresh(event)) return; // only what the person pressed counts
  const active = document.activeElement;
  const form = active && active.closest && active.closest("form");
  lastAction = form ? form.getAttribute("action") : null;
  const card = active && active.closest && active.closest('[id^="topic-"]');
  lastCard = card ? card.id : null;
});

document.addEventListener("htmx:afterSwap", (event) => {
  if (liveRefresh(event)) return; // a live refresh never moves anyone's focus
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
  // Else the same session's own action (signed up: its "Leave"), else the first action there.
  const card = lastCard && document.getElementById(lastCard);
  const sameCard = card && root.contains(card) && card.querySelector(".seat-actions button");
  const next = again || sameCard || root.querySelector(".seat-actions button") || root.querySelector("button, a[href]");
  if (next) {
    next.focus();
    return;
  }
  // What they pressed went with nothing in its place ("Got it" on a notice): the page's
  // heading, so the next Tab goes on from the top of what they were reading.
  const heading = document.querySelector("main h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
});

// Live parts ([data-live]) are fetched again when the server says they changed. Not while
// someone is inside one, typing or moving through it by keyboard (the focus shows): that
// would take their place away. The refresh waits until they leave it. A tapped button keeps
// the focus too, but without showing it: nobody is in the way there, and a phone's wall
// would otherwise never update again after its first tap.
function isLive(elt) {
  return Boolean(elt && elt.hasAttribute && elt.hasAttribute("data-live"));
}

const TYPING =
  'textarea, select, [contenteditable], input:not([type="button"]):not([type="submit"]):not([type="reset"]):not([type="hidden"])';

function inside(elt) {
  const active = document.activeElement;
  if (!active || !elt.contains(active)) return false;
  return active.matches(TYPING) || active.matches(":focus-visible");
}

// Whether a swap is a live part's own refresh. A swap's events fire on its target, so
// `detail.elt` is where the answer goes: a button pressed inside a live part swaps into
// it too. What asked is the request's own element.
function liveRefresh(event) {
  const config = event.detail.requestConfig;
  return isLive((config && config.elt) || event.detail.elt);
}

function waitUntilLeft(elt) {
  if (elt.dataset.waiting) return;
  elt.dataset.waiting = "1";
  elt.addEventListener("focusout", function later() {
    // Look once the focus has settled: when a swap inside removed the focused button, the
    // focus is put back in here (see above) and the person has not left.
    setTimeout(() => {
      if (!elt.dataset.waiting || inside(elt)) return;
      elt.removeEventListener("focusout", later);
      delete elt.dataset.waiting;
      htmx.trigger(elt, "refresh");
    });
  });
}

document.addEventListener("htmx:beforeRequest", (event) => {
  const elt = event.detail.elt;
  if (!isLive(elt) || !inside(elt)) return;
  event.preventDefault();
  waitUntilLeft(elt);
});

// A refresh asked for while they were elsewhere may come back once they are inside: keep it
// out until they leave too.
document.addEventListener("htmx:beforeSwap", (event) => {
  const elt = event.detail.elt;
  if (!liveRefresh(event) || !inside(elt)) return;
  event.detail.shouldSwap = false;
  waitUntilLeft(elt);
});

// A live refresh asked for before the answer to a tap came back may show what was there
// before the tap (its request read the database first, its answer came last): it is dropped
// and asked for again, so a "Leave" is never undone on screen by an older "You have a seat".
let answeredAt = 0;
document.addEventListener("htmx:beforeRequest", (event) => {
  if (isLive(event.detail.elt) && event.detail.xhr) event.detail.xhr.openspaceAskedAt = performance.now();
});
document.addEventListener("htmx:afterSwap", (event) => {
  if (!liveRefresh(event)) answeredAt = performance.now();
});
document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  if (!liveRefresh(event) || !xhr || xhr.openspaceAskedAt === undefined) return;
  if (xhr.openspaceAskedAt >= answeredAt) return;
  event.detail.shouldSwap = false;
  const asked = (event.detail.requestConfig && event.detail.requestConfig.elt) || event.detail.elt;
  const live = (asked.id && document.getElementById(asked.id)) || asked;
  setTimeout(() => htmx.trigger(live, "refresh"));
});

// A live refresh keeps the answer to the person's own last tap beside its session ("You left
// this session."): the refresh a change of someone else's brings a moment later would
// otherwise take it away before it is read. Their next tap there replaces it as before.
let answers = [];
document.addEventListener("htmx:beforeSwap", (event) => {
  if (!liveRefresh(event) || !event.detail.shouldSwap) return;
  answers = [...event.detail.target.querySelectorAll(".seat-actions > .notice")].map((notice) => {
    const card = cardOf(notice);
    return [card ? card.id : null, notice.cloneNode(true)];
  });
});
document.addEventListener("htmx:afterSwap", (event) => {
  if (!liveRefresh(event)) return;
  for (const [id, notice] of answers) {
    const card = id && document.getElementById(id);
    const actions = card && card.querySelector(".seat-actions");
    if (actions && !actions.querySelector(".notice")) actions.prepend(notice);
  }
  answers = [];
});

// Bad Wi-Fi. Pages of the event are kept by the service worker (/sw.js) and shown from there
// when there is no connection. A form sent without a connection is not lost: its fields stay
// as typed, it waits in this phone's outbox and is sent when the connection returns; the
// banner says so plainly, and says it again when it has been sent or could not be.
const OUTBOX = "openspace-outbox";
const banner = () => document.getElementById("connection");

function say(key, extra) {
  const box = banner();
  if (!box) return;
  // The "no copy kept" page says so itself; the banner would call it a kept copy.
  if (key === "offline" && document.body.classList.contains("offline-page")) return;
  const text = box.dataset[key] || "";
  delete box.dataset.fromServer;
  box.textContent = extra ? `${text} ${extra}` : text;
  box.hidden = !text;
}

function outbox() {
  try { return JSON.parse(localStorage.getItem(OUTBOX) || "[]"); } catch (e) { return []; }
}

function keep(form, submitter) {
  const fields = [...new FormData(form, submitter).entries()].filter(([, v]) => typeof v === "string");
  const waiting = outbox();
  waiting.push({ action: form.action, fields, page: location.pathname });
  localStorage.setItem(OUTBOX, JSON.stringify(waiting));
  say("queued");
}

function csrfHeader() {
  try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { return {}; }
}

async function sendOutbox() {
  const waiting = outbox();
  if (!waiting.length || !navigator.onLine) return;
  localStorage.removeItem(OUTBOX);
  let sent = 0;
  const failed = [];
  for (const item of waiting) {
    try {
      const response = await fetch(item.action, {
        method: "POST",
        body: new URLSearchParams(item.fields),
        headers: csrfHeader(),
        credentials: "same-origin",
      });
      if (response.ok || response.redirected) sent += 1;
      else failed.push(item);
    } catch (e) {
      // Still no connection: keep it for next time.
      localStorage.setItem(OUTBOX, JSON.stringify([...outbox(), item]));
      return;
    }
  }
  if (failed.length) {
    const words = failed.map((i) => i.fields.filter(([k]) => k !== "csrf_token").map(([, v]) => v).join(" ")).join(" · ");
    say("failed", words);
  } else if (sent) {
    say("sent");
    // The page is shown again with what was sent in it, and with fresh forms, unless the
    // person is typing something new (a reload would lose it). Until then the forms that were
    // sent get new keys: the server takes a form's key sent twice for the same words sent
    // again, and would drop what is written in it next.
    renewKeys(waiting);
    setTimeout(() => { if (!typingSomethingNew(waiting)) location.reload(); }, 1500);
  }
}

function renewKeys(items) {
  const actions = new Set(items.map((item) => item.action));
  for (const form of document.forms) {
    if (!actions.has(form.action)) continue;
    for (const key of form.querySelectorAll('input[type=hidden][name$="_key"]')) {
      key.value = Math.random().toString(36).slice(2) + Date.now().toString(36);
    }
  }
}

function typingSomethingNew(items) {
  const sent = new Set(items.flatMap((item) => item.fields.map(([, v]) => v)));
  const fields = document.querySelectorAll(
    "form textarea, form input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=submit])"
  );
  return [...fields].some((f) => f.value !== f.defaultValue && !sent.has(f.value));
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (navigator.onLine || (form.method || "").toLowerCase() !== "post") return;
  event.preventDefault();
  event.stopImmediatePropagation();
  keep(form, event.submitter);
}, true);

document.addEventListener("htmx:sendError", (event) => {
  const form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("form[method=post]");
  if (form) keep(form);
  else say("offline");
});

window.addEventListener("offline", () => say("offline"));
window.addEventListener("online", () => { say("online"); sendOutbox(); });
window.addEventListener("load", () => {
  if (!navigator.onLine) say("offline");
  else sendOutbox();
});

if ("serviceWorker" in navigator && location.protocol !== "file:") {
  navigator.serviceWorker.register("/sw.js").catch(() => {});
}

// The live counts carry the fill bar and interest count of every session that changed; a
// page shows some of them (a topic's page, one). Put in those this page has: htmx's own
// out-of-band swap logs an error for each one it cannot find.
document.addEventListener("htmx:sseBeforeMessage", (event) => {
  if (event.detail.type !== "counts") return;
  event.preventDefault();
  const parts = document.createElement("template");
  parts.innerHTML = event.detail.data;
  for (const part of Array.from(parts.content.children)) {
    const here = part.id ? document.getElementById(part.id) : null;
    if (!here) continue;
    part.removeAttribute("hx-swap-oob");
    here.replaceWith(part);
  }
});

// Announcements a person hid ("Got it") stay hidden when the live stream sends the list
// again: the page names them in data-hidden, and each hide htmx sends adds its own.
const HIDE_ANNOUNCEMENT = /\/announcements\/(\d+)\/hide$/;
document.addEventListener("htmx:sseBeforeMessage", (event) => {
  const box = event.target;
  if (event.detail.type !== "announce" || !box || box.id !== "announcements") return;
  const hidden = new Set((box.dataset.hidden || "").split(" ").filter(Boolean));
  if (!hidden.size) return;
  event.preventDefault();
  const parts = document.createElement("template");
  parts.innerHTML = event.detail.data;
  for (const note of parts.content.querySelectorAll("[data-announcement]")) {
    if (hidden.has(note.dataset.announcement)) note.remove();
  }
  box.replaceChildren(parts.content);
  htmx.process(box);
});
document.addEventListener("htmx:beforeSwap", (event) => {
  const config = event.detail.requestConfig;
  const found = config && HIDE_ANNOUNCEMENT.exec(config.path || "");
  const box = document.getElementById("announcements");
  if (!found || !box || event.detail.xhr.status >= 300) return;
  box.dataset.hidden = `${box.dataset.hidden || ""} ${found[1]}`.trim();
});
