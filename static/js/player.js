// A/B player: one Play button, a switch between the original (A) and the remix (B) that keeps the playing
// position, and a shared position slider. Without JavaScript both native players stay visible.
// It never plays over the stem mixer: each announces "metalizer:play" when it starts and pauses on the other's.
(function () {
  "use strict";
  var root = document.getElementById("ab-player");
  var remix = document.querySelector("#ab-remix audio");
  if (!root || !remix) return;
  var original = document.querySelector("#ab-original audio");
  remix.id = "audio-remix"; // the switch buttons name their target by id
  if (original) original.id = "audio-original";
  var controls = root.querySelector(".ab-controls");
  var play = document.getElementById("ab-play");
  var seek = document.getElementById("ab-seek");
  var clock = document.getElementById("ab-time");
  var buttons = Array.prototype.slice.call(root.querySelectorAll(".ab-switch button"));
  var active = remix;
  var seeking = false;

  root.classList.add("enhanced");
  controls.hidden = false;
  // Without JS the players load nothing until asked; the switch needs both ready to seek at once.
  [original, remix].forEach(function (a) { if (a) { a.controls = false; a.preload = "auto"; a.load(); } });

  function fmt(s) {
    s = Math.max(0, Math.floor(s || 0));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function length() { return isFinite(active.duration) ? active.duration : 0; }
  function render() {
    var d = length();
    if (!seeking) seek.value = d ? (active.currentTime / d) * 100 : 0;
    clock.textContent = fmt(active.currentTime) + " / " + fmt(d);
    var playing = !active.paused;
    play.textContent = playing ? "Pause" : "Play";
    play.setAttribute("aria-pressed", playing ? "true" : "false");
    root.dataset.state = playing ? "playing" : "paused";
    root.dataset.active = active === remix ? "remix" : "original";
  }

  // Switch to the other version at the same position; keeps playing if it was playing.
  function switchTo(target) {
    if (!target || target === active) return;
    var position = active.currentTime, wasPlaying = !active.paused;
    active.pause();
    var seekTo = function () {
      var limit = isFinite(target.duration) ? target.duration : position;
      target.currentTime = Math.min(position, limit);
    };
    if (target.readyState >= 1) seekTo(); else target.addEventListener("loadedmetadata", seekTo, { once: true });
    active = target;
    buttons.forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.target === target.id ? "true" : "false");
    });
    if (wasPlaying) target.play().catch(function () {});
    render();
  }

  play.addEventListener("click", function () {
    if (active.paused) active.play().catch(function () {}); else active.pause();
  });
  buttons.forEach(function (b) {
    b.addEventListener("click", function () { switchTo(document.getElementById(b.dataset.target)); });
  });
  seek.addEventListener("input", function () { seeking = true; clock.textContent = fmt((seek.value / 100) * length()); });
  seek.addEventListener("change", function () {
    seeking = false;
    active.currentTime = (seek.value / 100) * length();
    render();
  });
  [original, remix].forEach(function (a) {
    if (!a) return;
    ["timeupdate", "play", "pause", "ended", "loadedmetadata"].forEach(function (type) {
      a.addEventListener(type, function () { if (a === active) render(); });
    });
  });
  [original, remix].forEach(function (a) {
    if (a) a.addEventListener("play", function () {
      document.dispatchEvent(new CustomEvent("metalizer:play", { detail: "ab" }));
    });
  });
  document.addEventListener("metalizer:play", function (e) {
    if (e.detail !== "ab") [original, remix].forEach(function (a) { if (a && !a.paused) a.pause(); });
  });
  root.addEventListener("keydown", function (e) {
    if (e.target.tagName === "INPUT") return;
    var key = e.key.toLowerCase();
    if (key === "a" && original) { switchTo(original); e.preventDefault(); }
    else if (key === "b") { switchTo(remix); e.preventDefault(); }
    else if (key === " " && e.target === root) { play.click(); e.preventDefault(); }
  });
  root.tabIndex = -1;
  window.metalizerPlayer = { get active() { return active; }, original: original, remix: remix, switchTo: switchTo };
  render();
})();
