// classmill web UI: the little behaviour the server-rendered pages need. Loaded before Alpine.js,
// so the components below exist when Alpine starts.
"use strict";

// Times arrive as "YYYY-MM-DD HH:MM UTC"; show them in the browser's time zone, in the same shape.
function showLocalTimes(root) {
  const pad = (n) => String(n).padStart(2, "0");
  for (const el of root.querySelectorAll("time[data-local]")) {
    const when = new Date(el.getAttribute("datetime"));
    if (isNaN(when)) continue;
    el.textContent = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())} ` +
                     `${pad(when.getHours())}:${pad(when.getMinutes())}`;
    el.title = el.getAttribute("datetime");
  }
}

document.addEventListener("DOMContentLoaded", () => showLocalTimes(document));
document.addEventListener("htmx:afterSwap", (event) => showLocalTimes(event.target));

document.addEventListener("alpine:init", () => {
  // A read-only field with a Copy button (x-ref="text"). The clipboard API needs a secure context
  // (https or localhost); elsewhere the text is selected and copied the old way.
  window.Alpine.data("copyText", () => ({
    copied: false,
    failed: false,
    async copy() {
      const field = this.$refs.text;
      this.failed = false;
      try {
        await navigator.clipboard.writeText(field.value);
      } catch (error) {
        field.select();
        if (!document.execCommand("copy")) {
          this.failed = true;
          return;
        }
      }
      this.copied = true;
      setTimeout(() => { this.copied = false; }, 2500);
    },
  }));
});
