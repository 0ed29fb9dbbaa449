// The driver's page. While a trip runs, the phone's position goes to the server over
// /ws/driver/trips/<id>: the newest fix, at most every 5 s. Every fix waits in localStorage until
// the server answers it (at most 720, an hour's worth), so fixes taken offline follow, oldest
// first and with their own times, as soon as the connection is back. The screen is kept on where
// the Wake Lock API exists. The offline packs of today's trips are fetched into IndexedDB as soon
// as the page opens (scanner-offline.js), so the scanner checks tickets where there is no signal;
// and the driver's pages are kept for a dead zone (see warm). No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  const script = document.currentScript; // its data-worker and data-home: see warm

  const EVERY_MS = 5000;
  const KEEP = 720;
  const BATCH = 100; // fixes per message when catching up
  const BACKOFF_SECONDS = [1, 2, 4, 8, 15, 30];
  const SILENCE_MS = 60000; // the server sends something at least every 25 s
  const STILL_MS = 30000; // no new position for this long: ask the GPS once more
  const PREFIX = "tms.driver.unsent.";

  function number(value) {
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  }

  // url_for builds ws://host/...; keep its path, with this page's own scheme and host.
  function socketUrl(built) {
    const url = new URL(built, location.href);
    return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${url.pathname}${url.search}`;
  }

  // 24-hour time where the company's buses run (the page's data-time-zone, Kigali), in the page's
  // language: never the phone's own 12-hour clock or time zone.
  function clock(ts, zone) {
    return new Intl.DateTimeFormat(document.documentElement.lang || "en", {
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
      timeZone: zone || "Africa/Kigali",
    }).format(new Date(ts));
  }

  function track(panel) {
    const part = (name) => panel.querySelector(`[data-${name}]`);
    const storageKey = PREFIX + panel.dataset.trip;
    let unsent = load(); // fixes the server has not answered yet, oldest first
    let latest = null; // the GPS's newest fix
    let lastQueued = 0; // its time, once queued
    let queuedAt = 0;
    let positionAt = 0;
    let socket = null;
    let attempt = 0;
    let retry = null;
    let silence = null;
    let over = false;
    let wakeLock = null;

    function load() {
      try {
        for (let i = localStorage.length - 1; i >= 0; i -= 1) {
          const key = localStorage.key(i);
          if (key && key.startsWith(PREFIX) && key !== storageKey) localStorage.removeItem(key); // trips gone by
        }
        const stored = JSON.parse(localStorage.getItem(storageKey) || "[]");
        return Array.isArray(stored) ? stored.filter((fix) => fix && typeof fix.ts === "number") : [];
      } catch (error) {
        return []; // storage switched off or spoilt: start afresh
      }
    }

    function save() {
      try {
        if (unsent.length) localStorage.setItem(storageKey, JSON.stringify(unsent));
        else localStorage.removeItem(storageKey);
      } catch (error) {
        // storage full or switched off: the fixes still wait in memory
      }
      const waiting = part("waiting");
      waiting.hidden = unsent.length < (isOpen() ? 2 : 1); // one is normal: just sent, not yet answered
      waiting.textContent = waiting.hidden ? "" : `${unsent.length} position${unsent.length === 1 ? "" : "s"} waiting to be sent.`;
    }

    function setState(state, text) {
      const badge = part("connection");
      badge.textContent = text;
      badge.className = `badge ${state === "live" ? "status-arrived" : "badge-warn"}`;
      panel.dataset.state = state;
    }

    function problem(text) {
      const line = part("problem");
      line.textContent = text || "";
      line.hidden = !text;
    }

    function isOpen() {
      return socket !== null && socket.readyState === WebSocket.OPEN;
    }

    function send(message) {
      if (isOpen()) socket.send(JSON.stringify(message));
    }

    // The newest fix into the queue and out, if it is new and 5 s have passed.
    function queue() {
      if (over || !latest || latest.ts <= lastQueued || Date.now() - queuedAt < EVERY_MS) return;
      const fix = latest;
      lastQueued = fix.ts;
      queuedAt = Date.now();
      unsent.push(fix);
      if (unsent.length > KEEP) unsent.splice(0, unsent.length - KEEP);
      save();
      send({ type: "fix", ...fix });
      if (!isOpen()) part("last-fix").textContent = `Position taken at ${clock(fix.ts, panel.dataset.timeZone)}, waiting for the connection.`;
    }

    function settle(ts) {
      const index = unsent.findIndex((fix) => fix.ts === ts);
      const fix = index >= 0 ? unsent.splice(index, 1)[0] : null;
      save();
      return fix;
    }

    function answer(message) {
      if (message.type === "ack") {
        const fix = settle(message.ts);
        if (fix && fix.ts === lastQueued) {
          const accuracy = fix.accuracy === null ? "" : ` (±${Math.round(fix.accuracy)} m)`;
          part("last-fix").textContent = `Last position sent at ${clock(fix.ts, panel.dataset.timeZone)}${accuracy}.`;
          problem("");
        }
      } else if (message.type === "error") {
        if (message.ts !== null && message.ts !== undefined) settle(message.ts); // refused for good
        if (message.code === "not_your_trip") finish(message.message);
        else if (message.ts === null || message.ts === lastQueued) problem(message.message);
      } else if (message.type === "trip") {
        finish(message.status === "cancelled" ? "The trip was cancelled." : "The trip has ended.");
        setTimeout(() => location.reload(), 2000);
      }
    }

    function listen() {
      clearTimeout(silence);
      silence = setTimeout(() => drop(socket), SILENCE_MS); // a connection that died without a word
    }

    function connect() {
      if (over || socket) return;
      clearTimeout(retry);
      setState("connecting", "Connecting");
      const ws = new WebSocket(socketUrl(panel.dataset.socket));
      socket = ws;
      ws.addEventListener("open", () => {
        if (ws !== socket) return;
        attempt = 0;
        setState("live", "Live");
        listen();
        for (let i = 0; i < unsent.length; i += BATCH) send({ type: "fixes", fixes: unsent.slice(i, i + BATCH) });
        save();
      });
      ws.addEventListener("message", (event) => {
        if (ws !== socket) return;
        listen();
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        if (message && typeof message === "object") answer(message);
      });
      ws.addEventListener("close", () => drop(ws));
    }

    // Forget this connection and try again later, waiting longer each time.
    function drop(ws) {
      if (ws !== socket) return;
      clearTimeout(silence);
      socket = null;
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close();
      if (over) return;
      const seconds = BACKOFF_SECONDS[Math.min(attempt, BACKOFF_SECONDS.length - 1)];
      attempt += 1;
      setState("offline", navigator.onLine === false ? "Offline" : `Offline, retrying in ${seconds} s`);
      save();
      retry = setTimeout(connect, seconds * 1000);
    }

    function finish(text) {
      over = true;
      clearTimeout(retry);
      clearTimeout(silence);
      if (socket) socket.close();
      socket = null;
      unsent = [];
      save();
      setState("ended", "Stopped");
      problem(text);
      if (wakeLock) wakeLock.release().catch(() => {});
    }

    function screenNote(text) {
      const note = part("screen");
      note.textContent = text;
      note.hidden = false;
    }

    async function keepAwake() {
      if (over || !("wakeLock" in navigator) || document.visibilityState !== "visible" || wakeLock) return;
      try {
        wakeLock = await navigator.wakeLock.request("screen");
        wakeLock.addEventListener("release", () => {
          wakeLock = null;
        });
        screenNote("The screen stays on while the trip runs.");
      } catch (error) {
        screenNote("Keep the screen on: the phone may stop sharing its position while it sleeps.");
      }
    }

    function onPosition(position) {
      const c = position.coords;
      latest = {
        lat: c.latitude,
        lon: c.longitude,
        accuracy: number(c.accuracy),
        speed: number(c.speed), // m/s, as the phone measures it
        heading: number(c.heading), // null (or NaN) when standing still
        ts: Math.round(position.timestamp),
      };
      positionAt = Date.now();
      queue();
    }

    function onPositionError(error) {
      if (error.code === error.PERMISSION_DENIED) {
        problem("Allow this page to use your location: passengers follow the bus with it.");
      } else if (!latest) {
        problem("Waiting for the GPS to find the bus.");
      }
    }

    save();
    if (!("geolocation" in navigator)) {
      problem("This phone cannot share its position: it has no location service.");
      return;
    }
    const options = { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 };
    navigator.geolocation.watchPosition(onPosition, onPositionError, options);
    setInterval(() => {
      queue();
      if (!over && Date.now() - positionAt > STILL_MS) {
        positionAt = Date.now(); // one question at a time
        navigator.geolocation.getCurrentPosition(onPosition, onPositionError, options);
      }
    }, 1000);

    if (!("wakeLock" in navigator)) screenNote("Keep the screen on: the phone may stop sharing its position while it sleeps.");
    keepAwake();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState !== "visible") return;
      keepAwake(); // the lock is let go whenever the page is hidden
      if (!socket && !over) connect();
    });
    window.addEventListener("online", () => {
      if (!socket && !over) {
        attempt = 0;
        connect();
      }
    });
    connect();
  }

  // A trip's offline pack onto the phone; with no network, the copy kept from before stays.
  async function keepPack(holder) {
    try {
      const response = await fetch(holder.dataset.offlinePack, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok && window.tmsOffline) await window.tmsOffline.store.savePack(await response.json());
    } catch (error) {
      // offline or storage off: the scan page tries again when it opens
    }
  }

  // Cheap phones drop background tabs, so a driver may reopen a scan page where there is no
  // network. The service worker (driver-sw.js, scope: the driver's pages) answers from a cache;
  // here, while the network is there, that cache gets today's trips page, the scan page of each
  // of its trips (opened before or not) and the files those pages load. An answer that is not the
  // page itself (a redirect to the login page) is never kept. app.js empties it at sign-out.
  const CACHE = "tms-driver";

  async function keep(cache, url) {
    // The header asks for the page without its one-time notices ("Trip started."): this request
    // must not take them from the page the driver opens next, nor keep them in the copy.
    const response = await fetch(url, { credentials: "same-origin", headers: { "X-TMS-Offline-Copy": "1" } });
    if (!response.ok || response.redirected) throw new Error(`${url}: ${response.status}`);
    await cache.put(url, response.clone());
    return response;
  }

  async function keepPage(cache, url) {
    const html = await (await keep(cache, url)).text();
    return new DOMParser().parseFromString(html, "text/html");
  }

  function staticFiles(doc) {
    return [...doc.querySelectorAll("script[src], link[rel~=stylesheet][href], link[rel~=icon][href], img[src]")]
      .map((element) => new URL(element.getAttribute("src") || element.getAttribute("href"), location.href))
      .filter((url) => url.origin === location.origin && url.pathname.startsWith("/static/"))
      .map((url) => url.pathname + url.search);
  }

  async function warm() {
    const cache = await caches.open(CACHE);
    const home = await keepPage(cache, script.dataset.home);
    const scanPages = [...home.querySelectorAll("[data-offline-page]")].map((element) => element.dataset.offlinePage);
    const pages = [home, ...(await Promise.all(scanPages.map((url) => keepPage(cache, url))))];
    await Promise.all([...new Set(pages.flatMap(staticFiles))].map((url) => keep(cache, url)));
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-driver-tracking]").forEach(track);
    document.querySelectorAll("[data-offline-pack]").forEach(keepPack);
    if (!("serviceWorker" in navigator && "caches" in window)) return; // an old browser: online only
    navigator.serviceWorker.register(script.dataset.worker, { scope: script.dataset.home }).catch(() => {});
    if (navigator.onLine) warm().catch(() => {}); // failed midway: the copies kept before stay
  });
})();
