// Sidebar selection for bulk actions (shift-click selects a range) and the search shortcut.
(() => {
  "use strict";

  const bar = () => document.querySelector("[data-bulk-bar]");
  const boxes = () => Array.from(document.querySelectorAll("input[data-bulk-select]"));
  let anchor = null;

  function sync() {
    const form = bar();
    if (!form) return;
    const count = boxes().filter((box) => box.checked).length;
    form.hidden = count === 0;
    const label = form.querySelector("[data-bulk-count]");
    if (label) label.textContent = `${count} selected`;
  }

  document.addEventListener("click", (event) => {
    const box = event.target instanceof Element && event.target.closest("input[data-bulk-select]");
    if (box) {
      if (event.shiftKey && anchor && anchor !== box && anchor.isConnected) {
        const all = boxes();
        const [from, to] = [all.indexOf(anchor), all.indexOf(box)].sort((a, b) => a - b);
        if (from >= 0) all.slice(from, to + 1).forEach((each) => { each.checked = box.checked; });
      }
      anchor = box;
      sync();
      return;
    }
    if (event.target instanceof Element && event.target.closest("[data-bulk-clear]")) {
      boxes().forEach((each) => { each.checked = false; });
      anchor = null;
      sync();
    }
  });

  // Ask before deleting; stop the event before htmx sees it when the answer is no.
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    const question = button && button.dataset.bulkConfirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.elt === bar() && event.detail.successful) {
      boxes().forEach((each) => { each.checked = false; });
      anchor = null;
      sync();
    }
  });
  // Rows come and go as the sidebar re-renders.
  document.addEventListener("htmx:afterSettle", sync);

  // "/" or Ctrl+K (Cmd+K) jumps to the search box.
  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof Element &&
      event.target.closest("input, textarea, select, [contenteditable='true']");
    const slash = event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey;
    const ctrlK = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k";
    if (!slash && !ctrlK) return;
    const input = document.querySelector("#search-query") || document.querySelector("[data-search-input]");
    if (!input) return;
    event.preventDefault();
    input.focus();
    input.select();
  });
})();
