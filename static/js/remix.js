// "Try another style" on a result page: show the intensity as it moves, and keep a listener from sending the
// same remix twice while the first request is on its way. Without JavaScript the form posts the same way.
(function () {
  "use strict";
  var form = document.getElementById("remix-form");
  if (!form) return;
  var intensity = form.querySelector('input[name="intensity"]');
  var shown = form.querySelector("output");
  if (intensity && shown) {
    intensity.addEventListener("input", function () { shown.textContent = Number(intensity.value).toFixed(2); });
  }
  form.addEventListener("submit", function (event) {
    var pressed = event.submitter;
    // The pressed button's name/value must reach the server ("Another take"): copy it before disabling.
    if (pressed && pressed.name) {
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = pressed.name;
      hidden.value = pressed.value;
      form.appendChild(hidden);
    }
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (button) { button.disabled = true; });
    if (pressed) pressed.textContent = "Starting…";
    form.dataset.sent = "1";
  });
})();
