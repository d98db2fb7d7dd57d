// The compare grid's clock (sora_widgets/compare.py inlines this into its HTML output).
// Everything is scoped to this output's root element; nothing is global, nothing is fetched.
// One master clock: the longest video. Play, pause and seek apply to all; while playing, every
// 100 ms each video is compared with the master: a drift of more than half a frame is caught up by
// playing that video a little faster or slower (no seek, so no stall), and a drift past NUDGE_MAX
// (a stalled decoder, a user's seek) is put right by a seek. The master leads: while it is not
// moving (seeking back to the start of a loop, waiting for data) the others wait on its frame, and
// its "playing" event starts them. Videos shorter than the master hold their last frame until the
// master ends (or loops).
(function () {
  "use strict";
  var script = document.currentScript;
  var root = script && script.closest ? script.closest(".sora-compare") : null;
  if (!root || root.soraCompare) return;
  root.soraCompare = true;

  var FRAME = parseFloat(root.getAttribute("data-frame")) || 1 / 24;
  var NUDGE_MAX = 0.25; // seconds of drift caught up by the playback rate; beyond it, a seek
  var videos = Array.prototype.slice.call(root.querySelectorAll("video"));
  var bar = root.querySelector(".sora-compare-bar");
  var playButton = root.querySelector(".sora-compare-play");
  var loopButton = root.querySelector(".sora-compare-loop");
  var seekInput = root.querySelector(".sora-compare-seek");
  var timeText = root.querySelector(".sora-compare-time");
  if (!videos.length || !bar) return;

  var playing = false;
  var looping = false;
  var timer = null;
  var frameRequest = null;
  var corrections = 0;
  var dragging = false; // the slider follows the clock, except under the user's pointer
  var master = videos[0];

  videos.forEach(function (video) {
    video.controls = false; // the bar drives them all
    video.muted = true;
    video.loop = false;
  });
  bar.style.display = "flex";

  function length(video) {
    var d = video.duration;
    if (isFinite(d) && d > 0) return d;
    return parseFloat(video.getAttribute("data-seconds")) || 0;
  }

  function chooseMaster() {
    videos.forEach(function (video) {
      if (length(video) > length(master)) master = video;
    });
    seekInput.max = String(length(master));
    show();
  }

  function now() {
    return master.currentTime;
  }

  function show() {
    var t = now();
    if (!dragging) seekInput.value = String(t);
    timeText.textContent = t.toFixed(2) + " / " + length(master).toFixed(2) + " s";
    playButton.textContent = playing ? "‖ pause" : "▶ play";
    playButton.setAttribute("aria-label", playing ? "pause" : "play");
    root.setAttribute("data-corrections", String(corrections));
  }

  function quiet(promise) {
    if (promise && promise.catch) promise.catch(function () {});
  }

  // Put one video on time t: a shorter video holds its last frame past its end.
  function place(video, t) {
    var end = length(video);
    if (video !== master && t >= end) {
      if (!video.paused) video.pause();
      if (Math.abs(video.currentTime - end) > FRAME) video.currentTime = end;
      return;
    }
    video.currentTime = Math.max(0, Math.min(t, end));
    if (playing && video.paused) quiet(video.play());
  }

  function seekAll(t) {
    t = Math.max(0, Math.min(t, length(master)));
    master.currentTime = t;
    videos.forEach(function (video) {
      if (video !== master) place(video, t);
    });
    show();
  }

  function tick() {
    if (!root.isConnected) return stop();
    if (!playing) return;
    var t = now();
    if (master.ended || t >= length(master) - 0.001) return finished();
    if (masterWaits()) return hold(t);
    videos.forEach(function (video) {
      if (video === master) return;
      if (t >= length(video)) return place(video, t);
      if (video.seeking) return; // still on its way from the last correction
      var behind = t - video.currentTime;
      if (video.soraCorrected) {
        // a seek while playing lands late by the time the seek took: lead by that next time
        video.soraLead = Math.max(0, Math.min(0.5, (video.soraLead || 0) + behind));
        video.soraCorrected = false;
      }
      if (video.paused || Math.abs(behind) > NUDGE_MAX) {
        corrections += 1;
        video.playbackRate = 1;
        video.soraCorrected = !video.paused;
        place(video, t + (video.paused ? 0 : video.soraLead || 0));
      } else if (Math.abs(behind) > FRAME / 2) {
        if (video.playbackRate === 1) corrections += 1;
        video.playbackRate = 1 + Math.max(-0.5, Math.min(0.5, behind * 4));
      } else {
        video.playbackRate = 1;
      }
    });
    show();
  }

  function masterWaits() {
    return master.paused || master.seeking || master.readyState < 3; // 3: HAVE_FUTURE_DATA
  }

  // The others wait with the master, on its frame (or their last), until it moves again.
  function hold(t) {
    videos.forEach(function (video) {
      if (video === master) return;
      if (!video.paused) video.pause();
      video.playbackRate = 1;
      var target = Math.min(t, length(video));
      if (Math.abs(video.currentTime - target) > FRAME / 2) video.currentTime = target;
    });
    show();
  }

  // The master moves: every other video that has not reached its end plays from the master's time.
  function follow() {
    var t = now();
    videos.forEach(function (video) {
      if (video !== master && t < length(video) && video.paused) place(video, t);
    });
  }

  function animate() {
    show();
    frameRequest = playing ? requestAnimationFrame(animate) : null;
  }

  function play() {
    if (playing) return;
    if (master.ended || now() >= length(master) - 0.001) seekAll(0);
    playing = true;
    hold(now());
    quiet(master.play()); // its "playing" event starts the others
    timer = setInterval(tick, 100);
    animate();
  }

  function stop() {
    playing = false;
    if (timer !== null) clearInterval(timer);
    if (frameRequest !== null) cancelAnimationFrame(frameRequest);
    timer = frameRequest = null;
    videos.forEach(function (video) {
      video.pause();
      video.playbackRate = 1;
    });
  }

  function pause() {
    stop();
    seekAll(now()); // every video on the master's frame
  }

  function finished() {
    if (looping) {
      master.pause(); // so that its "playing" event, once it is back at the start, starts the others
      master.currentTime = 0;
      hold(0);
      quiet(master.play());
      return;
    }
    stop();
    seekAll(length(master));
  }

  function toggle() {
    if (playing) pause();
    else play();
  }

  function step(seconds) {
    if (playing) stop();
    seekAll(now() + seconds);
  }

  videos.forEach(function (video) {
    video.addEventListener("loadedmetadata", chooseMaster);
    video.addEventListener("playing", function () {
      if (video === master && playing) follow();
    });
    video.addEventListener("ended", function () {
      if (video !== master || !playing) return;
      finished();
    });
  });
  playButton.addEventListener("click", toggle);
  root.querySelector(".sora-compare-back").addEventListener("click", function () {
    step(-FRAME);
  });
  root.querySelector(".sora-compare-forward").addEventListener("click", function () {
    step(FRAME);
  });
  loopButton.addEventListener("click", function () {
    looping = !looping;
    loopButton.setAttribute("aria-pressed", String(looping));
    loopButton.style.fontWeight = looping ? "700" : "";
  });
  seekInput.addEventListener("pointerdown", function () {
    dragging = true;
  });
  ["change", "pointerup", "pointercancel"].forEach(function (name) {
    seekInput.addEventListener(name, function () {
      dragging = false;
      show();
    });
  });
  seekInput.addEventListener("input", function () {
    seekAll(parseFloat(seekInput.value) || 0);
  });
  root.addEventListener("keydown", function (event) {
    // a focused button clicks on space and Enter; the slider moves on its own arrow keys
    var tag = event.target.tagName;
    if (tag === "BUTTON" && (event.key === " " || event.key === "Enter")) return;
    if (tag === "INPUT" && /^(Arrow|Page|Home|End)/.test(event.key)) return;
    var handled = true;
    if (event.key === " ") toggle();
    else if (event.key === "ArrowLeft") step(-1);
    else if (event.key === "ArrowRight") step(1);
    else if (event.key === ",") step(-FRAME);
    else if (event.key === ".") step(FRAME);
    else handled = false;
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  });
  chooseMaster();
})();
