// classmill web UI: the new-task form (preset values, inline checks) and the task page (live progress over
// Server-Sent Events, uPlot curves, controls, log). Loaded before Alpine.js (defer, in document order).
"use strict";

const ACTIVE_STATES = ["queued", "running"];
const RESUMABLE_STATES = ["paused", "stopped", "interrupted", "failed"];

function fill(template, value) {
  return (template || "").replace("{0}", value);
}

// ---- the new-task form ----

function setUpTaskForm(form) {
  const fields = [...form.querySelectorAll("[data-option]")];
  const edited = new Set();  // options the visitor changed: a preset switch leaves them alone
  for (const box of fields) {
    const input = box.querySelector("input:not([type=hidden]), select");
    input.addEventListener("input", () => { edited.add(box.dataset.option); checkOption(form, box); });
    input.addEventListener("blur", () => checkOption(form, box));
  }
  for (const choice of form.querySelectorAll("[data-preset-choice]")) {
    choice.addEventListener("change", () => {
      for (const box of fields) {
        if (edited.has(box.dataset.option)) continue;
        const value = JSON.parse(box.dataset.presetDefaults)[choice.value];
        const input = box.querySelector("input:not([type=hidden]), select");
        if (input.type === "checkbox") input.checked = value === true;
        else input.value = value === null || value === undefined ? "" : String(value);
        checkOption(form, box);
      }
    });
  }
  form.addEventListener("change", (event) => {
    if (event.target.name === "classes") checkClasses(form);
  });
  form.addEventListener("submit", (event) => {
    const problems = fields.filter((box) => !checkOption(form, box));
    const classesOk = checkClasses(form);
    const formError = form.querySelector("[data-form-error]");
    if (problems.length || !classesOk) {
      event.preventDefault();
      formError.textContent = form.dataset.msgFix;
      formError.hidden = false;
      if (problems.length) {
        form.querySelector("details.advanced").open = true;
        problems[0].querySelector("input, select").focus();
      } else {
        form.querySelector("input[name=classes]:not(:disabled)")?.focus();
      }
    } else {
      formError.hidden = true;
    }
  });
}

function showFieldError(box, input, message) {
  const error = box.querySelector("[data-field-error]");
  error.textContent = message;
  error.hidden = !message;
  if (input) {
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
  return !message;
}

// The bounds of the option spec the page was drawn from (GET /api/v1/tasks/options gives the same).
function checkOption(form, box) {
  const input = box.querySelector("input:not([type=hidden]), select");
  if (input.type === "checkbox" || input.tagName === "SELECT") return true;
  const type = box.dataset.type, text = input.value.trim(), msg = form.dataset;
  if (type !== "int" && type !== "float") return showFieldError(box, input, "");
  if (text === "") return showFieldError(box, input, "nullable" in box.dataset ? "" : msg.msgRequired);
  const value = Number(text);
  if (!Number.isFinite(value)) return showFieldError(box, input, type === "int" ? msg.msgInt : msg.msgNumber);
  if (type === "int" && !Number.isInteger(value)) return showFieldError(box, input, msg.msgInt);
  const bound = (name) => (input.dataset[name] ?? box.dataset[name]);
  if (bound("min") !== undefined && value < Number(bound("min"))) return showFieldError(box, input, fill(msg.msgMin, bound("min")));
  if (bound("max") !== undefined && value > Number(bound("max"))) return showFieldError(box, input, fill(msg.msgMax, bound("max")));
  if (bound("exclusiveMin") !== undefined && value <= Number(bound("exclusiveMin")))
    return showFieldError(box, input, fill(msg.msgAbove, bound("exclusiveMin")));
  if (bound("exclusiveMax") !== undefined && value >= Number(bound("exclusiveMax")))
    return showFieldError(box, input, fill(msg.msgBelow, bound("exclusiveMax")));
  return showFieldError(box, input, "");
}

function checkClasses(form) {
  const box = form.querySelector(".class-choices");
  const chosen = form.querySelectorAll("input[name=classes]:checked").length;
  return showFieldError(box, null, chosen >= 2 ? "" : form.dataset.msgClasses);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("[data-task-form]")) setUpTaskForm(form);
});

// ---- the task page ----

function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), rest = s % 60;
  return h ? `${h} h ${m} min` : m ? `${m} min ${rest} s` : `${rest} s`;
}

function percent(value) {
  return value === null || value === undefined ? "—" : `${(100 * value).toFixed(1)} %`;
}

