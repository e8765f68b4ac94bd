// Stem mixer: decodes each stem in the browser (Web Audio API) and plays them together, each through its
// own gain, so the listener can change a stem's volume or mute it while it plays. It shows its position, and
// pauses when the A/B player starts (and pauses that player when it starts): the two never play at once.
(function () {
  "use strict";
  var root = document.getElementById("mixer");
  var Ctx = window.AudioContext || window.webkitAudioContext;
  if (!root || !Ctx || !window.fetch) return;
  var load = document.getElementById("mixer-load");
  var statusLine = document.getElementById("mixer-status");
  var body = root.querySelector(".mixer-body");
  var play = document.getElementById("mixer-play");
  var clock = document.getElementById("mixer-time");
  var channels = Array.prototype.slice.call(root.querySelectorAll(".channel"));
  var ticker = null;
  var ctx = null, buffers = {}, gains = {}, sources = [], startedAt = 0, offset = 0, playing = false;
  Array.prototype.forEach.call(root.querySelectorAll(".js-only"), function (el) { el.hidden = false; });

  function level(li) {
    var muted = li.querySelector(".channel-mute").checked;
    return muted ? 0 : Number(li.querySelector(".channel-volume").value);
  }
  function applyGain(li) {
    var part = li.dataset.part;
    li.classList.toggle("muted", li.querySelector(".channel-mute").checked);
    li.querySelector("output").textContent = Math.round(li.querySelector(".channel-volume").value * 100) + "%";
    if (gains[part]) gains[part].gain.setTargetAtTime(level(li), ctx.currentTime, 0.01);
  }
  function duration() {
    return Object.keys(buffers).reduce(function (m, k) { return Math.max(m, buffers[k].duration); }, 0);
  }
  function stop() {
    sources.forEach(function (s) { try { s.stop(); } catch (ignored) { /* already stopped */ } });
    sources = [];
  }
  function fmt(s) {
    s = Math.max(0, Math.floor(s || 0));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function position() { return playing ? Math.min(ctx.currentTime - startedAt, duration()) : offset; }
  function showPosition() { if (clock) clock.textContent = fmt(position()) + " / " + fmt(duration()); }
  function setPlaying(on) {
    playing = on;
    clearInterval(ticker);
    ticker = on ? setInterval(showPosition, 250) : null;
    showPosition();
    play.textContent = on ? "Pause stems" : "Play stems";
    play.setAttribute("aria-pressed", on ? "true" : "false");
    root.dataset.state = on ? "playing" : "ready";
  }
  function start() {
    stop();
    if (offset >= duration()) offset = 0;
    var when = ctx.currentTime + 0.05;
    channels.forEach(function (li) {
      var buffer = buffers[li.dataset.part];
      if (!buffer) return;
      var src = ctx.createBufferSource();
      src.buffer = buffer;
      src.connect(gains[li.dataset.part]);
      src.start(when, Math.min(offset, buffer.duration));
      sources.push(src);
    });
    startedAt = when - offset;
    if (sources.length) {
      sources[0].onended = function () { if (playing && ctx.currentTime - startedAt >= duration() - 0.1) { offset = 0; setPlaying(false); } };
    }
    setPlaying(true);
    document.dispatchEvent(new CustomEvent("metalizer:play", { detail: "mixer" }));
  }
  function pause() {
    offset = ctx.currentTime - startedAt;
    stop();
    setPlaying(false);
  }
  document.addEventListener("metalizer:play", function (e) { if (e.detail !== "mixer" && playing) pause(); });

  load.addEventListener("click", function () {
    load.disabled = true;
    root.dataset.state = "loading";
    statusLine.textContent = "Loading " + channels.length + " stems…";
    ctx = new Ctx();
    var done = 0;
    Promise.all(channels.map(function (li) {
      return fetch(li.dataset.url, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(li.dataset.part + ": HTTP " + r.status); return r.arrayBuffer(); })
        .then(function (data) { return ctx.decodeAudioData(data); })
        .then(function (buffer) {
          var gain = ctx.createGain();
          gain.gain.value = level(li);
          gain.connect(ctx.destination);
          buffers[li.dataset.part] = buffer;
          gains[li.dataset.part] = gain;
          done += 1;
          statusLine.textContent = "Loaded " + done + " of " + channels.length + " stems…";
        });
    })).then(function () {
      statusLine.textContent = "Stems ready: " + channels.length + " tracks, " + duration().toFixed(1) + " s.";
      body.hidden = false;
      load.hidden = true;
      root.dataset.state = "ready";
      showPosition();
      play.focus();
    }).catch(function (err) {
      root.dataset.state = "error";
      statusLine.textContent = "The stems could not be loaded (" + err.message + "). Download the stems ZIP instead.";
      load.disabled = false;
    });
  });

  play.addEventListener("click", function () {
    if (ctx.state === "suspended") ctx.resume();
    if (playing) {
      pause();
    } else {
      start();
    }
  });
  channels.forEach(function (li) {
    li.querySelector(".channel-volume").addEventListener("input", function () { applyGain(li); });
    li.querySelector(".channel-mute").addEventListener("change", function () { applyGain(li); });
  });
  window.metalizerMixer = {
    get gains() { return gains; },
    get buffers() { return buffers; },
    position: position,
  };
})();
