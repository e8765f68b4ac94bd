// The job page's time left, smoothed: the server's estimate (the API's seconds_left, jobs/time_left.py) counts
// down between polls, a lower one is approached by a third of the gap per poll, and a higher one by at most a
// tenth of the figure shown (plus the time gone), so it never jumps up (85 s, 2 min, 52 s).
(function (root) {
  "use strict";

  function Eta() { this.shown = null; this.at = 0; }
  Eta.prototype.update = function (target, now) {
    if (target === null || target === undefined) {
      return this.shown === null ? null : Math.ceil(this.countDown(now));
    }
    if (this.shown === null) this.shown = target;
    else {
      var projected = this.countDown(now), gone = (now - this.at) / 1000;
      if (target <= projected) this.shown = projected + (target - projected) / 3;
      else this.shown = projected + Math.min((target - projected) / 4, 0.1 * projected + gone);
    }
    this.at = now;
    return Math.max(1, Math.ceil(this.shown));
  };
  Eta.prototype.countDown = function (now) {
    return Math.max(1, this.shown - (now - this.at) / 1000);
  };

  if (typeof module !== "undefined" && module.exports) module.exports = Eta;
  else root.MetalizerEta = Eta;
})(this);
