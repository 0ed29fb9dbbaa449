// The console's live fleet map: every running bus of the company from /ws/fleet, labelled with its
// plate, route, status and the age of its last position. The side lists are the server's (htmx
// refreshes them every 30 s); this script keeps their ages current and follows the buses between.
// Needs livemap.js (window.tmsLive) and Leaflet, loaded before it.
(function () {
  "use strict";

  const live = window.tmsLive;
  if (!live) return;

  function fleetMap(root) {
    const data = live.readData(root.dataset.fleetMap);
    if (!data) return;
    const now = live.clock(data.serverNow);
    const buses = new Map(); // bus id → {marker, label, position}
    let map = null;
    try {
      map = live.baseMap(root.querySelector("[data-live-canvas]"), data.tiles);
    } catch {
      map = null;
    }
    if (map) {
      if (data.bounds) map.fitBounds(data.bounds, { padding: [24, 24] });
      else map.setView([-1.95, 30.06], 9);
    }

    // The running trips as the server last listed them: trip id → {bus, plate, route, status}.
    function listed() {
      const trips = new Map();
      for (const item of root.querySelectorAll("[data-fleet-trip]")) {
        trips.set(Number(item.dataset.fleetTrip), {
          element: item,
          bus: Number(item.dataset.bus),
          plate: item.dataset.plate,
          route: item.dataset.route,
          status: item.dataset.status,
        });
      }
      return trips;
    }

    function describe(position) {
      const trip = listed().get(position.trip);
      const plate = (trip && trip.plate) || data.plates[String(position.bus)] || `Bus ${position.bus}`;
      return { plate, route: trip ? trip.route : `trip ${position.trip}`, status: trip ? trip.status : "departed" };
    }

    function labelText(entry) {
      const about = describe(entry.position);
      const age = live.fixAge(entry.position.ts, now(), data.staleSeconds);
      return { title: `${about.plate} · ${about.route}`, detail: `${about.status} · ${age.text}`, stale: age.stale };
    }

    function paint(entry) {
      const text = labelText(entry);
      entry.title.textContent = text.title;
      entry.detail.textContent = text.detail;
      entry.marker.setOpacity(text.stale ? 0.5 : 1);
      const element = entry.marker.getElement();
      if (element) {
        element.title = text.title;
        element.alt = `Bus ${text.title}`;
        element.dataset.lat = entry.position.lat;
        element.dataset.lon = entry.position.lon;
        element.dataset.trip = entry.position.trip;
      }
    }

    function take(position, { fromSnapshot = false } = {}) {
      if (!position) return;
      const trips = listed();
      if (position.trip == null) {
        // A tracker's fix from before its trip left: the bus's running trip, if any.
        const running = [...trips].find(([, trip]) => trip.bus === position.bus);
        if (!running) return; // an idle bus: not on the road
        position = { ...position, trip: running[0] };
      }
      if (fromSnapshot && !trips.has(position.trip)) return; // its trip is over
      const item = trips.get(position.trip);
      if (item) {
        const age = item.element.querySelector("[data-fix-age]");
        if (age && Number(age.dataset.fixTs || 0) < position.ts) age.dataset.fixTs = position.ts;
      }
      if (!map) return;
      const entry = buses.get(position.bus);
      if (entry && entry.position.ts > position.ts) return; // never move a bus back
      if (entry) {
        entry.position = position;
        entry.marker.setLatLng([position.lat, position.lon]);
        paint(entry);
        return;
      }
      const label = document.createElement("span");
      const title = document.createElement("strong");
      const detail = document.createElement("span");
      label.append(title, document.createElement("br"), detail);
      const marker = window.L.marker([position.lat, position.lon], {
        icon: live.busIcon("fleet-bus"),
        keyboard: false,
      })
        .bindTooltip(label, { permanent: true, direction: "right", className: "fleet-label" })
        .addTo(map);
      const added = { marker, title, detail, position };
      buses.set(position.bus, added);
      paint(added);
    }

    // After a refresh of the lists: forget buses whose trip is no longer running.
    function prune() {
      const trips = listed();
      for (const [bus, entry] of buses) {
        if (!trips.has(entry.position.trip) && now() - entry.position.ts > data.staleSeconds * 1000) {
          entry.marker.remove();
          buses.delete(bus);
        }
      }
      for (const entry of buses.values()) take(entry.position);
    }

    function tick() {
      const fresh = new Set();
      for (const element of root.querySelectorAll("[data-fix-age]")) {
        const ts = Number(element.dataset.fixTs || 0);
        const age = live.fixAge(ts, now(), data.staleSeconds);
        if (ts) element.textContent = age.text;
        element.classList.toggle("live-stale", age.stale);
        const trip = element.closest("[data-fleet-trip]");
        if (trip && !age.stale) fresh.add(trip.dataset.fleetTrip);
      }
      // A quiet bus that has just reported leaves the quiet list before the next refresh.
      let quiet = 0;
      for (const item of root.querySelectorAll("[data-quiet-trip]")) {
        item.hidden = fresh.has(item.dataset.quietTrip);
        if (!item.hidden) quiet += 1;
      }
      const count = root.querySelector("[data-quiet-count]");
      if (count) count.textContent = String(quiet);
      for (const entry of buses.values()) paint(entry);
    }

    for (const position of data.positions) take(position);
    tick();
    setInterval(tick, 1000);
    document.body.addEventListener("htmx:afterSwap", (event) => {
      if (root.contains(event.detail.target) || event.detail.target.id === "fleet-lists") prune();
    });

    const status = document.querySelector("[data-live-connection]");
    live.connect(data.socket, {
      onMessage(message) {
        if (message.type === "snapshot") {
          for (const position of message.positions || []) take(position, { fromSnapshot: true });
        } else if (message.type === "position") {
          take(message);
        }
        tick();
      },
      onState(state, detail) {
        if (status) status.textContent = live.connectionText(state, detail);
      },
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-fleet-map]").forEach(fleetMap);
  });
})();
