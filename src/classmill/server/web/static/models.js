// Model version pages: live threshold what-ifs, the images behind a confusion cell or a class's mistakes,
// INT8 on request, single-image and batch tests. Everything talks to the JSON API (same origin, the login
// cookie, and the page's CSRF token on unsafe requests); the texts come from the page, already translated.
"use strict";

const modelPages = (() => {
  const csrf = () => JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";

  // The API's refusal in its own words ("detail" and "fix"), or the HTTP status.
  async function problem(response) {
    try {
      const body = await response.json();
      const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      return body.fix ? `${detail} ${body.fix}` : detail;
    } catch (error) {
      return `HTTP ${response.status}`;
    }
  }

  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    if (body !== undefined && !(body instanceof FormData)) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined || body instanceof FormData ? body : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(await problem(response));
    return response.status === 204 ? null : response.json();
  }

  const pct = (value) => (value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)} %`);
  // Texts with {name} slots, translated by the page.
  const fill = (format, values) => format.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
  const show = (el, text) => { if (el) { if (text !== undefined) el.textContent = text; el.hidden = false; } };
  const hide = (el) => { if (el) el.hidden = true; };

  function thumbs(list, images, answerOf) {
    const template = document.getElementById("thumb-template");
    list.replaceChildren(...images.map((image) => {
      const item = template.content.firstElementChild.cloneNode(true);
      const name = image.original_name || image.hash.slice(0, 12);
      item.querySelector("a").href = image.image_url;
      item.querySelector("img").src = image.thumbnail_url;
      item.querySelector("img").alt = name;
      item.querySelector(".thumb-name").textContent = name;
      item.querySelector(".thumb-answer").textContent = answerOf(image);
      return item;
    }));
  }

  // ---- per-class thresholds: preview as the slider moves (debounced, newest answer wins), save ----
  function thresholds(root) {
    const id = root.dataset.versionId;
    const saved = JSON.parse(root.dataset.deployed);
    const suggested = JSON.parse(root.dataset.suggested);
    const rows = [...root.querySelectorAll("tbody tr[data-class]")];
    const slider = (row) => row.querySelector("input[type=range]");
    const current = () => Object.fromEntries(rows.map((row) => [row.dataset.class, Number(slider(row).value)]));
    let timer = null;
    let asked = 0;

    for (const mark of root.querySelectorAll(".suggested-mark")) {
      // Where the slider's thumb sits at that value (the thumb is 16 px wide, the track a little shorter).
      mark.style.left = `calc(${Number(mark.dataset.at) * 100}% + ${8 - Number(mark.dataset.at) * 16}px)`;
    }

    function dirty() {
      const changed = rows.some((row) => Math.abs(Number(slider(row).value) - (saved[row.dataset.class] ?? 0)) > 1e-9);
      root.querySelector("[data-unsaved]").hidden = !changed;
      if (changed) hide(root.querySelector("[data-saved]"));
    }

    async function preview() {
      const mine = ++asked;
      try {
        const answer = await api("POST", `/api/v1/models/${id}/thresholds/preview`, { thresholds: current() });
        if (mine !== asked) return;  // a newer position was asked meanwhile
        hide(root.querySelector("[data-error]"));
        for (const point of answer.classes) {
          const row = rows.find((r) => r.dataset.class === point.name);
          if (!row) continue;
          row.querySelector("[data-stat=precision]").textContent = pct(point.precision);
          row.querySelector("[data-stat=recall]").textContent = pct(point.recall);
          row.querySelector("[data-stat=coverage]").textContent = pct(point.coverage);
          row.querySelector("[data-stat=uncertain]").textContent = point.uncertain;
        }
        const overall = root.querySelector("[data-overall]");
        overall.querySelector("[data-stat=answered]").textContent = `${answer.overall.answered} / ${answer.overall.n_images}`;
        overall.querySelector("[data-stat=uncertain]").textContent = answer.overall.uncertain;
        overall.querySelector("[data-stat=accuracy]").textContent = pct(answer.overall.accuracy);
      } catch (error) {
        if (mine === asked) show(root.querySelector("[data-error]"), error.message);
      }
    }

    function moved() {
      for (const row of rows) row.querySelector("output").textContent = Number(slider(row).value).toFixed(2);
      dirty();
      clearTimeout(timer);
      timer = setTimeout(preview, 120);
    }

    function setAll(values) {
      for (const row of rows) {
        if (row.dataset.class in values) slider(row).value = values[row.dataset.class];
      }
      moved();
    }

    for (const row of rows) slider(row).addEventListener("input", moved);
    root.querySelector("[data-use-suggested]").addEventListener("click", () => setAll(suggested));
    root.querySelector("[data-reset]").addEventListener("click", () => setAll(saved));
    root.querySelector("[data-save]").addEventListener("click", async () => {
      try {
        const version = await api("PUT", `/api/v1/models/${id}/thresholds`, { thresholds: current() });
        Object.assign(saved, version.thresholds);
        hide(root.querySelector("[data-error]"));
        dirty();
        show(root.querySelector("[data-saved]"));
      } catch (error) {
        show(root.querySelector("[data-error]"), error.message);
      }
    });
    preview();
  }

  // ---- the images of a confusion-matrix cell ----
  function confusionPanel(root) {
    const id = root.dataset.versionId;
    const panel = root.querySelector("[data-panel]");
    let opener = null;
    root.querySelector("[data-panel-close]").addEventListener("click", () => {
      panel.hidden = true;
      if (opener) opener.focus();
    });
    for (const button of root.querySelectorAll(".cm-cell button")) {
      button.addEventListener("click", async () => {
        opener = button;
        const { true: truth, predicted, count } = button.dataset;
        const query = new URLSearchParams({ true: truth, predicted, limit: "48" });
        const page = await api("GET", `/api/v1/models/${id}/confusion?${query}`);
        panel.querySelector("[data-panel-title]").textContent = fill(root.dataset.titleFormat,
          { truth, predicted, count });
        thumbs(panel.querySelector("[data-thumbs]"), page.items, (image) => `${image.predicted} ${pct(image.confidence)}`);
        panel.hidden = false;
        panel.querySelector("[data-panel-close]").focus();
      });
    }
  }

  // ---- misclassified images, one true class at a time ----
  function mistakes(root) {
    const id = root.dataset.versionId;
    const buttons = [...root.querySelectorAll(".class-filter button")];
    async function load(button) {
      for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
      const query = new URLSearchParams({ class: button.dataset.class, limit: "48" });
      const page = await api("GET", `/api/v1/models/${id}/misclassified?${query}`);
      thumbs(root.querySelector("[data-thumbs]"), page.items, (image) => `→ ${image.predicted} ${pct(image.confidence)}`);
    }
    for (const button of buttons) button.addEventListener("click", () => load(button));
    if (buttons.length) load(buttons[0]);
  }

  // ---- INT8 export on request; the page reloads to show it once the job ends ----
  function int8(root) {
    const id = root.dataset.versionId;
    const start = root.querySelector("[data-int8-start]");
    const busy = root.querySelector("[data-int8-busy]");
    async function follow() {
      const version = await api("GET", `/api/v1/models/${id}`);
      const state = version.int8 && version.int8.state;
      if (state === "succeeded" || state === "failed") window.location.reload();
      else setTimeout(follow, 1500);
    }
    if (start) {
      start.addEventListener("click", async () => {
        start.disabled = true;
        try {
          await api("POST", `/api/v1/models/${id}/int8`);
          show(busy);
          follow();
        } catch (error) {
          start.disabled = false;
          show(root.querySelector("[data-int8-error]"), error.message);
        }
      });
    }
    if (root.dataset.state === "queued" || root.dataset.state === "running") follow();
  }

  // ---- single-image tests: drop or choose up to N images ----
  function singleTest(root) {
    const id = root.dataset.versionId;
    const max = Number(root.dataset.max);
    const zone = root.querySelector("[data-drop-zone]");
    const input = root.querySelector("[data-file-input]");
    const results = root.querySelector("[data-results]");

    function resultItem(result) {
      const item = document.getElementById("test-result-template").content.firstElementChild.cloneNode(true);
      item.querySelector(".result-file").textContent = result.file;
      if (result.error) {
        item.querySelector(".result-image").remove();
        for (const part of item.querySelectorAll(".result-answer, .top5, .add-form, .result-download")) part.remove();
        show(item.querySelector(".result-error"), result.error);
        return item;
      }
      item.querySelector(".result-image").href = result.result_image;
      item.querySelector(".result-image img").src = result.result_image;
      item.querySelector(".result-image img").alt = `${result.file}: ${result.label}`;
      item.querySelector(".result-download").href = result.result_image;
      item.querySelector(".result-label").textContent = result.label;
      item.querySelector(".result-confidence").textContent = pct(result.confidence);
      item.querySelector(".result-uncertain").hidden = !result.uncertain;
      const bars = item.querySelector(".top5");
      for (const entry of result.top5) {
        const bar = document.getElementById("top5-template").content.firstElementChild.cloneNode(true);
        bar.querySelector(".top5-label").textContent = entry.label;
        bar.querySelector(".top5-bar span").style.width = `${(entry.confidence * 100).toFixed(1)}%`;
        bar.querySelector(".top5-value").textContent = pct(entry.confidence);
        bars.append(bar);
      }
      const form = item.querySelector(".add-form");
      form.elements.label.value = result.label;
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        hide(form.querySelector(".add-error"));
        try {
          await api("POST", `/api/v1/models/${id}/tests/${result.test_id}/add-to-dataset`,
            { label: form.elements.label.value.trim() });
          show(form.querySelector(".add-done"));
          form.querySelector("button").disabled = true;
        } catch (error) {
          show(form.querySelector(".add-error"), error.message);
        }
      });
      return item;
    }

    async function send(files) {
      const images = [...files].filter((f) => f.size > 0);
      if (!images.length) return;
      hide(root.querySelector("[data-error]"));
      if (images.length > max) show(root.querySelector("[data-error]"), root.dataset.tooMany);
      const form = new FormData();
      for (const file of images.slice(0, max)) form.append("files", file, file.name);
      show(root.querySelector("[data-busy]"));
      try {
        const answer = await api("POST", `/api/v1/models/${id}/test`, form);
        results.prepend(...answer.results.map(resultItem));
      } catch (error) {
        show(root.querySelector("[data-error]"), error.message);
      } finally {
        hide(root.querySelector("[data-busy]"));
        input.value = "";
      }
    }

    input.addEventListener("change", () => send(input.files));
    zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragging"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dragging");
      send(event.dataTransfer.files);
    });
  }

  // ---- batch test: upload the zip with progress (XHR: fetch reports no upload progress), follow the job ----
  function batchTest(root) {
    const id = root.dataset.versionId;
    const form = root.querySelector("[data-batch-form]");
    const progress = root.querySelector("[data-progress]");
    const bar = progress.querySelector("progress");
    const phase = (name) => {
      for (const p of ["upload", "queued", "running"]) progress.querySelector(`[data-phase-${p}]`).hidden = p !== name;
    };
    const fail = (message) => {
      hide(progress);
      form.querySelector("button").disabled = false;
      show(root.querySelector("[data-error]"), message);
    };

    function finished(test) {
      hide(progress);
      form.querySelector("button").disabled = false;
      const result = test.job.result || {};
      const done = root.querySelector("[data-done]");
      const summary = done.querySelector("[data-summary]");
      summary.textContent = fill(summary.dataset.summaryFormat, {
        images: result.images, uncertain: result.uncertain ?? "—", errors: result.errors });
      const accuracy = done.querySelector("[data-accuracy]");
      accuracy.textContent = result.accuracy ? fill(accuracy.dataset.accuracyFormat, {
        accuracy: pct(result.accuracy.accuracy), top5: pct(result.accuracy.top5_accuracy),
        count: result.accuracy.images }) : "";
      done.querySelector("[data-csv]").href = test.files["predictions.csv"];
      done.querySelector("[data-zip]").href = test.files["sorted.zip"];
      show(done);
    }

    async function follow(jobId) {
      try {
        const test = await api("GET", `/api/v1/batch-tests/${jobId}`);
        const job = test.job;
        if (job.state === "succeeded") return finished(test);
        if (["failed", "stopped", "interrupted"].includes(job.state)) return fail(job.error || job.state);
        phase(job.state === "queued" ? "queued" : "running");
        if (job.progress_total) {
          bar.max = job.progress_total;
          bar.value = job.progress_done;
          progress.querySelector("[data-count]").textContent = `${job.progress_done} / ${job.progress_total}`;
        }
        setTimeout(() => follow(jobId), 700);
      } catch (error) {
        fail(error.message);
      }
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const file = form.querySelector("input[type=file]").files[0];
      if (!file) return;
      hide(root.querySelector("[data-error]"));
      hide(root.querySelector("[data-done]"));
      form.querySelector("button").disabled = true;
      phase("upload");
      bar.max = 100;
      bar.value = 0;
      show(progress);
      const request = new XMLHttpRequest();
      request.open("POST", `/api/v1/models/${id}/batch-tests`);
      request.setRequestHeader("Content-Type", "application/zip");
      request.setRequestHeader("X-CSRF-Token", csrf());
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total;
      });
      request.addEventListener("load", async () => {
        if (request.status >= 400) return fail(await problem(new Response(request.responseText, { status: request.status })));
        follow(JSON.parse(request.responseText).id);
      });
      request.addEventListener("error", () => fail("the upload did not reach the server."));
      request.send(file);
    });
  }

  const components = { "data-thresholds": thresholds, "data-image-panel": confusionPanel, "data-mistakes": mistakes,
                       "data-int8": int8, "data-single-test": singleTest, "data-batch-test": batchTest };
  return () => {
    for (const [attribute, start] of Object.entries(components)) {
      for (const root of document.querySelectorAll(`[${attribute}]`)) start(root);
    }
  };
})();

document.addEventListener("DOMContentLoaded", modelPages);
