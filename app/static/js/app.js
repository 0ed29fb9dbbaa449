// Page behaviour shared by every surface. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  const offline = () => document.getElementById("offline-notice");

  function setOffline(isOffline) {
    const notice = offline();
    if (notice) notice.hidden = !isOffline;
  }

  // A shared phone keeps no passenger's name once its driver signs out: on a signed-out visitor's
  // page, the driver's pages kept for a dead zone (driver.js, driver-sw.js) and the scanner's
  // offline packs (scanner-offline.js) go. Scans still waiting to be sent are boardings the server
  // has not heard of: they stay, without the names, and go up the next time a driver opens that
  // trip's scan page with signal; with none waiting the whole database goes.
  function forgetPassengers() {
    const request = indexedDB.open("tms-boarding"); // no version: opens what is there, if anything
    request.onupgradeneeded = () => request.transaction.abort(); // nothing there: create nothing
    request.onerror = () => {};
    request.onsuccess = () => {
      const db = request.result;
      const tx = db.transaction(["packs", "queue"], "readwrite");
      tx.objectStore("packs").clear();
      let waiting = 0;
      tx.objectStore("queue").openCursor().onsuccess = (event) => {
        const cursor = event.target.result;
        if (!cursor) return;
        waiting += 1;
        const scan = cursor.value;
        if (scan.answer && scan.answer.ticket) scan.answer.ticket = { code: scan.answer.ticket.code };
        cursor.update(scan);
        cursor.continue();
      };
      tx.oncomplete = () => {
        db.close();
        if (!waiting) indexedDB.deleteDatabase("tms-boarding");
      };
    };
  }

  if (document.body.hasAttribute("data-signed-out")) {
    if ("caches" in window) caches.delete("tms-driver").catch(() => {});
    if ("indexedDB" in window) forgetPassengers();
  }

  window.addEventListener("online", () => setOffline(false));
  window.addEventListener("offline", () => setOffline(true));

  // A request that never reached the server: say so instead of failing silently.
  document.addEventListener("htmx:sendError", () => setOffline(true));
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail && event.detail.xhr && event.detail.xhr.status > 0) setOffline(false);
  });

  // Toasts fade away after a while; errors stay a little longer.
  document.addEventListener("htmx:afterSwap", (event) => {
    const region = document.getElementById("toasts");
    if (!region || event.detail.target !== region) return;
    for (const toast of region.querySelectorAll(".toast:not([data-timed])")) {
      toast.dataset.timed = "1";
      const delay = toast.classList.contains("toast-error") ? 8000 : 4000;
      setTimeout(() => toast.remove(), delay);
    }
  });
})();

// Seat picker: seat buttons toggle, hidden inputs carry the choice, at most data-max seats.
(function () {
  "use strict";

  function refresh(form) {
    const chosen = [...form.querySelectorAll("input[type=hidden][name=seats]")].map((input) => input.value);
    const summary = form.querySelector("[data-seat-summary]");
    if (!summary) return;
    // the page gives the sentences in the reader's language
    const none = summary.dataset.none || "No seat chosen yet.";
    const some = summary.dataset.chosen || "Chosen: {seats}";
    summary.textContent = chosen.length ? some.replace("{seats}", chosen.join(", ")) : none;
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-seat-picker] .seat-button");
    if (!button || button.disabled) return;
    const form = button.closest("form");
    const label = button.dataset.seat;
    const existing = form.querySelector(`input[type=hidden][name=seats][value="${CSS.escape(label)}"]`);
    if (existing) {
      existing.remove();
      button.setAttribute("aria-pressed", "false");
      button.classList.remove("seat-selected");
    } else {
      const max = Number(form.dataset.max || 6);
      if (form.querySelectorAll("input[type=hidden][name=seats]").length >= max) {
        const summary = form.querySelector("[data-seat-summary]");
        if (summary) summary.textContent = summary.dataset.tooMany || `You can choose at most ${max} seats.`;
        return;
      }
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "seats";
      input.value = label;
      form.appendChild(input);
      button.setAttribute("aria-pressed", "true");
      button.classList.add("seat-selected");
    }
    refresh(form);
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-seat-picker]").forEach(refresh);
  });
})();

// Countdown of a hold: "9 min 58 s" left (the words come from the page, in its language); at zero
// the page says so and forms stop.
(function () {
  "use strict";

  function start(element) {
    const deadline = Date.now() + Number(element.dataset.countdown) * 1000;
    const text = element.querySelector("[data-countdown-text]");
    const format = element.dataset.countdownFormat || "%(minutes)s min %(seconds)s s";
    const tick = () => {
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      if (text) {
        text.textContent = format
          .replace("%(minutes)s", String(Math.floor(left / 60)))
          .replace("%(seconds)s", String(left % 60));
      }
      if (left === 0) {
        clearInterval(timer);
        element.textContent =
          element.dataset.countdownOver || "Time ran out: your seats were released. Please choose them again.";
        element.classList.add("field-error");
        document.querySelectorAll("[data-countdown-form] button").forEach((button) => (button.disabled = true));
      }
    };
    const timer = setInterval(tick, 1000);
    tick();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-countdown]").forEach(start);
  });
})();

// Menus that collapse on phones: the Menu button opens and closes the panel it controls.
(function () {
  "use strict";

  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-menu-toggle]");
    if (!toggle) return;
    const menu = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) return;
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    menu.toggleAttribute("data-open", open);
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const toggle = document.querySelector("[data-menu-toggle][aria-expanded=true]");
    if (!toggle) return;
    toggle.setAttribute("aria-expanded", "false");
    document.getElementById(toggle.getAttribute("aria-controls"))?.removeAttribute("data-open");
    toggle.focus();
  });
})();

// Confirmation dialogs (macros/dialog.html): the trigger opens a native <dialog>, Cancel or
// Escape closes it, focus goes back to the trigger; an htmx form inside closes it once it succeeds.
(function () {
  "use strict";

  const openers = new WeakMap();

  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.dialogOpen);
      if (!dialog || typeof dialog.showModal !== "function") return; // no dialog support: follow the link
      event.preventDefault();
      openers.set(dialog, opener);
      dialog.showModal();
      return;
    }
    const closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      closer.closest("dialog")?.close();
      return;
    }
    // a click on the backdrop (the dialog element itself, outside its form) closes it
    if (event.target instanceof HTMLDialogElement && event.target.open) event.target.close();
  });

  document.addEventListener(
    "close",
    (event) => {
      const dialog = event.target;
      if (!(dialog instanceof HTMLDialogElement)) return;
      const opener = openers.get(dialog);
      if (opener && opener.isConnected) opener.focus();
    },
    true,
  );

  document.addEventListener("htmx:afterRequest", (event) => {
    const dialog = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("dialog");
    if (dialog && dialog.open && event.detail.successful) dialog.close();
  });
})();
