// The console's trip manifest refreshes itself when boarding changes: /ws/console/trips/<id> says
// that something happened (never who), and htmx fetches the manifest again. Needs livemap.js
// (window.tmsLive, for the socket that comes back after a loss) and htmx.
(function () {
  "use strict";

  const live = window.tmsLive;
  const root = document.querySelector("[data-manifest-socket]");
  if (!live || !root) return;
  const status = root.querySelector("[data-manifest-status]");
  const words = { open: status ? status.textContent : "", other: root.dataset.offlineText || "" };
  let pending = null;

  function refresh() {
    // Several scans in a burst reload once.
    clearTimeout(pending);
    pending = setTimeout(() => window.htmx && window.htmx.trigger(root, "manifest-changed"), 250);
  }

  live.connect(root.dataset.manifestSocket, {
    onMessage(message) {
      if (message.event) refresh();
    },
    onState(state) {
      root.dataset.live = state;
      const down = state === "waiting" || state === "refused" || state === "stopped";
      if (status) status.textContent = down ? words.other : words.open;
      if (state === "open") refresh(); // catch up on what happened while the socket was down
    },
  });
})();
