// classmill web UI, dataset pages: the zip import (upload progress, cancel, following the job) and the
// gallery (selection, confirmation, lightbox). Loaded before Alpine.js, like app.js.
"use strict";

(() => {
  const csrf = () => JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
  const readJson = (el, name) => JSON.parse(el.getAttribute(name) || "{}");
  const megabytes = (n) => (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MB";
  const POLL_MS = 700;

  // Shared by the zip import and the images dropped into a class: the upload with XMLHttpRequest (fetch reports no
  // upload progress), then the import job polled to its end; a refusal shows the API's detail and fix.
  // Methods, not getters: a spread copies a getter's value, not the getter. The component has messages, phase, percent, sent, size, job, busy, uploading, xhr and refuse().
  const uploadAndFollow = {
    uploadedText() { return `${megabytes(this.sent)} ${this.messages.of} ${megabytes(this.size)} (${this.percent} %)`; },
    jobText() {
      if (!this.job) return "";
      const phase = (this.messages.phases || {})[this.job.progress_phase] || this.job.progress_phase;
      return this.job.progress_total ? `${phase}: ${this.job.progress_done} / ${this.job.progress_total}` : phase;
    },
    send(url, body, contentType) {
      this.busy = this.uploading = true;
      this.phase = "upload"; this.sent = 0; this.percent = 0;
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open("POST", url);
      if (contentType) xhr.setRequestHeader("Content-Type", contentType);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.upload.onprogress = (event) => {
        if (!event.lengthComputable) return;
        this.sent = event.loaded; this.size = event.total;
        this.percent = Math.floor((100 * event.loaded) / event.total);
      };
      xhr.onload = () => {
        this.uploading = false; this.xhr = null;
        let answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (error) { answer = {}; }
        if (xhr.status === 202) { this.percent = 0; this.job = answer; this.phase = "job"; this.follow(answer.id); return; }
        // a refusal whose code the page has in its language (web/error_texts.py): that, with the API's own words
        // beneath, since they name the value refused; otherwise the API's words
        const known = (this.messages.errors || {})[answer.code];
        if (known) return this.refuse(known[0], known[1], capital(answer.detail || ""));
        this.refuse(answer.detail ? capital(answer.detail) : `HTTP ${xhr.status}`, answer.fix);
      };
      xhr.onerror = () => { this.xhr = null; this.refuse(this.messages.network, this.messages.network_fix); };
      xhr.onabort = () => { this.xhr = null; this.busy = this.uploading = false; this.phase = "cancelled"; this.percent = 0; };
      xhr.send(body);
    },
    async follow(jobId) {
      const answer = await fetch(`/api/v1/jobs/${jobId}`, { headers: { Accept: "application/json" } });
      const job = await answer.json();
      this.job = job;
      this.percent = job.progress_total ? Math.floor((100 * job.progress_done) / job.progress_total) : 0;
      if (job.state === "succeeded") { this.phase = "done"; this.percent = 100; window.location.reload(); return; }
      if (["failed", "stopped", "interrupted"].includes(job.state)) {
        return this.refuse(capital(job.error || job.state), this.messages.failed_fix);
      }
      setTimeout(() => this.follow(jobId), POLL_MS);
    },
  };

  document.addEventListener("alpine:init", () => {
    // Upload a zip as the raw body of POST /api/v1/datasets/{id}/imports with XMLHttpRequest (fetch reports no
    // upload progress), then poll the import job until it ends; a refusal shows the API's detail and fix.
    window.Alpine.data("zipImport", (datasetId, maxBytes, importing) => ({
      ...uploadAndFollow,
      messages: {}, chosen: false, busy: false, uploading: false, phase: importing ? "waiting" : "",
      percent: 0, sent: 0, size: 0, job: null, error: "", fix: "", original: "", xhr: null,

      init() {
        this.messages = readJson(this.$el, "data-messages");
        if (importing) this.waitForDataset();
      },
      pick() { this.chosen = this.$refs.file.files.length > 0; this.error = ""; },
      refuse(detail, fix, original) {
        this.error = detail; this.fix = fix || ""; this.original = original || "";
        this.busy = this.uploading = false; this.phase = "";
      },

      start() {
        const file = this.$refs.file.files[0];
        if (!file || this.busy) return;
        this.error = this.fix = this.original = "";
        if (file.size > maxBytes) return this.refuse(this.messages.too_large, this.messages.too_large_fix);
        this.size = file.size;
        this.send(`/api/v1/datasets/${datasetId}/imports`, file, "application/zip");
      },
      cancel() { if (this.xhr) this.xhr.abort(); },

      // The page was opened while an import ran (from here or the API): reload once the dataset's status moves on.
      async waitForDataset() {
        const answer = await fetch(`/api/v1/datasets/${datasetId}`, { headers: { Accept: "application/json" } });
        const dataset = await answer.json();
        if (dataset.status === "importing") setTimeout(() => this.waitForDataset(), 2 * POLL_MS);
        else window.location.reload();
      },
    }));

    // Images dropped (or chosen) into one class: POST /api/v1/datasets/{id}/classes/{label}/images, field 'files'.
    window.Alpine.data("classDrop", (datasetId, maxBytes) => ({
      ...uploadAndFollow,
      messages: {}, label: "", over: false, busy: false, uploading: false, phase: "", percent: 0, sent: 0, size: 0,
      job: null, error: "", fix: "", original: "", xhr: null,

      init() { this.messages = readJson(this.$el, "data-messages"); },
      get intoText() { return (this.$refs.files.dataset.into || "").replace("{label}", this.label.trim()); },
      refuse(detail, fix, original) {
        this.error = detail; this.fix = fix || ""; this.original = original || "";
        this.busy = this.uploading = false; this.phase = "";
      },
      choose() { if (!this.busy) this.$refs.files.click(); },
      picked() { this.upload(Array.from(this.$refs.files.files)); this.$refs.files.value = ""; },
      dropped(event) { this.over = false; this.upload(Array.from(event.dataTransfer.files)); },
      droppedOnClass(detail) { if (this.busy) return; this.label = detail.label; this.upload(Array.from(detail.files)); },
      upload(files) {
        if (this.busy || !files.length) return;
        this.error = this.fix = this.original = "";
        const label = this.label.trim();
        if (!label) return this.refuse(this.messages.no_class, "");
        const total = files.reduce((sum, file) => sum + file.size, 0);
        if (total > maxBytes) return this.refuse(this.messages.too_large, this.messages.too_large_fix);
        const form = new FormData();
        files.forEach((file) => form.append("files", file, file.name));
        this.size = total;
        this.send(`/api/v1/datasets/${datasetId}/classes/${encodeURIComponent(label)}/images`, form, null);
      },
    }));

    // The gallery: selected tiles (checkboxes in the edit form), the confirmation of an edit, the lightbox.
    window.Alpine.data("gallery", () => ({
      tiles: [], messages: {}, selected: [], action: "relabel", label: "", newClass: "", split: "train",
      confirming: false, current: null, zoom: 1,

      init() {
        this.tiles = readJson(this.$el, "data-tiles");
        if (!Array.isArray(this.tiles)) this.tiles = [];
        this.messages = readJson(this.$el, "data-messages");
        const firstClass = this.$el.querySelector("#edit-label option");
        this.label = firstClass ? firstClass.value : "";
        // Stepping past a page's edge in the lightbox continues on the next (or previous) page.
        if (window.location.hash === "#first" && this.tiles.length) this.open(0);
        if (window.location.hash === "#last" && this.tiles.length) this.open(this.tiles.length - 1);
      },
      get selectedText() { return (this.messages.selected || "").replace("{count}", this.selected.length); },
      get ready() {
        if (!this.selected.length) return false;
        if (this.action === "relabel") return Boolean(this.label);
        if (this.action === "new_class") return this.newClass.trim().length > 0;
        return true;
      },
      get question() {
        const splitName = this.split ? this.messages[this.split] : this.messages.no_split;
        const label = this.action === "new_class" ? this.newClass.trim() : this.label;
        return (this.messages[this.action] || "").replace("{count}", this.selected.length)
          .replace("{label}", label).replace("{split}", splitName);
      },
      selectPage() { this.selected = this.tiles.map((t) => t.hash); },
      ask() { if (this.ready) { this.confirming = true; this.$nextTick(() => this.$refs.yes.focus()); } },

      get tile() { return this.current === null ? null : this.tiles[this.current]; },
      get position() { return this.current === null ? "" : `${this.current + 1} / ${this.tiles.length}`; },
      get hasPrev() { return this.current > 0 || Boolean(this.$el.dataset.prevPage); },
      get hasNext() { return this.current < this.tiles.length - 1 || Boolean(this.$el.dataset.nextPage); },
      // objects, not strings: Alpine sets those through CSSOM, which the pages' CSP (no inline styles) allows
      get zoomStyle() {
        // at 100 % the image fills the stage (small images grow too); zoomed, it is wider than the stage and scrolls
        return this.zoom > 1 ? { width: `${this.zoom * 100}%`, height: "auto" } : { width: "100%", height: "100%" };
      },
      open(index) { this.current = index; this.zoom = 1; this.$nextTick(() => this.$refs.close.focus()); },
      close() {
        const was = this.current;
        this.current = null;
        if (window.location.hash) history.replaceState(null, "", window.location.pathname + window.location.search);
        this.$nextTick(() => { const b = this.$el.querySelectorAll(".tile-open")[was]; if (b) b.focus(); });
      },
      prev() {
        if (this.current > 0) { this.current -= 1; this.zoom = 1; } else if (this.$el.dataset.prevPage) window.location = this.$el.dataset.prevPage + "#last";
      },
      next() {
        if (this.current < this.tiles.length - 1) { this.current += 1; this.zoom = 1; } else if (this.$el.dataset.nextPage) window.location = this.$el.dataset.nextPage + "#first";
      },
      zoomIn() { this.zoom = Math.min(8, this.zoom * 2); },
      zoomOut() { this.zoom = Math.max(1, this.zoom / 2); },
      zoomReset() { this.zoom = 1; },
      key(event) {
        if (this.current === null) return;
        const keys = { ArrowLeft: () => this.prev(), ArrowRight: () => this.next(), Escape: () => this.close(),
                       "+": () => this.zoomIn(), "=": () => this.zoomIn(), "-": () => this.zoomOut() };
        if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
      },
    }));
  });

  // The API's details follow "error: "; on the page they stand alone (as web/forms.py does for pages).
  function capital(text) { return text ? text[0].toUpperCase() + text.slice(1) : text; }
})();
