// Page behaviour shared by every surface. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  const offline = () => document.getElementById("offline-notice");

  function setOffline(isOffline) {
    const notice = offline();
    if (notice) notice.hidden = !isOffline;
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
