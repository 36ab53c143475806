// OpenSpace's service worker: the agenda and "my agenda" stay readable without a connection.
// Pages of an event are fetched from the network first (they change all day) and a copy is
// kept; without a connection the copy is shown, marked as possibly out of date. Static files
// have names that change with their content, so a kept copy is always right.
const VERSION = {{ version|tojson }};
const PAGES = "openspace-pages-v1";
const ASSETS = "openspace-assets-" + VERSION;
const PRECACHE = {{ assets|tojson }};
const OFFLINE = "/offline";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(ASSETS).then((cache) => cache.addAll([...PRECACHE, OFFLINE])).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("openspace-assets-") && k !== ASSETS).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

function isEventPage(url) {
  return /^\/e\/[^/]+(\/(wall|topics|news|reports|actions))?\/?$/.test(url.pathname);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((kept) => kept || fetch(request)));
    return;
  }
  // Whole pages only (not htmx fragments, which ask with HX-Request, nor the live stream).
  if (request.mode !== "navigate" || !isEventPage(url)) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(PAGES).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      })
      .catch(() =>
        caches.match(url.pathname, { cacheName: PAGES }).then((kept) => kept || caches.match(OFFLINE))
      )
  );
});
