// The driver's ticket scanner (home/driver/scan.html): the camera (the browser's BarcodeDetector,
// else jsQR on canvas frames) or a typed code → the server's answer, or, with no network, the
// phone's own (scanner-offline.js) queued for upload. The answer fills the screen with a colour,
// an icon and one word, buzzes and beeps, and goes after 4 s or a tap. Every word the driver reads
// comes from the page (translated), none from here. window.tmsScanner is the hook the browser
// tests and the bench use: decodeImage(url) reads a picture, timeVerify(text, n) times the
// on-phone check.
(function () {
  "use strict";

  const SHOW_MS = 4000; // the page may set another time in data-answer-ms
  const UNDO_MS = 120000;
  const FETCH_MS = 5000; // longer than this and the phone answers by itself
  const SYNC_EVERY_MS = 15000;
  const PACK_EVERY_MS = 300000;
  const FRAME_MS = 150;
  const SAME_TICKET_MS = 6000;
  const RECENT = 20;
  const DEVICE_KEY = "tms.device";
  const TONES = {
    boarded: "success",
    already_boarded: "warning",
    wrong_trip: "danger",
    not_paid: "danger",
    cancelled: "danger",
    forged: "danger",
    unreadable: "danger",
    error: "danger",
  };
  const ICONS = { success: "✓", warning: "!", danger: "✕" };

  // A random UUID. crypto.randomUUID is for secure pages only; getRandomValues works everywhere,
  // so a scan page reached over plain http still names its scans.
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // The phone's name on answers and the manifest ("phone-3f2a91c0"): short enough to read out,
  // and 32 random bits tell one company's phones apart.
  function deviceId() {
    let id = null;
    try {
      id = localStorage.getItem(DEVICE_KEY);
      if (!id) {
        id = `phone-${uuid().slice(0, 8)}`;
        localStorage.setItem(DEVICE_KEY, id);
      }
    } catch (error) {
      id = id || `phone-${uuid().slice(0, 8)}`; // storage off: one id for this page's life
    }
    return id;
  }

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // JSON to and from the page's routes; throws on a network failure or a timeout.
  async function call(url, body) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), FETCH_MS);
    try {
      const response = await fetch(url, {
        method: body === undefined ? "GET" : "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        signal: abort.signal,
      });
      if (response.status >= 500) throw new Error(`server ${response.status}`);
      return { status: response.status, data: await response.json() };
    } finally {
      clearTimeout(timer);
    }
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, name) => (values[name] === undefined ? "" : String(values[name])));
  }

  function scanner(root) {
    const part = (name) => root.querySelector(`[data-${name}]`);
    const words = JSON.parse(document.getElementById("scanner-words").textContent);
    const tripId = Number(root.dataset.trip);
    const device = deviceId();
    const offline = window.tmsOffline;
    let pack = null;
    let queued = [];
    let recent = [];
    let hideTimer = null;
    let syncing = false;
    let stream = null;
    let frameTimer = null;
    let reading = false;
    let lastRead = { text: null, at: 0 };
    let audio = null;
    let detector = null;
    const canvas = document.createElement("canvas");

    // --- the pack and the queue ---------------------------------------------------------------

    async function loadPack() {
      try {
        const { status, data } = await call(root.dataset.packUrl);
        if (status === 200) {
          pack = data;
          await offline.store.savePack(pack);
        }
      } catch (error) {
        // no network: the pack kept from before, if any
      }
      if (!pack) {
        pack = (await offline.store.pack(tripId)) || null;
        if (pack) pack.trip.current_stop = Number(root.dataset.stop); // the page knows better than an old pack
      }
      part("pack").textContent = pack ? words.pack_ready : words.pack_missing;
      root.dataset.pack = pack ? "ready" : "missing";
    }

    async function loadQueue() {
      queued = await offline.store.queue(tripId);
      queued.sort((a, b) => a.scanned_at.localeCompare(b.scanned_at));
      banner();
    }

    function isOffline() {
      return navigator.onLine === false || root.dataset.network === "down";
    }

    function banner() {
      const line = part("banner");
      const n = queued.length;
      let text = "";
      if (isOffline()) text = n === 0 ? words.offline_none : n === 1 ? words.offline_one : format(words.offline_many, { n });
      else if (n) text = n === 1 ? words.waiting_one : format(words.waiting_many, { n });
      line.textContent = text;
      line.hidden = !text;
      line.dataset.waiting = String(n);
      line.classList.toggle("is-offline", isOffline());
    }

    // The queued scans to the server; its answers replace the phone's.
    async function sync() {
      if (syncing || !queued.length || navigator.onLine === false) return;
      syncing = true;
      try {
        const scans = queued.map((scan) => ({
          scan_id: scan.scan_id,
          [scan.qr ? "qr" : "code"]: scan.qr || scan.code,
          stop: scan.stop,
          scanned_at: scan.scanned_at,
          result_on_device: scan.answer.result,
        }));
        const { status, data } = await call(root.dataset.batchUrl, { device, scans });
        if (status !== 200) return;
        root.dataset.network = "up";
        for (const answer of data.answers) {
          await offline.store.dequeue(answer.scan_id);
          queued = queued.filter((scan) => scan.scan_id !== answer.scan_id);
          remember({ ...answer, offline: true, synced: true }, answer.scan_id);
        }
        await loadQueue();
        refreshManifest();
      } catch (error) {
        root.dataset.network = "down";
        banner();
      } finally {
        syncing = false;
      }
    }

    // --- a scan ---------------------------------------------------------------------------------

    async function scan(text) {
      const value = text.trim();
      if (!value) return;
      const isCode = value.length <= 12;
      const scanId = uuid();
      const body = { scan_id: scanId, device, stop: pack ? pack.trip.current_stop : Number(root.dataset.stop || 0) };
      body[isCode ? "code" : "qr"] = isCode ? value.toUpperCase() : value;
      let answer = null;
      if (!isOffline()) {
        try {
          const { status, data } = await call(root.dataset.scanUrl, body);
          answer = status === 200 ? data : { result: "error", message: data.error ? data.error.message : "", ticket: null };
          root.dataset.network = "up";
          if (answer.result === "boarded" && pack && answer.ticket) markBoarded(answer.ticket.code);
        } catch (error) {
          root.dataset.network = "down";
        }
      }
      if (!answer) answer = await onPhone(value, body);
      banner();
      show(answer, scanId);
      remember(answer, scanId);
      if (!answer.offline) refreshManifest();
      return answer;
    }

    async function onPhone(value, body) {
      if (!pack) return { result: "unreadable", message: words.pack_missing, offline: true, ticket: null };
      const answer = { ...(await offline.verify(pack, value, queued, words.messages)), scan_id: body.scan_id };
      if (answer.result === "boarded") {
        const scan = {
          ...body,
          trip_id: tripId,
          code: answer.ticket.code,
          scanned_at: new Date().toISOString(),
          answer,
        };
        await offline.store.enqueue(scan);
        queued.push(scan);
      }
      return answer;
    }

    function markBoarded(code) {
      const record = pack.tickets.find((t) => t.code === code);
      if (record) {
        record.boarded_at = new Date().toISOString();
        record.boarded_device = device;
      }
    }

    // --- the answer on the screen ---------------------------------------------------------------

    function show(answer, scanId) {
      const screen = part("answer");
      const tone = TONES[answer.result] || "danger";
      screen.className = `scan-answer tone-${tone}`;
      screen.dataset.result = answer.result;
      part("answer-icon").textContent = ICONS[tone];
      part("answer-word").textContent = words.results[answer.result] || answer.result;
      const warning = part("answer-warning");
      warning.hidden = answer.warning !== "wrong_stop";
      warning.textContent = warning.hidden ? "" : words.wrong_stop;
      part("answer-message").textContent = answer.message || words.messages[answer.result] || "";
      part("answer-details").replaceChildren(...details(answer));
      part("answer-queued").hidden = !(answer.offline && answer.result === "boarded");
      const undo = part("undo");
      undo.hidden = answer.result !== "boarded";
      undo.dataset.scan = scanId;
      screen.hidden = false;
      undo.hidden ? part("answer-close").focus() : undo.focus();
      buzz(tone);
      clearTimeout(hideTimer);
      hideTimer = setTimeout(hide, Number(root.dataset.answerMs) || SHOW_MS);
    }

    function details(answer) {
      const rows = [];
      const add = (term, value) => {
        if (value === null || value === undefined || value === "") return;
        const dt = document.createElement("dt");
        dt.textContent = term;
        const dd = document.createElement("dd");
        dd.textContent = value;
        rows.push(dt, dd);
      };
      const t = answer.ticket;
      if (t) {
        add(words.labels.name, t.name);
        add(words.labels.seat, t.seat);
        add(words.labels.journey, `${t.from} → ${t.to}`);
        add(words.labels.class, words.classes[t.class] || t.class);
        add(words.labels.code, t.code);
      }
      if (answer.result === "already_boarded") {
        add(words.labels.when, answer.boarded_at ? clock(answer.boarded_at) : "");
        add(words.labels.device, answer.boarded_device);
      }
      const other = answer.other_trip;
      if (other) add(words.labels.trip, [other.date, other.departs_at && clock(other.departs_at), other.route, other.plate].filter(Boolean).join(" · "));
      return rows;
    }

    function clock(iso) {
      const when = new Date(iso);
      if (Number.isNaN(when.getTime())) return iso;
      return new Intl.DateTimeFormat(document.documentElement.lang || "en", {
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
        timeZone: root.dataset.timeZone || "Africa/Kigali",
      }).format(when);
    }

    function hide() {
      clearTimeout(hideTimer);
      part("answer").hidden = true;
      part("code").focus({ preventScroll: true });
    }

    function buzz(tone) {
      if (navigator.vibrate) navigator.vibrate(tone === "success" ? 120 : [200, 100, 200]);
      try {
        audio = audio || new AudioContext();
        const beep = (start, frequency) => {
          const osc = audio.createOscillator();
          const gain = audio.createGain();
          osc.frequency.value = frequency;
          gain.gain.value = 0.2;
          osc.connect(gain).connect(audio.destination);
          osc.start(audio.currentTime + start);
          osc.stop(audio.currentTime + start + 0.12);
        };
        if (tone === "success") beep(0, 1320);
        else {
          beep(0, 330);
          beep(0.18, 330);
        }
      } catch (error) {
        // no sound on this phone: the screen and the vibration say it
      }
    }

    // --- recent scans and undo --------------------------------------------------------------------

    function remember(answer, scanId) {
      const at = Date.now();
      const index = recent.findIndex((item) => item.scanId === scanId);
      const item = { scanId, answer, at: index >= 0 ? recent[index].at : at };
      if (index >= 0) recent[index] = item;
      else recent.unshift(item);
      recent = recent.slice(0, RECENT);
      drawRecent();
    }

    function drawRecent() {
      const list = part("recent");
      list.replaceChildren(
        ...recent.map((item) => {
          const li = document.createElement("li");
          const a = item.answer;
          li.className = `recent-scan tone-${TONES[a.result] || "danger"}`;
          li.dataset.result = a.result;
          li.dataset.scan = item.scanId;
          const word = document.createElement("strong");
          word.textContent = words.results[a.result] || a.result;
          const who = document.createElement("span");
          who.textContent = a.ticket ? ` ${a.ticket.name || a.ticket.code} · ${a.ticket.seat}` : "";
          li.append(word, who);
          const waiting = queued.some((scan) => scan.scan_id === item.scanId);
          let note = a.offline ? words.checked_here : "";
          if (waiting) note = words.queued;
          else if (a.duplicate) note = words.duplicate;
          else if (a.synced) note = words.synced;
          if (note) {
            const small = document.createElement("span");
            small.className = "recent-note";
            small.textContent = ` · ${note}`;
            li.append(small);
          }
          return li;
        })
      );
      part("recent-empty").hidden = recent.length > 0;
    }

    async function undo(scanId) {
      const item = recent.find((r) => r.scanId === scanId);
      if (!item || !item.answer.ticket || Date.now() - item.at > UNDO_MS) return;
      const code = item.answer.ticket.code;
      const waiting = queued.find((scan) => scan.scan_id === scanId);
      let answer;
      if (waiting) {
        await offline.store.dequeue(scanId); // never left the phone: forget it
        await loadQueue();
        answer = { ...item.answer, result: "undone" };
      } else {
        try {
          const { status, data } = await call(root.dataset.undoUrl.replace("__CODE__", encodeURIComponent(code)), { device });
          if (status !== 200) {
            part("answer-message").textContent = data.message || words.undo_failed;
            return;
          }
          answer = { ...data, result: "undone" };
          const record = pack && pack.tickets.find((t) => t.code === code);
          if (record) record.boarded_at = null;
        } catch (error) {
          part("answer-message").textContent = words.undo_offline;
          return;
        }
      }
      recent = recent.filter((r) => r.scanId !== scanId);
      drawRecent();
      hide();
      part("status").textContent = format(words.undone, { code });
      refreshManifest();
      return answer;
    }

    function refreshManifest() {
      document.body.dispatchEvent(new CustomEvent("tms:scanned"));
    }

    // --- the camera -------------------------------------------------------------------------------

    async function makeDetector() {
      if (!("BarcodeDetector" in window)) return null;
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
      } catch (error) {
        return null;
      }
    }

    // The QR text in an image, video frame or canvas; null when there is none.
    async function read(source, width, height) {
      if (detector === null) detector = (await makeDetector()) || false;
      if (detector) {
        const codes = await detector.detect(source);
        return codes.length ? codes[0].rawValue : null;
      }
      if (!window.jsQR || !width || !height) return null;
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(source, 0, 0, width, height);
      const found = window.jsQR(context.getImageData(0, 0, width, height).data, width, height, { inversionAttempts: "dontInvert" });
      return found ? found.data : null;
    }

    async function frame() {
      const video = part("camera");
      if (!stream || reading || !part("answer").hidden || video.readyState < 2) return;
      reading = true;
      try {
        const text = await read(video, video.videoWidth, video.videoHeight);
        // The ticket still held up after its answer is not a second scan.
        if (text && !(text === lastRead.text && Date.now() - lastRead.at < SAME_TICKET_MS)) await scan(text);
        if (text) lastRead = { text, at: Date.now() };
      } finally {
        reading = false;
      }
    }

    async function startCamera() {
      const button = part("camera-toggle");
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      } catch (error) {
        part("status").textContent = words.camera_refused;
        return;
      }
      const video = part("camera");
      video.srcObject = stream;
      video.hidden = false;
      await video.play().catch(() => {});
      button.textContent = words.camera_stop;
      button.setAttribute("aria-pressed", "true");
      frameTimer = setInterval(frame, FRAME_MS);
    }

    function stopCamera() {
      clearInterval(frameTimer);
      if (stream) stream.getTracks().forEach((track) => track.stop());
      stream = null;
      const video = part("camera");
      video.srcObject = null;
      video.hidden = true;
      const button = part("camera-toggle");
      button.textContent = words.camera_start;
      button.setAttribute("aria-pressed", "false");
    }

    // --- wiring -----------------------------------------------------------------------------------

    part("code-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = part("code");
      const value = input.value;
      input.value = "";
      scan(value);
    });
    part("answer").addEventListener("click", (event) => {
      if (!event.target.closest("[data-undo]")) hide();
    });
    part("answer").addEventListener("keydown", (event) => {
      if (event.key === "Escape") hide();
    });
    part("undo").addEventListener("click", (event) => undo(event.currentTarget.dataset.scan));
    part("camera-toggle").addEventListener("click", () => (stream ? stopCamera() : startCamera()));
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) part("camera-toggle").hidden = true;
    window.addEventListener("online", () => {
      root.dataset.network = "up";
      banner();
      sync();
    });
    window.addEventListener("offline", banner);
    document.body.addEventListener("htmx:afterSettle", () => {
      const manifest = document.getElementById("driver-manifest"); // Depart stop moves the bus on
      if (!manifest) return;
      if (root.dataset.stop === manifest.dataset.currentStop) return;
      root.dataset.stop = manifest.dataset.currentStop;
      if (pack) pack.trip.current_stop = Number(manifest.dataset.currentStop);
      if (!isOffline()) loadPack(); // the no-shows just made are revoked
    });
    setInterval(sync, SYNC_EVERY_MS);
    // Tickets sold since: a fresh pack now and then while the network is there.
    setInterval(() => {
      if (!isOffline() && !queued.length) loadPack();
    }, PACK_EVERY_MS);

    const ready = (async () => {
      await loadQueue();
      await loadPack();
      drawRecent();
      await sync();
      root.dataset.ready = "true";
    })();

    window.tmsScanner = {
      ready,
      scan,
      undo,
      sync,
      // Read a picture (a URL: data: or our own) as if the camera had seen it, and scan its QR.
      async decodeImage(url) {
        const image = new Image();
        image.src = url;
        await image.decode();
        const text = await read(image, image.naturalWidth, image.naturalHeight);
        if (text) return scan(text);
        const answer = { result: "unreadable", message: words.messages.unreadable, ticket: null, offline: false };
        show(answer, uuid());
        return answer;
      },
      // The on-phone check of one text, n times: the median in milliseconds (nothing is queued).
      timeVerify: (text, n) => offline.timeVerify(pack, text, n, words.messages),
    };
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.querySelector("[data-scanner]");
    if (root) scanner(root);
  });
})();
