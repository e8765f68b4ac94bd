// Job page: poll the job's API URL, move the progress bar and the steps, show the time left (the API's, smoothed
// by eta.js), show the mix's player as soon as the API says mix_ready (it is stored before the stems, MIDI
// files and picture), and reload when the job finishes (the server then renders the result or the failure);
// a listener playing the early mix of a job that succeeded is not cut off: the page reloads when it pauses.
(function () {
  "use strict";

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
  var estimator = new window.MetalizerEta();
  var early = document.getElementById("early-mix");
  var earlyAudio = document.getElementById("early-mix-audio");

  function showEarlyMix(job) {
    if (!early || !job.mix_ready || !job.mix_url || !early.hidden) return;
    earlyAudio.src = job.mix_url;
    document.getElementById("early-mix-download").href = job.mix_url;
    early.hidden = false;
  }

  function playing() {
    return !!earlyAudio && !early.hidden && !earlyAudio.paused && !earlyAudio.ended;
  }

  // A failed or cancelled job's mix is deleted with its other files: only a success waits for the listener.
  function reloadWhenFree(job) {
    if (job.status !== "succeeded" || !playing()) {
      window.setTimeout(function () { window.location.reload(); }, 400);
      return;
    }
    var note = document.getElementById("early-mix-note");
    note.textContent = "Everything is stored: the stems, MIDI files and picture appear when the remix stops " +
      "playing. ";
    var now = document.createElement("a");
    now.href = window.location.pathname;
    now.textContent = "Show it now";
    note.appendChild(now);
    var reload = function () { window.location.reload(); };
    earlyAudio.addEventListener("pause", reload);
    earlyAudio.addEventListener("ended", reload);
  }

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
    if (job.status !== "running") { estimator = new window.MetalizerEta(); return ""; }
    var seconds = estimator.update(job.seconds_left, Date.now());
    if (seconds === null) return "· starting";
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
    showEarlyMix(job);
    if (finished.indexOf(job.status) !== -1) {
      reloadWhenFree(job);
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
