// Live progress for the job page: poll the job's API URL and move the bar; reload when it finishes.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.finished === "1") return;
  var bar = document.getElementById("job-progress");
  var percent = document.getElementById("job-percent");
  var status = document.getElementById("job-status");
  var stage = document.getElementById("job-stage");
  var finished = ["succeeded", "failed", "cancelled"];

  function update(job) {
    var value = Math.round(job.progress || 0);
    bar.value = value;
    bar.textContent = value + "%";
    percent.textContent = value + "%";
    status.textContent = job.status.charAt(0).toUpperCase() + job.status.slice(1);
    stage.textContent = job.stage ? "(" + job.stage + ")" : "";
    if (finished.indexOf(job.status) !== -1) {
      window.location.reload();
      return true;
    }
    return false;
  }

  function poll() {
    fetch(box.dataset.apiUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) { if (!job || !update(job)) window.setTimeout(poll, 1500); })
      .catch(function () { window.setTimeout(poll, 4000); });
  }
  window.setTimeout(poll, 1000);
})();
