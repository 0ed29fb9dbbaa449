// What the driver's phone keeps for boarding with no signal: the trip's offline pack (tickets,
// revoked codes, the trip's own QR keys) and the queue of scans made offline, both in IndexedDB so
// they outlive a reload or a flat battery; and the check of a ticket against them, the same
// answers the server gives (app/booking/services/boarding.py). Version 2 QRs are verified with
// WebCrypto HMAC-SHA256 over the pack's trip key; version 1 QRs and typed codes only against the
// pack's tickets (the phone never holds the master key). Exposed as window.tmsOffline.
(function () {
  "use strict";

  const DB_NAME = "tms-boarding";
  const MAC_BYTES = 16;
  const CLASSES = ["standard", "vip"];
  const cryptoKeys = new Map(); // "<trip>:<kid>" → imported CryptoKey: importing costs more than verifying

  // --- storage --------------------------------------------------------------------------------

  function open() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore("packs", { keyPath: "trip.id" });
        db.createObjectStore("queue", { keyPath: "scan_id" }).createIndex("trip", "trip_id");
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function run(store, mode, work) {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(store, mode);
        const request = work(tx.objectStore(store));
        tx.oncomplete = () => resolve(request ? request.result : undefined);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  const store = {
    savePack: (pack) => run("packs", "readwrite", (s) => s.put(pack)),
    pack: (tripId) => run("packs", "readonly", (s) => s.get(Number(tripId))),
    enqueue: (scan) => run("queue", "readwrite", (s) => s.put(scan)),
    dequeue: (scanId) => run("queue", "readwrite", (s) => s.delete(scanId)),
    queue: (tripId) => run("queue", "readonly", (s) => s.index("trip").getAll(Number(tripId))),
  };

  // --- the QR text ----------------------------------------------------------------------------

  function base64url(text) {
    const clean = text.trim().replace(/-/g, "+").replace(/_/g, "/");
    if (!/^[A-Za-z0-9+/]*$/.test(clean)) return null;
    try {
      const binary = atob(clean + "=".repeat((4 - (clean.length % 4)) % 4));
      return Uint8Array.from(binary, (c) => c.charCodeAt(0));
    } catch (error) {
      return null;
    }
  }

  const ascii = (bytes) => String.fromCharCode(...bytes);

  // The claims of a QR text (app/booking/qr.py's layout), unverified; null if it is not one.
  function decode(text) {
    const raw = base64url(text);
    if (!raw || raw.length < 2 + MAC_BYTES || (raw[0] !== 1 && raw[0] !== 2)) return null;
    const body = raw.subarray(0, raw.length - MAC_BYTES);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    try {
      let at = 2;
      const kid = ascii(body.subarray(at, at + body[1]));
      at += body[1];
      const code = ascii(body.subarray(at, at + 8));
      at += 8;
      const tripId = view.getUint32(at);
      const seatLength = view.getUint8(at + 4);
      at += 5;
      const seat = ascii(body.subarray(at, at + seatLength));
      at += seatLength;
      if (at + 5 !== body.length || code.length !== 8 || seat.length !== seatLength || body[at + 2] >= CLASSES.length) {
        return null;
      }
      return {
        version: raw[0],
        kid,
        code,
        tripId,
        seat,
        origin: body[at],
        destination: body[at + 1],
        seatClass: CLASSES[body[at + 2]],
        body,
        mac: raw.subarray(raw.length - MAC_BYTES),
      };
    } catch (error) {
      return null; // read past the end
    }
  }

  async function keyFor(pack, kid) {
    const name = `${pack.trip.id}:${kid}`;
    if (!cryptoKeys.has(name)) {
      const raw = pack.keys && pack.keys[kid] ? base64url(pack.keys[kid]) : null;
      if (!raw) return null;
      cryptoKeys.set(name, await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]));
    }
    return cryptoKeys.get(name);
  }

  async function signatureHolds(pack, claims) {
    const key = await keyFor(pack, claims.kid);
    if (!key) return false;
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, claims.body));
    let differ = 0;
    for (let i = 0; i < MAC_BYTES; i += 1) differ |= mac[i] ^ claims.mac[i]; // every byte, like compare_digest
    return differ === 0;
  }

  // --- the answer -----------------------------------------------------------------------------

  // A stop of the pack named by position or by name: the pack's tickets may give either.
  function position(pack, stop) {
    if (typeof stop === "number") return stop;
    const found = pack.trip.stops.find((s) => s.name === stop || String(s.position) === String(stop));
    return found ? found.position : null;
  }

  function stopName(pack, stop) {
    if (typeof stop !== "number") return stop;
    const found = pack.trip.stops.find((s) => s.position === stop);
    return found ? found.name : String(stop);
  }

  function ticketOf(pack, record) {
    return {
      code: record.code,
      name: record.name || "",
      seat: record.seat,
      class: record.class,
      from: stopName(pack, record.from),
      to: stopName(pack, record.to),
    };
  }

  function answer(result, words, extra) {
    return {
      result,
      warning: null,
      message: words[result] || "",
      ticket: null,
      boarded_at: null,
      boarded_device: null,
      other_trip: null,
      offline: true,
      duplicate: false,
      ...extra,
    };
  }

  // The answer for a scanned text or a typed code, from the pack and the queue alone.
  // words: result → the sentence for the screen (from the page, translated).
  async function verify(pack, text, queued, words) {
    const typed = text.trim().toUpperCase();
    let claims = null;
    let record;
    if (typed.length <= 12) {
      record = pack.tickets.find((t) => t.code === typed);
      if (!record) return answer("unreadable", words, { message: words.unknown_code });
    } else {
      claims = decode(text);
      if (!claims) return answer("unreadable", words);
      if (claims.tripId !== pack.trip.id) return answer("wrong_trip", words);
      record = pack.tickets.find((t) => t.code === claims.code);
      if (claims.version === 2) {
        if (!(await signatureHolds(pack, claims))) return answer("forged", words);
      } else if (!record) {
        return answer("unreadable", words, { message: words.unknown_code }); // version 1: only the pack vouches
      }
      if (!record) {
        // Signed for this trip after the pack was made: the claims are all the phone knows.
        record = { code: claims.code, seat: claims.seat, class: claims.seatClass, from: claims.origin, to: claims.destination };
      } else if (
        record.class !== claims.seatClass ||
        position(pack, record.from) !== claims.origin ||
        position(pack, record.to) !== claims.destination ||
        (claims.version === 1 && record.seat !== claims.seat) // version 2: a bus swap may relabel the seat
      ) {
        return answer("forged", words);
      }
    }
    const ticket = ticketOf(pack, record);
    if ((pack.revoked || []).includes(record.code) || ["cancelled", "expired", "no_show"].includes(record.status)) {
      return answer("cancelled", words, { ticket });
    }
    if (record.status === "pending") {
      return answer("not_paid", words, { ticket });
    }
    const earlier = queued.find((scan) => scan.code === record.code && scan.answer.result === "boarded");
    if (record.boarded_at || earlier) {
      return answer("already_boarded", words, {
        ticket,
        boarded_at: record.boarded_at || earlier.scanned_at,
        boarded_device: record.boarded_at ? record.boarded_device : earlier.device,
      });
    }
    const here = Number(pack.trip.current_stop || 0);
    const from = position(pack, record.from);
    return answer("boarded", words, { ticket, warning: from !== null && from !== here ? "wrong_stop" : null });
  }

  // The check of one text, n times over: the median and the mean in milliseconds (nothing is
  // queued). The browser rounds performance.now() to 0.1 ms, so a median of 0 means "under that";
  // the mean (all n over their total) is finer. bench/boarding_phone.py and the scan page's
  // window.tmsScanner.timeVerify call it.
  async function timeVerify(pack, text, n, words) {
    const times = [];
    const begin = performance.now();
    for (let i = 0; i < n; i += 1) {
      const start = performance.now();
      await verify(pack, text, [], words || {});
      times.push(performance.now() - start);
    }
    const total = performance.now() - begin;
    times.sort((a, b) => a - b);
    return { median: times[Math.floor(times.length / 2)], mean: total / n };
  }

  window.tmsOffline = { store, decode, verify, timeVerify };
})();
