// Job page: poll the job's API URL, move the progress bar and the steps, estimate the time left from the
// progress rate, and reload when the job finishes (the server then renders the result or the failure).
(function () {
  "use strict";

  // Time left, steadied: the rate blends the last minute's with the average since the worker took the job
  // (stages run at very different speeds: separating is slow, arranging fast), and the shown figure counts
  // down between polls and moves only a quarter of the way to each new estimate, so it no longer jumps
  // (85 s, 2 min, 52 s) from one poll to the next.
  function Eta() { this.samples = []; this.shown = null; this.at = 0; }
  Eta.prototype.update = function (progress, startedAtMs, now) {
    var samples = this.samples;
    samples.push([now, progress]);
    while (samples.length > 2 && now - samples[0][0] > 60000) samples.shift();
    var first = samples[0], recent = 0, average = 0;
    if (samples.length >= 2 && progress > first[1]) recent = (progress - first[1]) / (now - first[0]);
    if (startedAtMs && progress >= 1 && now > startedAtMs) average = progress / (now - startedAtMs);
    var rate = recent && average ? (recent + average) / 2 : recent || average;
    if (!(rate > 0)) return this.shown === null ? null : this.countDown(now);
    var estimate = (100 - progress) / rate / 1000;
    if (this.shown === null) this.shown = estimate;
    else { var projected = this.countDown(now); this.shown = projected + 0.25 * (estimate - projected); }
    this.at = now;
    return Math.max(1, Math.ceil(this.shown));
  };
  Eta.prototype.countDown = function (now) {
    return Math.max(1, this.shown - (now - this.at) / 1000);
  };
  window.MetalizerEta = Eta;

  var box = document.getElementById("job");
  if (!box || box.dataset.finished === "1") return;
  var bar = document.getElementById("job-progress");
  var percent = document.getElementById("job-percent");
  var status = document.getElementById("job-status");
  var stage = document.getElementById("job-stage");
  var eta = document.getElementById("job-eta");
  var steps = Array.prototype.slice.call(document.querySelectorAll("#job-steps .step"));
  var names = steps.map(function (li) { return li.dataset.step; });
  var finished = ["succeeded", "failed", "cancelled"];
  var estimator = new Eta();

  function setStep(current) {
    steps.forEach(function (li, i) {
      var state = i < current ? "done" : i === current ? "current" : "pending";
      if (li.dataset.state === state) return;
      li.dataset.state = state;
      li.className = "step step-" + state;
      if (state === "current") li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    });
  }

  function timeLeft(job) {
    if (job.status !== "running") { estimator = new Eta(); return ""; }
    if (!(job.progress >= 1)) return "· starting up (the first remix loads the models)";
    var seconds = estimator.update(job.progress, job.started_at ? Date.parse(job.started_at) : 0, Date.now());
    if (seconds === null) return "";
    if (seconds >= 90) return "· about " + Math.round(seconds / 60) + " min left";
    return "· about " + (seconds > 10 ? Math.round(seconds / 5) * 5 : seconds) + " s left";
  }

  function update(job) {
    var value = Math.round(job.progress || 0);
    bar.value = value;
    bar.textContent = value + "%";
    percent.textContent = value + "%";
    var running = job.status === "running";
    status.textContent = job.status === "queued" ? "Waiting for a free worker" : running ? "Working" :
      job.status.charAt(0).toUpperCase() + job.status.slice(1);
    stage.textContent = running && job.stage ? " (" + job.stage + ")" : "";
    var index = names.indexOf(job.stage);
    if (job.status === "succeeded") index = names.length;
    // queued, starting, retrying: an upload's transfer is over (decoding is next); a re-style is reusing
    else if (index === -1) index = names[0] === "uploading" ? 1 : 0;
    setStep(index);
    eta.textContent = timeLeft(job);
    box.dataset.status = job.status;
    if (finished.indexOf(job.status) !== -1) {
      window.setTimeout(function () { window.location.reload(); }, 400);
      return true;
    }
    return false;
  }

  function poll() {
    fetch(box.dataset.apiUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 404) { window.location.reload(); return null; } // deleted or expired
        return r.ok ? r.json() : null;
      })
      .then(function (job) { if (!job || !update(job)) window.setTimeout(poll, 1000); })
      .catch(function () { window.setTimeout(poll, 4000); });
  }
  window.setTimeout(poll, 500);
})();
