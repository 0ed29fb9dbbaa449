// The service worker of the driver's pages, served at /driver/sw.js so its scope is /driver/
// (driver.js registers it). Cheap phones drop background tabs, and a driver who reopens the scan
// page in a dead zone would get the browser's error page: here, a page under /driver/ comes from
// the network when it answers within a few seconds (and a copy is kept), else from the copy kept
// (driver.js also fills the cache ahead, while the network is there). Files under /static/ come
// from the cache first and are refreshed behind it. Nothing else is touched: not the forms, not a
// trip's offline pack (IndexedDB keeps it, scanner-offline.js), not another site. app.js empties
// the cache when nobody is signed in, so a shared phone keeps no passenger's name.
"use strict";

const CACHE = "tms-driver"; // driver.js fills it, app.js empties it
const NETWORK_MS = 4000;
// With no copy of a page: no words (they are translated in the pages, never here), a sign and a
// link to try again.
const OFFLINE_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>TMS</title><link rel="stylesheet" href="/static/css/tokens.css">
<link rel="stylesheet" href="/static/css/components.css"><link rel="stylesheet" href="/static/css/layout.css">
<link rel="stylesheet" href="/static/css/app.css"></head>
<body class="surface-driver"><main id="main" class="container mobile">
<p class="offline" data-offline-page>&#x26A0;&#xFE0E; &#x1F4F6;&#xFE0E;</p>
<p><a class="button large" href="">&#x21BB;</a></p>
</main></body></html>`;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") event.respondWith(page(event));
  else if (url.pathname.startsWith("/static/")) event.respondWith(file(event));
});

// A good answer of our own (never a redirect to the login page, nor an error page) is kept.
function keepable(response) {
  return response.ok && response.type === "basic" && !response.redirected;
}

async function page(event) {
  const cache = await caches.open(CACHE);
  // Copies of pages are made by driver.js alone, without one-time notices; a page the driver
  // opens is not copied, or "Trip started." would greet them again in a dead zone.
  const network = fetch(event.request);
  const late = new Promise((resolve) => setTimeout(resolve, NETWORK_MS, null));
  const first = await Promise.race([network.catch(() => null), late]);
  if (first) return first;
  const kept = await cache.match(event.request.url, { ignoreVary: true });
  if (kept) return kept;
  try {
    return await network; // slow but no copy: the network's answer is still the best one
  } catch (error) {
    return new Response(OFFLINE_PAGE, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
}

async function file(event) {
  const cache = await caches.open(CACHE);
  const fresh = fetch(event.request).then(async (response) => {
    if (keepable(response)) await cache.put(event.request.url, response.clone());
    return response;
  });
  const kept = await cache.match(event.request.url, { ignoreVary: true });
  if (!kept) return fresh;
  event.waitUntil(fresh.catch(() => {}));
  return kept;
}
