// From and To: a combobox over the town and bus park list the server sends as the passenger types
// (ARIA combobox pattern with a listbox popup). Arrow keys move through the options, Enter or a tap
// picks one, Escape closes the list. Without this script the fields are plain text, which the
// server understands just as well.
(function () {
  "use strict";

  const boxes = (root) => root.querySelectorAll("[data-combobox]");
  const parts = (box) => ({
    input: box.querySelector("[role=combobox]"),
    list: box.querySelector("[role=listbox]"),
    status: box.querySelector("[role=status]"),
  });
  const options = (list) => [...list.querySelectorAll("[role=option]")];

  function open(box, isOpen) {
    const { input, list } = parts(box);
    list.hidden = !isOpen;
    input.setAttribute("aria-expanded", String(isOpen));
    if (!isOpen) {
      input.removeAttribute("aria-activedescendant");
      for (const option of options(list)) option.setAttribute("aria-selected", "false");
    }
  }

  function activate(box, option) {
    const { input, list } = parts(box);
    for (const other of options(list)) other.setAttribute("aria-selected", String(other === option));
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    }
  }

  function pick(box, option) {
    const { input, status } = parts(box);
    input.value = option.dataset.value;
    open(box, false);
    if (status) status.textContent = "";
    input.focus();
  }

  // A new list arrived: show it (or hide an empty one) and say how many places it offers.
  document.addEventListener("htmx:afterSwap", (event) => {
    const box = event.detail.target.closest("[data-combobox]");
    if (!box || event.detail.target.getAttribute("role") !== "listbox") return;
    const { input, list, status } = parts(box);
    const count = options(list).length;
    open(box, count > 0 && document.activeElement === input);
    if (status) status.textContent = (list.dataset[count ? "found" : "none"] || "").replace("{count}", count);
  });

  document.addEventListener("keydown", (event) => {
    const input = event.target;
    if (input.getAttribute?.("role") !== "combobox") return;
    const box = input.closest("[data-combobox]");
    const { list } = parts(box);
    const all = options(list);
    const current = all.findIndex((option) => option.getAttribute("aria-selected") === "true");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) return;
      event.preventDefault();
      if (list.hidden) open(box, true);
      const step = event.key === "ArrowDown" ? 1 : -1;
      const next = current < 0 ? (step > 0 ? 0 : all.length - 1) : (current + step + all.length) % all.length;
      activate(box, all[next]);
    } else if (event.key === "Enter" && !list.hidden && current >= 0) {
      event.preventDefault(); // pick the place; the next Enter searches
      pick(box, all[current]);
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      open(box, false);
    } else if (event.key === "Tab") {
      open(box, false);
    }
  });

  // Keep the focus in the field while a pointer is on the list, so the tap can pick.
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest("[data-combobox] [role=listbox]")) event.preventDefault();
  });
  document.addEventListener("click", (event) => {
    const option = event.target.closest("[data-combobox] [role=option]");
    if (option) {
      pick(option.closest("[data-combobox]"), option);
      return;
    }
    for (const box of boxes(document)) if (!box.contains(event.target)) open(box, false);
  });
  document.addEventListener("focusout", (event) => {
    const box = event.target.closest?.("[data-combobox]");
    if (box && !box.contains(event.relatedTarget)) open(box, false);
  });
})();