// One curve chart: points by x (epochs, fractional within an epoch), one uPlot series per named value.
class CurveChart {
  constructor(element, series) {
    this.element = element;
    this.names = series.map((s) => s.key);
    this.points = new Map();  // x -> {key: y}
    this.plot = new window.uPlot({
      width: Math.max(280, element.clientWidth), height: 220,
      scales: { x: { time: false } },
      // accuracy reads in % as everywhere else on the pages (its values are fractions)
      axes: [{ label: series.xLabel }, series.percent ? { values: (u, splits) => splits.map((v) => `${+(100 * v).toFixed(1)} %`) } : {}],
      // the x readout like the others: "—" until the pointer is over the chart (uPlot's own is "--")
      series: [{ label: series.xLabel, value: (u, v) => (v === null || v === undefined ? "—" : v.toFixed(2)) },
               ...series.map((s) => ({
        label: s.label, stroke: s.colour, width: 2, spanGaps: true, points: { show: true, size: 5 },
        value: (u, v) => (v === null || v === undefined ? "—" : series.percent ? percent(v) : v.toFixed(4)) }))],
      legend: { show: true },
    }, [[], ...series.map(() => [])], element);
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(280, element.clientWidth), height: 220 }))
      .observe(element);
  }

  add(x, values) {
    const entry = this.points.get(x) || {};
    let changed = false;
    for (const [key, y] of Object.entries(values)) {
      if (this.names.includes(key) && y !== null && y !== undefined && Number.isFinite(y)) {
        entry[key] = y;
        changed = true;
      }
    }
    if (changed) this.points.set(x, entry);
    return changed;
  }

  draw() {
    const xs = [...this.points.keys()].sort((a, b) => a - b);
    this.plot.setData([xs, ...this.names.map((key) => xs.map((x) => this.points.get(x)[key] ?? null))]);
    this.element.dataset.points = String(xs.length);
  }
}

