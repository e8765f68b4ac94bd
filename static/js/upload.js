// Upload page: drag and drop, checks before sending (type, size, length), an upload progress bar (XHR),
// and the server's message shown inline. Without JavaScript the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var input = form.querySelector('input[type="file"]');
  var zone = document.getElementById("dropzone");
  var chosen = document.getElementById("file-chosen");
  var errorBox = document.getElementById("file-error");
  var statusBox = document.getElementById("upload-status");
  var bar = document.getElementById("upload-progress");
  var percent = document.getElementById("upload-percent");
  var submit = document.getElementById("upload-submit");
  var intensity = form.querySelector('input[name="intensity"]');
  var intensityOut = document.getElementById("intensity-value");
  var maxBytes = Number(form.dataset.maxBytes);
  var maxDuration = Number(form.dataset.maxDurationS);
  var minDuration = Number(form.dataset.minDurationS);
  var accepted = form.dataset.accept.split(",");
  var checking = null; // a Promise of the current file's check: null (fine) or an error message

  function showError(message) {
    errorBox.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = "Can't upload this file: ";
    errorBox.appendChild(strong);
    errorBox.appendChild(document.createTextNode(message));
    errorBox.hidden = false;
    input.setAttribute("aria-invalid", "true");
  }
  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
    input.removeAttribute("aria-invalid");
  }
  function sizeText(n) {
    return n >= 1048576 ? (n / 1048576).toFixed(1).replace(/\.0$/, "") + " MB" : Math.ceil(n / 1024) + " KB";
  }
  function timeText(s) {
    if (s < 60) return Math.round(s) + " s";
    var m = Math.floor(s / 60), r = Math.round(s % 60);
    return m + " min" + (r ? " " + r + " s" : "");
  }

  // Length: read it from an <audio> element's metadata when this browser can decode the file.
  function durationOf(file) {
    return new Promise(function (resolve) {
      var audio = document.createElement("audio");
      var url = URL.createObjectURL(file);
      var done = function (value) { URL.revokeObjectURL(url); audio.removeAttribute("src"); resolve(value); };
      var timer = window.setTimeout(function () { done(null); }, 8000);
      audio.preload = "metadata";
      audio.onloadedmetadata = function () { window.clearTimeout(timer); done(isFinite(audio.duration) ? audio.duration : null); };
      audio.onerror = function () { window.clearTimeout(timer); done(null); }; // the server will judge it
      audio.src = url;
    });
  }

  // How long a first remix of this song takes with each separator (the page gives seconds per minute of song).
  function estimateSeparation(seconds) {
    var note = document.getElementById("separator-length-note");
    if (note) note.textContent = "For this song (" + timeText(seconds) + "):";
    Array.prototype.forEach.call(document.querySelectorAll("[data-seconds-per-minute]"), function (el) {
      var total = parseFloat(el.dataset.secondsPerMinute) * seconds / 60;
      el.textContent = "About " + timeText(total) + " for this song.";
    });
  }

  function check(file) {
    var dot = file.name.lastIndexOf(".");
    var ext = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
    if (accepted.indexOf(ext) === -1) {
      return Promise.resolve("it is not a song file we can play. Choose an audio file (" +
        form.dataset.acceptDescription + ").");
    }
    if (file.size === 0) return Promise.resolve("the file is empty (0 bytes).");
    if (file.size > maxBytes) {
      return Promise.resolve("it is " + sizeText(file.size) + ", larger than the " + form.dataset.maxSize + " limit.");
    }
    return durationOf(file).then(function (seconds) {
      if (seconds === null) return null;
      if (seconds > maxDuration) {
        return "it is " + timeText(seconds) + " long; the limit is " + form.dataset.maxDuration + ". Trim it and try again.";
      }
      if (seconds < minDuration) return "it is only " + seconds.toFixed(1) + " s long; upload at least " + minDuration + " s of music.";
      estimateSeparation(seconds);
      return null;
    });
  }

  function fileChosen() {
    clearError();
    var file = input.files && input.files[0];
    if (!file) { chosen.textContent = ""; checking = null; return; }
    chosen.textContent = file.name + " (" + sizeText(file.size) + ")";
    delete form.dataset.checked;
    checking = check(file);
    checking.then(function (message) {
      if (input.files[0] !== file) return;
      if (message) showError(message);
      form.dataset.checked = file.name; // the checks are over (tests and styles can rely on it)
    });
  }
  input.addEventListener("change", fileChosen);

  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("dragging"); });
  });
  ["dragleave", "dragend", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      fileChosen();
    }
  });

  if (intensity && intensityOut) {
    intensity.addEventListener("input", function () { intensityOut.textContent = Number(intensity.value).toFixed(2); });
  }

  function serverError(xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) return body.error.message;
      // DRF field errors: {"intensity": ["..."]}
      var field = Object.keys(body)[0];
      if (field) return field + ": " + [].concat(body[field]).join(" ");
    } catch (ignored) { /* not JSON */ }
    if (xhr.status === 413) return "the file is larger than the " + form.dataset.maxSize + " limit.";
    if (xhr.status === 429) return "too many uploads in a short time. Please wait a few minutes.";
    return "the server answered " + xhr.status + ". Please try again in a minute.";
  }

  function send() {
    var data = new FormData(form);
    // A missing checkbox would mean "default" (keep vocals) to the API: say it explicitly.
    data.set("keep_vocals", form.querySelector('input[name="keep_vocals"]').checked ? "true" : "false");
    data.delete("csrfmiddlewaretoken");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.apiUrl);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", form.querySelector('input[name="csrfmiddlewaretoken"]').value);
    statusBox.hidden = false;
    bar.value = 0;
    percent.textContent = "0%";
    submit.disabled = true;
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      var p = Math.floor((e.loaded / e.total) * 100);
      bar.value = p;
      percent.textContent = p + "%";
    };
    xhr.onload = function () {
      if (xhr.status === 201) {
        bar.value = 100;
        percent.textContent = "100% — starting the remix…";
        var id = JSON.parse(xhr.responseText).id;
        window.location.assign(form.dataset.jobUrl.replace("00000000-0000-0000-0000-000000000000", id));
        return;
      }
      statusBox.hidden = true;
      submit.disabled = false;
      showError(serverError(xhr));
      errorBox.focus();
    };
    xhr.onerror = function () {
      statusBox.hidden = true;
      submit.disabled = false;
      showError("the connection broke during the upload. Check your network and try again.");
    };
    xhr.send(data);
  }

  errorBox.setAttribute("tabindex", "-1");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var file = input.files && input.files[0];
    if (!file) { showError("choose a song file first."); input.focus(); return; }
    submit.disabled = true;
    (checking || check(file)).then(function (message) {
      submit.disabled = false;
      if (message) { showError(message); input.focus(); return; }
      send();
    });
  });
})();
