// The little the server cannot do: keyboard, scrolling, copy, menus and dialogs.
// No inline handlers and no eval: the page runs under a strict Content-Security-Policy.
(function () {
  "use strict";

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const desktop = window.matchMedia("(min-width: 900px)");
  let stickToBottom = true;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function toast(text) {
    const box = $("#toast");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
      button.classList.add("is-copied");
      setTimeout(() => button.classList.remove("is-copied"), 1200);
    } catch (err) {
      toast("Copy failed: the browser refused access to the clipboard.");
    }
  }

  // --- Clock -------------------------------------------------------------------------------
  // The server shows times in the zone the `tz` cookie names (core/timezone.py). Set it once,
  // again when the browser's zone changes; a page just rendered in another zone that shows
  // times reloads once (the cookie then matches, so it never loops).
  (function syncTimeZone() {
    let zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (err) { return; }
    if (!/^[A-Za-z0-9_+\-]+(\/[A-Za-z0-9_+\-]+)*$/.test(zone) || zone.length > 64) return;
    const cookie = () => (document.cookie.match(/(?:^|;\s*)tz=([^;]*)/) || [])[1];
    if (cookie() === zone) return;
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax" + secure;
    const rendered = document.documentElement.dataset.timeZone;
    if (cookie() === zone && rendered && rendered !== zone && $("time, #sidebar")) location.reload();
  })();

  // --- Scrolling -------------------------------------------------------------------------
  function scroller() { return $("[data-chat-scroll]"); }

  function scrollToBottom() {
    const box = scroller();
    if (box) box.scrollTop = box.scrollHeight;
    stickToBottom = true;
  }

  document.addEventListener("scroll", (event) => {
    const box = event.target;
    if (!(box instanceof Element) || !box.matches("[data-chat-scroll]")) return;
    stickToBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }, true);

  // --- Composer ----------------------------------------------------------------------------
  function composer() { return $("#composer"); }

  // Browsers with `field-sizing` grow the box in CSS; others get more rows here. Not an inline
  // height: htmx copies a style attribute while it settles a swap, which the CSP refuses.
  const cssSizing = window.CSS && CSS.supports("field-sizing", "content");
  function autosize(area) {
    if (cssSizing) return;
    area.rows = 1;
    const line = parseFloat(getComputedStyle(area).lineHeight) || 22;
    area.rows = Math.max(1, Math.min(10, Math.round((area.scrollHeight - 8) / line)));
  }

  function syncGenerating() {
    const form = composer();
    if (!form) return;
    const running = !!$('#message-list article[data-status="in_progress"]');
    form.classList.toggle("is-generating", running);
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "composer") return;
    const field = $("[data-client-id]", form);
    // One id per draft: a retried send of the same text creates nothing new.
    if (field && !field.value) field.value = uuid();
    stickToBottom = true;
    // A flash ("Welcome, …") sits over the chat title; the first send is when it has been read.
    $$(".flash").forEach((flash) => flash.remove());
  }, true);

  document.addEventListener("input", (event) => {
    const area = event.target;
    if (area.matches && area.matches("[data-composer-input]")) {
      autosize(area);
    }
  });

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing &&
        target.matches && target.matches("[data-composer-input]")) {
      event.preventDefault();
      const form = target.form;
      if (!target.value.trim() || form.classList.contains("is-generating")) return;
      form.requestSubmit($("[data-send]", form));
      return;
    }
    if ((event.ctrlKey || event.metaKey) && event.shiftKey && event.key.toLowerCase() === "o") {
      event.preventDefault();
      const link = $("[data-new-chat]");
      if (link) link.click();
      return;
    }
    if (event.key === "Escape") {
      if (target.matches && target.matches("[data-rename-input]")) {
        const cancel = $("[data-rename-cancel]", target.form);
        if (cancel) cancel.click();
      }
      $$("details[data-menu][open]").forEach((menu) => menu.removeAttribute("open"));
      closeSidebar();
    }
  });

  // "New chat" on the empty pane only focuses the box (a reload would race with typing).
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element && event.target.closest("[data-new-chat]");
    const area = $("#composer [data-composer-input]");
    if (link && area && !$("#chat-pane[data-conversation]") && !$(".notice-error")) {
      event.preventDefault();
      event.stopPropagation();
      area.focus();
      closeSidebar();
    }
  }, true);

  // --- Menus, dialogs, sidebar -------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    $$("details[data-menu][open]").forEach((menu) => {
      if (!menu.contains(target) || target.closest(".menu-item")) {
        // Let the item act first, then fold the menu away.
        setTimeout(() => menu.removeAttribute("open"), 0);
      }
    });
    const copyMessage = target.closest("[data-copy-message]");
    if (copyMessage) {
      const body = $(".message-body", copyMessage.closest("article"));
      if (body) copyText(body.innerText.trim(), copyMessage);
    }
    const copyField = target.closest("[data-copy]");
    if (copyField) {
      // data-copy names the element holding the text, e.g. a share link's read-only input.
      const source = $(copyField.dataset.copy);
      if (source) copyText(source.value || source.textContent.trim(), copyField);
    }
    const copyCode = target.closest("[data-copy-code]");
    if (copyCode) {
      const code = $("pre", copyCode.closest(".codeblock"));
      if (code) copyText(code.innerText, copyCode);
    }
    if (target.closest("[data-dialog-close]")) {
      const dialog = target.closest("dialog");
      if (dialog) dialog.close();
    }
    if (target.closest("[data-edit-cancel]")) {
      target.closest("details").removeAttribute("open");
    }
    if (target.closest("[data-sidebar-toggle]")) toggleSidebar();
    else if (target.closest("[data-sidebar-close]")) closeSidebar();
  });

  // A sidebar row links to its actions page; with JavaScript the menu opens in place instead:
  // the server's menu replaces the link, so the list never renders a menu per row.
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element && event.target.closest("a.row-menu-button");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    event.stopPropagation();  // Before the boosted list sees it.
    $$("details[data-menu][open]").forEach((menu) => menu.removeAttribute("open"));
    const row = link.closest(".row");
    htmx.ajax("GET", link.href, { target: link, swap: "outerHTML" }).then(() => {
      const item = row && $("details[data-menu] .menu-item", row);
      if (item) item.focus();
    });
  }, true);

  document.addEventListener("toggle", (event) => {
    const section = event.target;
    if (!(section instanceof HTMLDetailsElement)) return;
    // An open edit box hides its pencil, so the focus moves into the box.
    if (section.open && section.matches("[data-edit]")) {
      const area = $("textarea", section);
      if (area) area.focus();
    }
    // A section the user folds or unfolds stays that way on the next page (the server reads it).
    if (section.dataset.remember) {
      const state = section.open ? "open" : "closed";
      document.cookie = `${section.dataset.remember}=${state}; path=/; max-age=31536000; SameSite=Lax`;
    }
  }, true);

  document.addEventListener("toggle", (event) => {
    const menu = event.target;
    if (!(menu instanceof HTMLDetailsElement) || !menu.open || !menu.matches("[data-menu]")) return;
    $$("details[data-menu][open]").forEach((other) => {
      if (other !== menu) other.removeAttribute("open");
    });
  }, true);

  function setSidebar(open) {
    const cls = desktop.matches ? "sidebar-collapsed" : "sidebar-open";
    document.body.classList.toggle(cls, desktop.matches ? !open : open);
    const backdrop = $(".backdrop");
    if (backdrop) backdrop.hidden = desktop.matches || !open;
    $$("[data-sidebar-toggle]").forEach((b) => b.setAttribute("aria-expanded", String(open)));
  }
  function sidebarOpen() {
    return desktop.matches
      ? !document.body.classList.contains("sidebar-collapsed")
      : document.body.classList.contains("sidebar-open");
  }
  function toggleSidebar() { setSidebar(!sidebarOpen()); }
  function closeSidebar() { if (!desktop.matches) setSidebar(false); }
  desktop.addEventListener("change", () => {
    document.body.classList.remove("sidebar-open", "sidebar-collapsed");
    setSidebar(desktop.matches);
  });

  // Highlight the open conversation; its heading follows the title the sidebar shows.
  function markCurrent() {
    const path = window.location.pathname;
    const heading = $("#chat-title");
    $$("#conversation-list .row").forEach((row) => {
      const link = $(".row-link", row);
      const current = !!link && link.getAttribute("href") === path;
      row.classList.toggle("is-current", current);
      if (!link) return;
      if (current) {
        link.setAttribute("aria-current", "page");
        const title = $(".row-title", link).textContent;
        if (heading && heading.textContent !== title) {
          heading.textContent = title;
          document.title = title + " · Chat";
        }
      } else {
        link.removeAttribute("aria-current");
      }
    });
  }

  // --- Enhancing new content ---------------------------------------------------------------
  const pending = new Set();

  function decorateCode(root) {
    $$(".markdown pre", root).forEach((pre) => {
      if (pre.parentElement.classList.contains("codeblock")) return;
      const wrap = document.createElement("div");
      wrap.className = "codeblock";
      const head = document.createElement("div");
      head.className = "codeblock-head";
      const lang = document.createElement("span");
      lang.textContent = pre.dataset.lang || "code";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "codeblock-copy";
      button.dataset.copyCode = "";
      button.textContent = "Copy";
      head.append(lang, button);
      pre.replaceWith(wrap);
      wrap.append(head, pre);
    });
  }

  function isFinal(article) { return article.dataset.status !== "in_progress"; }

  function enhance() {
    const roots = Array.from(pending);
    pending.clear();
    roots.forEach((root) => {
      if (!root.isConnected) return;
      decorateCode(root.matches(".markdown pre") ? root.parentElement : root);
      if (root.matches("dialog[data-modal]") && !root.open) root.showModal();
      $$("[data-composer-input]", root).forEach(autosize);
    });
    syncGenerating();
    markCurrent();
    if (stickToBottom) scrollToBottom();
  }

  new MutationObserver((records) => {
    records.forEach((record) => record.addedNodes.forEach((node) => {
      if (node instanceof Element) pending.add(node);
    }));
    if (pending.size) queueMicrotask(enhance);
  }).observe(document.documentElement, { childList: true, subtree: true });

  document.addEventListener("close", (event) => {
    if (event.target.matches && event.target.matches("dialog[data-modal]")) event.target.remove();
  }, true);

  // --- htmx hooks --------------------------------------------------------------------------
  let keepFromBottom = null;

  document.addEventListener("htmx:beforeSwap", (event) => {
    // The sidebar list was replaced while a refresh ran: put the newer rows in the live one.
    const stale = event.detail.target;
    if (stale && !stale.isConnected && stale.id === "conversation-list") {
      event.detail.target = document.getElementById(stale.id) || stale;
    }
    const target = event.detail.target;
    // A 404 only replaces the chat pane ("Conversation not found"); elsewhere it is a notice.
    if (event.detail.xhr.status === 404 && target && !target.matches("main")) {
      event.detail.shouldSwap = false;
      toast("Not found: it may have been deleted in another tab.");
      return;
    }
    if (target && target.matches(".load-older")) {
      const box = scroller();
      keepFromBottom = box ? box.scrollHeight - box.scrollTop : null;
      stickToBottom = false;
    }
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (keepFromBottom !== null) {
      const box = scroller();
      if (box) box.scrollTop = box.scrollHeight - keepFromBottom;
      keepFromBottom = null;
    } else if (target && (target.matches("main") || target.id === "message-list" || !target.isConnected)) {
      scrollToBottom();
    }
  });

  // The raw HTML of each streaming reply's tail, as the server sent it (deltas apply to it).
  const tails = new WeakMap();

  // Whether a frame numbered `next` may apply to a reply's article, and the tail it then
  // shows: keep that many UTF-16 units of the last tail, add the delta.
  function nextTail(article, next, keep, delta) {
    if (isFinal(article) || next < Number(article.dataset.seq || 0)) return null;
    article.dataset.seq = String(next);
    const tail = (keep ? (tails.get(article) || "").slice(0, keep) : "") + delta;
    tails.set(article, tail);
    return tail;
  }

  // A frame that closes no block comes as text, not HTML: "@tail <name> <seq> <keep>", a
  // newline, then the delta (conversations/engine/blocks.py tail_frame). htmx never sees
  // it. The name is the socket's short alias of the reply, defined by its first use as
  // "<public id>=<alias>" (a reconnected socket defines its aliases again).
  const aliases = new WeakMap();
  document.addEventListener("htmx:wsBeforeMessage", (event) => {
    const text = event.detail.message;
    if (typeof text !== "string" || !text.startsWith("@tail ")) return;
    event.preventDefault();
    const socket = event.detail.socketWrapper || document;
    if (!aliases.has(socket)) aliases.set(socket, new Map());
    const names = aliases.get(socket);
    const newline = text.indexOf("\n");
    const [, name, seq, keep] = text.slice(0, newline).split(" ");
    const [id, alias] = name.split("=");
    if (alias) names.set(alias, id);
    const target = document.getElementById(`message-${alias ? id : names.get(id)}-tail`);
    const article = target && target.closest("article.message");
    if (!article) return;
    const tail = nextTail(article, Number(seq), Number(keep), text.slice(newline + 1));
    if (tail !== null) target.innerHTML = tail;
  });

  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    // New messages come from the send response and the websocket: the second copy is dropped.
    // A new branch replaces the message it branches from and everything after it.
    const current = event.detail.target;
    const incoming = event.detail.fragment && event.detail.fragment.firstElementChild;
    const batch = event.detail.fragment;
    if (batch && batch.matches && batch.matches("[data-append-once]")) {
      const replaced = batch.dataset.replaces && document.getElementById(batch.dataset.replaces);
      if ((incoming && document.getElementById(incoming.id)) || (batch.dataset.replaces && !replaced)) {
        event.detail.shouldSwap = false;
      } else if (replaced) {
        while (replaced.nextElementSibling) replaced.nextElementSibling.remove();
        replaced.remove();
      }
      return;
    }
    // A late streaming frame must not turn a finished reply back into a running one.
    if (current && incoming && current.matches("article.message") &&
        isFinal(current) && !isFinal(incoming)) {
      event.detail.shouldSwap = false;
      return;
    }
    // A streamed frame (closed blocks, then the tail) applies once, in order, and never to a
    // reply that has ended; `data-seq` on its article says which frame it shows.
    const wrapper = event.detail.fragment;
    const kind = wrapper && wrapper.getAttribute && wrapper.getAttribute("data-frame");
    const article = kind && current && current.closest("article.message");
    if (!article) return;
    const shown = Number(article.dataset.seq || 0);
    const next = Number(wrapper.getAttribute("data-seq"));
    if (isFinal(article) || next < shown || (kind === "append" && next === shown)) {
      event.detail.shouldSwap = false;
    } else if (kind !== "tail") {
      article.dataset.seq = String(next);
    } else {
      // The tail of a frame that also closed blocks: it comes as text too.
      const tail = nextTail(article, next, Number(wrapper.getAttribute("data-keep") || 0),
        wrapper.getAttribute("data-delta") || "");
      if (tail === null) event.detail.shouldSwap = false;
      else wrapper.innerHTML = tail;
    }
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const elt = event.detail.elt;
    if (!event.detail.successful || !(elt instanceof Element)) return;
    const dialog = elt.closest("dialog[data-modal]");
    if (dialog) dialog.close();
  });

  document.addEventListener("htmx:afterSettle", () => {
    if (document.activeElement === document.body) {
      const area = $("#composer [data-composer-input]:not([disabled])");
      if (area && desktop.matches) area.focus();
    }
  });

  document.addEventListener("htmx:pushedIntoHistory", () => { markCurrent(); closeSidebar(); });
  window.addEventListener("popstate", markCurrent);

  document.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    if (status >= 500) toast("Something went wrong on the server. Try again.");
    else if (status === 403 && !event.detail.xhr.responseText) toast("You are not allowed to do that.");
  });
  document.addEventListener("htmx:sendError", () => toast("The server cannot be reached. Check your connection."));

  document.addEventListener("DOMContentLoaded", () => {
    decorateCode(document);
    $$("[data-composer-input]").forEach(autosize);
    setSidebar(desktop.matches);
    syncGenerating();
    scrollToBottom();
    setTimeout(() => $$(".flash").forEach((flash) => flash.remove()), 5000);
  });
})();