document.addEventListener("alpine:init", () => {
  window.Alpine.data("taskLive", () => ({
    state: "", phase: "", error: "", queuePosition: null, busy: false, actionError: "", actionOriginal: "",
    summary: null, fraction: 0, log: "", hasPoints: false, hasAccuracy: false, newVersions: [], knownVersions: [],
    lastLine: 0, source: null, charts: null,

    init() {
      const data = this.$root.dataset;
      this.state = data.state;
      this.error = data.error;
      this.queuePosition = data.queuePosition ? Number(data.queuePosition) : null;
      this.knownVersions = JSON.parse(data.modelVersions);
      // How long a training event takes to move the curve (the event's own time, written by the trainer,
      // to the frame after the chart took the point): kept for the browser test and the measurement.
      window.classmillCurveDelays = [];
      this.$nextTick(() => { this.charts = this.makeCharts(); this.follow(); });
    },

    makeCharts() {
      const data = this.$root.dataset;
      const box = (name) => this.$root.querySelector(`[data-chart="${name}"]`);
      const loss = [{ key: "loss", label: data.labelLoss, colour: "#1d4ed8" },
                    { key: "val_loss", label: data.labelValLoss, colour: "#b45309" }];
      loss.xLabel = data.labelEpoch;
      const accuracy = [{ key: "val_acc", label: data.labelValAcc, colour: "#15803d" },
                        { key: "train_acc", label: data.labelTrainAcc, colour: "#7c3aed" }];
      accuracy.xLabel = data.labelEpoch;
      accuracy.percent = true;
      return { loss: new CurveChart(box("loss"), loss), accuracy: new CurveChart(box("accuracy"), accuracy) };
    },

    get active() { return ACTIVE_STATES.includes(this.state); },
    get resumable() { return RESUMABLE_STATES.includes(this.state); },
    get hasVersions() { return this.knownVersions.length > 0; },
    get failure() { return ["failed", "interrupted"].includes(this.state) ? this.error : ""; },

    get statusText() {
      const t = this.$root.dataset;
      if (this.state === "queued") {
        return this.queuePosition && this.queuePosition > 1 ? fill(t.textQueued, this.queuePosition) : t.textQueuedNext;
      }
      if (this.state === "running") {
        if (this.phase === "starting" || this.phase === "queued" || !this.phase) return t.textStarting;
        if (this.phase === "train") return t.textTrain;
        if (this.phase === "evaluate" || this.phase === "export") return t.textEvaluate;
        return fill(t.textPreparing, this.phase);
      }
      return t[`text${this.state.charAt(0).toUpperCase()}${this.state.slice(1)}`] || this.state;
    },
    get percentText() { return this.state === "queued" ? "" : `${Math.round(100 * this.fraction)} %`; },
    get epochText() {
      const s = this.summary;
      return s && s.epochs !== null ? `${s.epoch} / ${s.epochs}` : "—";
    },
    get stepText() {
      // A pause or stop records the step it checkpointed at: where Resume continues from.
      const s = this.summary, shown = ["running", "paused", "stopped"].includes(this.state);
      return shown && s && s.steps_per_epoch ? `${s.step} / ${s.steps_per_epoch}` : "—";
    },
    get speedText() {
      const s = this.summary;
      return s && s.images_per_s ? s.images_per_s.toFixed(1) : "—";
    },
    get etaText() { return this.active && this.summary ? formatSeconds(this.summary.eta_s) : "—"; },
    get bestText() {
      const s = this.summary;
      if (!s || s.best_metric === null || s.best_metric === undefined) return "—";
      // the metric is named, in the page's language, in the tile's title: the value stays one short line
      return `${percent(s.best_metric)} · ${this.$root.dataset.labelEpoch} ${s.best_epoch}`;
    },

    follow() {
      if (this.source) this.source.close();
      const url = `/api/v1/jobs/${this.$root.dataset.jobId}/events` + (this.lastLine ? `?last_event_id=${this.lastLine}` : "");
      const source = new EventSource(url);
      this.source = source;
      source.addEventListener("job", (e) => this.onJob(JSON.parse(e.data)));
      source.addEventListener("summary", (e) => this.onSummary(JSON.parse(e.data)));
      for (const type of ["step", "epoch", "head_warmup"]) {
        source.addEventListener(type, (e) => this.onLine(type, JSON.parse(e.data), e.lastEventId));
      }
      for (const type of ["start", "progress", "status"]) {
        source.addEventListener(type, (e) => { this.lastLine = Number(e.lastEventId) || this.lastLine; });
      }
      source.addEventListener("end", (e) => {
        source.close();
        this.source = null;
        this.state = JSON.parse(e.data).state === "deleted" ? this.state : JSON.parse(e.data).state;
        this.refreshTask();
      });
      source.onerror = () => {
        // The browser reconnects by itself (with Last-Event-ID) unless the stream was closed for good.
        if (source.readyState === EventSource.CLOSED && this.active) setTimeout(() => this.follow(), 2000);
      };
    },

    onJob(job) {
      this.state = job.state;
      this.phase = job.progress_phase;
      this.error = job.error || "";
      this.queuePosition = job.queue_position;
      if (job.progress_phase === "train" && job.progress_total) this.fraction = job.progress_done / job.progress_total;
      if (job.state === "succeeded") this.fraction = 1;
    },

    onSummary(summary) {
      this.summary = summary;
      if (summary.epochs && summary.steps_per_epoch) {
        this.fraction = Math.min(1, (summary.epoch + summary.step / summary.steps_per_epoch) / Math.max(summary.epochs, 1));
      }
    },

    onLine(type, event, id) {
      this.lastLine = Number(id) || this.lastLine;
      let grew = false;
      if (type === "step" && event.steps_per_epoch) {
        grew = this.charts.loss.add(event.epoch + event.step / event.steps_per_epoch, { loss: event.loss });
      } else if (type === "head_warmup") {
        const val = event.val || {};
        grew = this.charts.loss.add(0, { val_loss: val.loss }) | this.charts.accuracy.add(0, { val_acc: val.top1 });
      } else if (type === "epoch") {
        const val = event.val || {};
        grew = this.charts.loss.add(event.epoch, { loss: event.train_loss, val_loss: val.loss }) |
               this.charts.accuracy.add(event.epoch, { val_acc: val.top1, train_acc: event.train_top1 });
      }
      if (!grew) return;
      this.charts.loss.draw();
      this.charts.accuracy.draw();
      this.hasPoints = true;
      this.hasAccuracy = this.charts.accuracy.points.size > 0;
      if (typeof event.time === "number") {
        requestAnimationFrame(() => window.classmillCurveDelays.push(Date.now() / 1000 - event.time));
      }
    },

    async refreshTask() {
      const answer = await fetch(`/api/v1/tasks/${this.$root.dataset.taskId}`, { credentials: "same-origin" });
      if (!answer.ok) return;
      const task = await answer.json();
      this.onJob(task.job);
      this.newVersions = task.model_versions.filter((v) => !this.knownVersions.includes(v.id));
      this.knownVersions = task.model_versions.map((v) => v.id);
    },

    versionLabel(version) {
      return fill(this.$root.querySelector("[data-version-label]").dataset.versionLabel, version.number);
    },

    async control(action, body) {
      this.busy = true;
      this.actionError = this.actionOriginal = "";
      try {
        const answer = await fetch(`/api/v1/tasks/${this.$root.dataset.taskId}/${action}`, {
          method: "POST", credentials: "same-origin",
          headers: { "X-CSRF-Token": this.$root.dataset.csrf, "Content-Type": "application/json" },
          body: body ? JSON.stringify(body) : null,
        });
        const data = await answer.json();
        if (!answer.ok) {
          // a refusal whose code the page has in its language (web/error_texts.py), the API's words beneath
          const known = JSON.parse(this.$root.dataset.errors || "{}")[data.code];
          const [detail, fix] = known || [data.detail || "", data.fix || ""];
          this.actionError = `${this.$root.dataset.textActionFailed} ${detail} ${fix}`.trim();
          if (known) this.actionOriginal = data.detail || "";
          return;
        }
        this.onJob(data.job);
        if (this.active && !this.source) this.follow();  // a resumed or extended task streams again
      } finally {
        this.busy = false;
      }
    },

    extend() {
      const epochs = Number(this.$refs.extendEpochs.value);
      if (!this.$refs.extendEpochs.reportValidity()) return;
      this.control("extend", { epochs });
    },

    async loadLog() {
      const answer = await fetch(`/api/v1/jobs/${this.$root.dataset.jobId}/log`, { credentials: "same-origin" });
      const text = answer.ok ? await answer.text() : "";
      this.log = text.trim() ? text : this.$root.dataset.textLogEmpty;
    },
  }));
});
