// The service worker: the app shell from a cache named after this release, and the last good
// copy of the home page, the session form and the offline pack for when there is no network.
// Unsent sessions are not here: they wait in IndexedDB (outbox.js), which no update touches.
"use strict";
const VERSION = "__VERSION__";
const SHELL_FILES = ["__SHELL__"];
// Static addresses carry their content's digest (?v=…); a page kept before an update asks for
// the old one, so a shell file is matched by its path and answered with this release's copy.
const SHELL_PATHS = SHELL_FILES.map((file) => new URL(file, location.href).pathname);
const PAGES = ["__PAGES__"]; // home, session form, offline pack (filled in by app/offline/routes.py)
const SHELL = "shell-" + VERSION;
const KEPT = "kept"; // survives updates; emptied when someone signs out
const PATIENCE = 5000; // ms to wait for a slow network before showing the kept copy

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(SHELL_FILES))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => names.filter((n) => n.startsWith("shell-") && n !== SHELL))
      .then((old) => Promise.all(old.map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // cache: "no-store" asks for the server itself (the outbox renewing its CSRF token).
  if (request.method !== "GET" || url.origin !== location.origin || request.cache === "no-store") return;
  if (SHELL_PATHS.includes(url.pathname)) {
    const mine = { cacheName: SHELL, ignoreSearch: true };
    event.respondWith(caches.match(url.pathname, mine).then((hit) => hit || fetch(request)));
  } else if (PAGES.includes(url.pathname)) {
    event.respondWith(networkFirst(event, url.pathname));
  } else if (request.mode === "navigate") {
    // Another page with no network: the home page, whose outbox panel says what is waiting.
    event.respondWith(fetch(request).catch(() => kept(PAGES[0]).then((hit) => hit || Response.error())));
  }
});

self.addEventListener("message", (event) => {
  if (event.data === "forget") event.waitUntil(caches.delete(KEPT));
  if (event.data && Array.isArray(event.data.warm)) {
    const warm = event.data.warm.filter((key) => PAGES.includes(key));
    event.waitUntil(Promise.all(warm.map((key) => fetch(key).then((r) => keep(key, r)).catch(() => null))));
  }
});

// The network's answer, kept for later; the kept copy when the network fails or is too slow.
async function networkFirst(event, key) {
  const network = fetch(event.request).then((response) => {
    event.waitUntil(keep(key, response.clone()));
    return response;
  });
  event.waitUntil(network.catch(() => null));
  const slow = new Promise((resolve) => setTimeout(resolve, PATIENCE, null));
  try {
    return (await Promise.race([network, slow])) || (await kept(key)) || (await network);
  } catch (error) {
    return (await kept(key)) || Response.error();
  }
}

function kept(key) {
  return caches.open(KEPT).then((cache) => cache.match(key));
}

// Only a whole, signed-in answer is kept (a redirect to sign-in is not), and never a page
// showing a one-time message. The form copy is marked so the page knows to make new ids.
async function keep(key, response) {
  if (!response.ok || response.redirected) return;
  const type = response.headers.get("Content-Type") || "";
  let body = await response.text();
  if (type.startsWith("text/html")) {
    if (body.includes('class="flash')) return;
    body = body.replace('data-copy="live"', 'data-copy="kept"');
  }
  const headers = new Headers(response.headers);
  headers.delete("Content-Length");
  headers.delete("Content-Encoding"); // the text above is already decoded
  headers.delete("Vary"); // kept under a plain key: matched whatever the cookies
  const cache = await caches.open(KEPT);
  await cache.put(key, new Response(body, { status: 200, headers }));
}
