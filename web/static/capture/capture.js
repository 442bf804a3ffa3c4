// The capture page: films one step at a time, sends JPEG frames at the pace the server asks for (one
// frame in flight at most), and shows the server's guidance, the progress and, at the end, the outcome.
// The document's frames are its video. The selfie is also recorded (MediaRecorder) from the moment the
// camera opens, its frames timed from the recorder's start (the challenge's clock); when the session
// answers "sending" the recording is uploaded, and the session decides on it: it is the case's video.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("capture-data").textContent);
  const texts = data.texts;
  const byId = (id) => document.getElementById(id);
  const canvas = document.createElement("canvas");
  const JPEG_QUALITY = 0.85;
  const POLL_MS = 2000;
  const RECORDING_TYPES = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm", "video/mp4"];
  const RECORDING_BITS_PER_S = 1000000;
  let step = null;
  let stream = null;
  let timer = null;
  let interval = 250;
  let recorder = null;
  let chunks = [];
  let origin = 0; // the recorder's start, on performance.now()'s clock

  function say(code) {
    byId("guidance").textContent = code ? texts["guidance." + code] || "" : "";
  }

  function showProgress(value) {
    const percent = Math.max(0, Math.min(100, Math.round(value * 100)));
    byId("progress").setAttribute("aria-valuenow", String(percent));
    byId("progress-bar").style.width = percent + "%";
  }

  function message(key) {
    const box = byId("message");
    box.textContent = key ? texts[key] : "";
    box.hidden = !key;
  }

  function stopCamera() {
    clearTimeout(timer);
    timer = null;
    if (recorder && recorder.state !== "inactive") {
      recorder.stop(); // discarded
    }
    recorder = null;
    if (stream) {
      stream.getTracks().forEach((track) => track.stop());
      stream = null;
    }
  }

  // The sections a capture state shows: the step to start, or the outcome.
  function show(state) {
    step = state.step;
    byId("document-step").hidden = step !== "document";
    byId("selfie-step").hidden = step !== "selfie";
    byId("start-document").disabled = false;
    byId("start-selfie").disabled = false;
    byId("outcome").hidden = step !== "submitted";
    if (step === "submitted") {
      stopCamera();
      byId("preview").hidden = true; // the last guidance and the full progress bar stay in view
      showOutcome(state.outcome);
    }
  }

  function showOutcome(outcome) {
    const box = byId("outcome-text");
    box.textContent = texts[outcome] || texts.checking;
    box.dataset.outcome = outcome || "checking";
    if (!outcome || outcome === "checking") {
      setTimeout(poll, POLL_MS);
    }
  }

  async function poll() {
    const response = await fetch(data.base + "/status", { credentials: "omit", cache: "no-store" })
      .catch(() => null);
    if (!response || !response.ok) {
      if (response && response.status === 410) {
        message("expired");
        return;
      }
      setTimeout(poll, POLL_MS * 2);
      return;
    }
    showOutcome((await response.json()).outcome);
  }

  // A failed answer: expired, busy, another step (the state is read again), or an error.
  async function failed(response) {
    stopCamera();
    if (response && response.status === 410) {
      message("expired");
      byId("camera").hidden = true;
    } else if (response && response.status === 503) {
      message("busy");
      show({ step: step });
    } else if (response && response.status === 409) {
      const current = await fetch(data.base + "/status", { credentials: "omit" }).catch(() => null);
      if (current && current.ok) {
        show(await current.json());
      }
    } else {
      message("error");
      byId("again").hidden = false;
    }
  }

  // The challenge is over: stop the recorder, upload what it filmed, show the session's answer.
  async function sendRecording() {
    clearTimeout(timer);
    timer = null;
    const active = recorder;
    recorder = null;
    const blob = await new Promise((resolve) => {
      const whole = () => resolve(new Blob(chunks, { type: active.mimeType }));
      if (active.state === "inactive") { // it stopped by itself (an error): what it gave
        whole();
        return;
      }
      active.onstop = whole;
      active.stop();
    });
    stopCamera();
    const response = await fetch(data.base + "/selfie/recording", {
      method: "POST", body: blob, credentials: "omit",
      headers: { "Content-Type": blob.type || "video/webm" } }).catch(() => null);
    if (response && [413, 422].includes(response.status)) { // refused or unreadable: film again
      say("try_again");
      byId("again").hidden = false;
    } else if (!response || !response.ok) {
      failed(response);
    } else {
      update(await response.json());
    }
  }

  function update(state) {
    say(state.code);
    showProgress(state.progress);
    if (state.code === "sending" && recorder) {
      sendRecording();
      return;
    }
    if (!state.closed) {
      return;
    }
    stopCamera();
    if (state.step !== step) {
      show(state); // the step is done: the next one, or the outcome
    } else {
      byId("again").hidden = false; // closed without enough: film this step again
    }
  }

  function grab(video) {
    const scale = Math.min(1, data.max_side / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(tick, Math.max(0, delay));
  }

  async function tick() {
    const video = byId("preview");
    if (!stream) {
      return;
    }
    if (video.readyState < 2 || !video.videoWidth) {
      schedule(50);
      return;
    }
    const takenAt = performance.now();
    const blob = await grab(video);
    const url = data.base + "/" + step + "/frames?t=" + ((takenAt - origin) / 1000).toFixed(3);
    const response = await fetch(url, { method: "POST", body: blob, credentials: "omit",
                                        headers: { "Content-Type": "image/jpeg" } }).catch(() => null);
    if (!stream) {
      return;
    }
    if (!response) {
      interval *= 2; // the network failed: slower
      schedule(interval);
      return;
    }
    if (response.status === 429) { // slow_down: the rate the server asks for, or slower than before
      const asked = Number(response.headers.get("X-Capture-Interval-Ms")) || 0;
      interval = Math.max(asked, Math.round(interval * 1.5));
      schedule(interval - (performance.now() - takenAt));
      return;
    }
    if (!response.ok) {
      failed(response);
      return;
    }
    const state = await response.json();
    interval = Math.max(state.interval_ms, 50);
    update(state);
    if (stream && state.code !== "sending") {
      schedule(interval - (performance.now() - takenAt));
    }
  }

  // The selfie's recorder, started as soon as the camera is open: the frames' times count from here.
  function record() {
    const type = RECORDING_TYPES.find((candidate) => MediaRecorder.isTypeSupported(candidate));
    recorder = new MediaRecorder(stream, type ? { mimeType: type, videoBitsPerSecond: RECORDING_BITS_PER_S }
                                             : { videoBitsPerSecond: RECORDING_BITS_PER_S });
    chunks = [];
    recorder.ondataavailable = (event) => {
      if (event.data && event.data.size) {
        chunks.push(event.data);
      }
    };
    origin = performance.now();
    recorder.start(1000);
  }

  async function start(name) {
    message(null);
    byId("again").hidden = true;
    if (name === "selfie" && typeof window.MediaRecorder !== "function") {
      message("no_recorder");
      return;
    }
    byId("start-" + name).disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: name === "document" ? "environment" : "user",
                 width: { ideal: 1280 }, height: { ideal: 720 } } });
    } catch (error) {
      message("camera_error");
      byId("start-" + name).disabled = false;
      return;
    }
    if (name === "selfie") {
      try {
        record();
      } catch (error) { // no recorder for this camera's stream
        stopCamera();
        message("no_recorder");
        byId("start-" + name).disabled = false;
        return;
      }
    } else {
      origin = 0; // the document's frames keep the page's own clock
    }
    const video = byId("preview");
    video.srcObject = stream;
    video.hidden = false;
    byId("camera").hidden = false;
    await video.play().catch(() => null);
    const response = await fetch(data.base + "/" + name + "/start", { method: "POST", credentials: "omit" })
      .catch(() => null);
    if (!response || !response.ok) {
      failed(response);
      return;
    }
    step = name;
    const state = await response.json();
    interval = state.interval_ms;
    say(state.code);
    showProgress(state.progress);
    schedule(0);
  }

  byId("start-document").addEventListener("click", () => start("document"));
  byId("start-selfie").addEventListener("click", () => start("selfie"));
  byId("again").addEventListener("click", () => start(step));
  window.addEventListener("pagehide", stopCamera);
  show(data.state);
  if (data.state.filming || data.state.closed) { // a reload: the last guidance, until the step starts again
    say(data.state.code);
  }
}());
