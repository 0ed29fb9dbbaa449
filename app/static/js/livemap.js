// Live maps on Leaflet (vendored by `make assets`). Every fact is also written as text, so a page
// still says where the bus is and when it comes when the map tiles cannot load. No inline scripts
// (the CSP forbids them): each page hands its data over in a <script type="application/json">.
//
// window.tmsLive holds what fleetmap.js shares: the socket with backoff, the clock, ages, the map.
(function () {
  "use strict";

  const BACKOFF_SECONDS = [1, 2, 4, 8, 15, 30];
  const SILENCE_MS = 90000; // the server pings well within this: silence means a dead connection
  const POLICY_VIOLATION = 1008; // close code of a server that no longer lets this viewer watch

  function readData(id) {
    const element = id && document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  // The server's clock, so "N s ago" does not depend on how right the device's clock is.
  function clock(serverNow) {
    const offset = serverNow ? serverNow - Date.now() : 0;
    return () => Date.now() + offset;
  }

  function ago(seconds) {
    if (seconds < 60) return `${seconds} s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    return `${Math.floor(seconds / 3600)} h ago`;
  }

  // The age of a fix (epoch ms) as the pages word it; stale past `staleSeconds`.
  function fixAge(ts, now, staleSeconds) {
    if (!ts) return { text: "No position yet", stale: true };
    const seconds = Math.max(0, Math.floor((now - ts) / 1000));
    if (seconds > staleSeconds) return { text: `No recent position (last ${ago(seconds)})`, stale: true };
    return { text: ago(seconds), stale: false };
  }

  function socketUrl(path) {
    return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
  }

  // A websocket that comes back after every loss, waiting longer each time (reset by the first
  // message of a connection, so a server that refuses us is not hammered), until stop().
  // onState(state, detail): "connecting" | "open" | "waiting" ({seconds, attempt}) | "refused" |
  // "stopped".
  function connect(path, { onMessage, onState = () => {} }) {
    let socket = null;
    let attempt = 0;
    let retry = null;
    let watchdog = null;
    let stopped = false;

    function listen() {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => socket && socket.close(), SILENCE_MS);
    }

    function open() {
      if (stopped) return;
      clearTimeout(retry);
      onState("connecting");
      socket = new WebSocket(socketUrl(path));
      socket.addEventListener("open", () => {
        onState("open");
        listen();
      });
      socket.addEventListener("message", (event) => {
        listen();
        attempt = 0;
        let message;
        try {
          message = JSON.parse(event.data);
        } catch {
          return;
        }
        if (message && message.type !== "ping") onMessage(message);
      });
      socket.addEventListener("close", (event) => {
        clearTimeout(watchdog);
        socket = null;
        if (stopped) return;
        if (event.code === POLICY_VIOLATION) {
          // The server let us go: the link or ticket no longer allows watching. Do not retry.
          stopped = true;
          onState("refused");
          return;
        }
        const seconds = BACKOFF_SECONDS[Math.min(attempt, BACKOFF_SECONDS.length - 1)];
        attempt += 1;
        onState("waiting", { seconds, attempt });
        retry = setTimeout(open, seconds * 1000 * (0.8 + Math.random() * 0.4));
      });
    }

    // Back online: try at once rather than at the end of a long wait.
    window.addEventListener("online", () => {
      if (!socket && !stopped) open();
    });
    open();
    return {
      stop() {
        stopped = true;
        clearTimeout(retry);
        clearTimeout(watchdog);
        if (socket) socket.close();
        onState("stopped");
      },
    };
  }

  // A Leaflet map with the configured tiles, or null when Leaflet did not load.
  function baseMap(element, tiles) {
    if (!window.L || !element) return null;
    const map = window.L.map(element, { scrollWheelZoom: false });
    if (tiles && tiles.url) {
      window.L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: 19 }).addTo(map);
    }
    return map;
  }

  // Tooltip content as a text node: station names and plates are data, never markup.
  function label(text) {
    const span = document.createElement("span");
    span.textContent = text;
    return span;
  }

  function busIcon(className) {
    return new window.L.Icon.Default({ className });
  }

  function connectionText(state, detail) {
    if (state === "open") return "Live: the map updates by itself.";
    if (state === "waiting") return `Connection lost; trying again in ${detail.seconds} s.`;
    if (state === "connecting") return "Connecting to live updates…";
    if (state === "refused") return "Live updates stopped: you can no longer follow this trip.";
    return "Live updates stopped.";
  }

  window.tmsLive = { readData, clock, ago, fixAge, connect, baseMap, label, busIcon, connectionText };

  // --- One trip: the passenger's ticket page and share links --------------------------------------

  const STATUS_NOTICES = {
    "trip.boarding": ["boarding", "Boarding has started."],
    "trip.departed": ["departed", "The bus has left."],
    "trip.arrived": ["arrived", "The bus has arrived."],
  };

  function tripMap(root) {
    const data = readData(root.dataset.liveTrip);
    if (!data) return;
    const now = clock(data.serverNow);
    const find = (selector) => root.querySelector(selector);
    const stops = data.stops;
    const due = new Map(stops.map((stop) => [stop.position, stop.due]));
    const hhmm = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: data.timeZone });
    const day = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", timeZone: data.timeZone });
    const state = { status: data.trip.status, plate: data.trip.plate, position: data.position };
    let connection = null;
    let failures = 0;

    // The map: the route through its stops, the passenger's two stops marked, the bus.
    let map = null;
    let bus = null;
    try {
      map = baseMap(find("[data-live-canvas]"), data.tiles);
    } catch {
      map = null;
    }
    if (map) {
      const route = window.L.polyline(
        stops.map((stop) => [stop.lat, stop.lon]),
        { color: "#0b6e4f", weight: 4, opacity: 0.7, className: "live-route" },
      ).addTo(map);
      for (const stop of stops) {
        const role = stop.position === data.board ? "board" : stop.position === data.alight ? "alight" : null;
        const suffix = role === "board" ? " (boarding)" : role === "alight" ? " (getting off)" : "";
        window.L.circleMarker([stop.lat, stop.lon], {
          radius: role ? 8 : 5,
          color: role ? "#b54708" : "#0b6e4f",
          weight: role ? 3 : 2,
          fillColor: "#fff",
          fillOpacity: 1,
          className: role ? `live-stop live-stop-${role}` : "live-stop",
        })
          .bindTooltip(label(stop.name + suffix), { permanent: Boolean(role), direction: "top" })
          .addTo(map);
      }
      map.fitBounds(route.getBounds(), { padding: [28, 28] });
    }

    function placeBus() {
      if (!map) return;
      const position = state.position;
      if (!position) {
        if (bus) bus.remove();
        bus = null;
        return;
      }
      const title = `Bus ${state.plate || ""}`.trim();
      if (!bus) {
        bus = window.L.marker([position.lat, position.lon], {
          icon: busIcon("live-bus"),
          title,
          alt: title,
          keyboard: false,
          zIndexOffset: 1000,
        }).addTo(map);
      } else {
        bus.setLatLng([position.lat, position.lon]);
      }
      const element = bus.getElement();
      if (element) {
        element.title = title;
        element.alt = title;
        element.dataset.lat = position.lat;
        element.dataset.lon = position.lon;
      }
    }

    // The same rules as tracking.queries.outlook on the server.
    function outlook(stop, boarding) {
      if (state.status === "cancelled") return { state: "cancelled" };
      if (state.status === "arrived") return { state: boarding ? "departed" : "arrived" };
      const etas = state.position && state.position.progress && state.position.progress.eta;
      if (etas && String(stop) in etas) {
        const at = etas[String(stop)];
        if (at === null) return { state: boarding ? "departed" : "passed" };
        return { state: "expected", at: at * 1000 };
      }
      if (state.status === "departed" && stop === 0) return { state: "departed" };
      return { state: "timetable", at: due.get(stop) * 1000 };
    }

    function outlookText(o) {
      if (o.state === "expected") {
        const minutes = Math.round((o.at - now()) / 60000);
        return `about ${hhmm.format(o.at)}${minutes > 0 ? ` (in ${minutes} min)` : " (due now)"}`;
      }
      if (o.state === "timetable") return `${hhmm.format(o.at)} (timetable)`;
      return { departed: "Departed", passed: "Passed", arrived: "Arrived" }[o.state] || "Trip cancelled";
    }

    function whereText() {
      const position = state.position;
      if (!position) return "Not known yet";
      const progress = position.progress;
      if (!progress) return `At ${position.lat.toFixed(4)}, ${position.lon.toFixed(4)}`;
      const ahead = Object.values(progress.eta).some((at) => at !== null);
      const next = stops.find((stop) => stop.position === progress.next_stop);
      const last = stops.find((stop) => stop.position === progress.next_stop - 1);
      let text = ahead && next && last ? `Between ${last.name} and ${next.name}` : `At ${stops[stops.length - 1].name}`;
      if (progress.off_route_m > 1000) text += `, ${(progress.off_route_m / 1000).toFixed(1)} km off the route`;
      if (progress.delay_s >= 120) text += ` · about ${Math.floor(progress.delay_s / 60)} min late`;
      else if (progress.delay_s <= -120) text += ` · ${Math.floor(-progress.delay_s / 60)} min early`;
      else text += " · on time";
      return text;
    }

    function notice(text) {
      const element = find("[data-live-notice]");
      if (!element) return;
      element.textContent = text;
      element.hidden = false;
    }

    // Everything that depends on the clock or the latest message; run every second.
    function render() {
      const status = find("[data-live-status]");
      if (status) {
        status.textContent = state.status.charAt(0).toUpperCase() + state.status.slice(1);
        status.className = `badge status-${state.status}`;
      }
      const plate = find("[data-live-plate]");
      if (plate) plate.textContent = state.plate || "Not assigned yet";
      const age = fixAge(state.position && state.position.ts, now(), data.staleSeconds);
      const ageElement = find("[data-live-age]");
      if (ageElement) {
        ageElement.textContent = age.text;
        ageElement.classList.toggle("live-stale", age.stale);
      }
      root.classList.toggle("live-is-stale", age.stale);
      if (bus) bus.setOpacity(age.stale ? 0.5 : 1);
      const where = find("[data-live-where]");
      if (where) where.textContent = whereText();
      for (const element of root.querySelectorAll("[data-live-eta]")) {
        element.textContent = outlookText(outlook(Number(element.dataset.stop), element.dataset.role === "board"));
      }
      const etas = (state.position && state.position.progress && state.position.progress.eta) || {};
      for (const item of root.querySelectorAll(".live-stops [data-stop]")) {
        item.classList.toggle("live-stop-passed", etas[item.dataset.stop] === null);
      }
    }

    function takePosition(position) {
      if (!position || (position.trip != null && position.trip !== data.trip.id)) return;
      const current = state.position;
      if (current && position.ts < current.ts) return; // never move the bus back
      if (current && position.ts === current.ts && !position.progress) position.progress = current.progress;
      state.position = position;
      placeBus();
    }

    function finish(text) {
      if (connection) connection.stop();
      const element = find("[data-live-connection]");
      if (element) element.textContent = text;
    }

    function onEvent(message) {
      const name = message.event;
      if (name === "trip.bus_changed") {
        const was = message.old_plate ? ` (was ${message.old_plate})` : "";
        notice(`Your bus has changed: it is now ${message.new_plate}${was}.`);
        state.plate = message.new_plate;
        state.position = null; // the old bus's last position says nothing about the new one
        placeBus();
      } else if (name === "trip.delayed" && message.departs_at) {
        const leaves = Date.parse(message.departs_at);
        const shift = Math.round(leaves / 1000) - due.get(stops[0].position);
        for (const [position, at] of due) due.set(position, at + shift);
        const why = message.reason ? `: ${message.reason}` : "";
        notice(`The trip is delayed; the bus now leaves at ${hhmm.format(leaves)}${why}.`);
      } else if (name === "trip.cancelled") {
        state.status = "cancelled";
        notice(`This trip was cancelled${message.reason ? `: ${message.reason}` : ""}.`);
        finish("The trip was cancelled; live updates stopped.");
      } else if (STATUS_NOTICES[name]) {
        const [status, text] = STATUS_NOTICES[name];
        state.status = status;
        notice(text);
        if (status === "arrived") finish("The trip has ended; live updates stopped.");
      }
    }

    function onMessage(message) {
      failures = 0;
      if (message.type === "snapshot") {
        const trip = message.trip || {};
        if (trip.status) state.status = trip.status;
        if (trip.plate && state.plate && trip.plate !== state.plate) {
          notice(`Your bus has changed: it is now ${trip.plate} (was ${state.plate}).`);
          state.position = null;
        }
        if (trip.plate) state.plate = trip.plate;
        takePosition(message.position);
        placeBus();
      } else if (message.type === "position") {
        takePosition(message);
      } else if (message.event) {
        onEvent(message);
      }
      render();
    }

    // A link that ended (or a ticket no longer valid) refuses the socket: ask the page once in a
    // while and stop when it says the link is gone.
    async function stillValid() {
      try {
        const response = await fetch(location.href, { method: "HEAD", credentials: "same-origin" });
        return response.status !== 410 && response.status !== 404;
      } catch {
        return true;
      }
    }

    function onState(socketState, detail) {
      const element = find("[data-live-connection]");
      if (element) element.textContent = connectionText(socketState, detail);
      if (socketState === "refused") {
        notice("This live view has ended: the link expired or was revoked, or the ticket is no longer valid.");
        return;
      }
      if (socketState !== "waiting") return;
      failures += 1;
      if (failures % 3 === 0) {
        stillValid().then((valid) => {
          if (valid) return;
          notice("This live view has ended: the link expired or was revoked, or the trip is over.");
          finish("Live updates stopped.");
        });
      }
    }

    placeBus();
    render();
    setInterval(render, 1000);
    if (["arrived", "cancelled"].includes(state.status)) return;
    // Days ahead there is nothing to follow: listen from a while before departure (or at once once
    // boarding has started).
    const wait = state.status === "scheduled" ? data.liveFrom - now() : 0;
    const start = () => (connection = connect(data.socket, { onMessage, onState }));
    if (wait <= 0) {
      start();
    } else {
      const element = find("[data-live-connection]");
      if (element) element.textContent = `Live updates start ${hhmm.format(data.liveFrom)} on ${day.format(data.liveFrom)}, two hours before departure.`;
      if (wait < 2 ** 31 - 1) setTimeout(start, wait);
    }
  }

  // Copy buttons beside share links (clipboard API where allowed, else select-and-copy).
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const input = document.getElementById(button.dataset.copy);
    if (!input) return;
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch {
      input.focus();
      input.select();
      copied = typeof document.execCommand === "function" && document.execCommand("copy");
    }
    button.textContent = copied ? "Copied" : "Press Ctrl+C to copy";
    setTimeout(() => (button.textContent = "Copy"), 2500);
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-live-trip]").forEach(tripMap);
  });
})();
