// When the page answers by itself (docs/offline.md): the server answers while it can; when the socket is
// down, or the server's answer to the newest frame is later than ANSWER_DEADLINE_MS, the browser's own
// recognizer (offline.js: the server's model in WebAssembly) answers the same drawing, and the page says
// so (the connection badge: data-state="offline"). A drawing finished while the socket is down goes to
// the outbox (outbox.js) with the browser's answer, to be delivered once the server is back.

export const ANSWER_DEADLINE_MS = 1500; // a live answer later than this is answered by the browser meanwhile

export class Fallback extends EventTarget {
  constructor({ live, pad, recognizer, outbox, kioskId = "", room = "" }) {
    super();
    Object.assign(this, { live, pad, recognizer, outbox, kioskId, room });
    this.timer = null;
    this.running = null; // the recognition in progress: frames that arrive meanwhile wait for it
    this.again = null; // the newest frame that arrived while one was running: { final }
    this.answering = false; // the answer shown is the browser's
    this.queued = null; // { attemptId, ownerToken } of the drawing last handed to the outbox
    this.unanswered = null; // the attempt whose final frame went to the server, until its answer arrives
    live.addEventListener("prediction", ({ detail }) => this.serverAnswered(detail));
    // The connection dropped after a final frame was sent but before its answer: the server may never have
    // stored it, so the browser answers it and keeps it for delivery (a no-op if the server has it).
    live.addEventListener("connection", ({ detail }) => {
      if (detail === "connected") this.answering = false; // the server answers again: a kiosk says it is online
      else if (this.unanswered && this.unanswered === live.attemptId) this.drawn(true);
    });
  }

  // Whether the browser answers the drawing now: no connection, or the attempt is already kept offline.
  offline() {
    return !this.live.socket.connected || this.live.isKeptOffline();
  }

  // A frame of the drawing was made (after live.changed or live.finish).
  drawn(final) {
    clearTimeout(this.timer);
    if (!this.recognizer.ready) return;
    if (this.offline()) {
      this.answer(final);
      return;
    }
    if (final) this.unanswered = this.live.attemptId;
    this.timer = setTimeout(() => this.answer(final, true), ANSWER_DEADLINE_MS);
  }

  // The server answered the current attempt: its answer is the one shown from now on.
  serverAnswered(prediction) {
    clearTimeout(this.timer);
    if (prediction.final && prediction.attempt_id === this.unanswered) this.unanswered = null;
    if (this.answering && this.live.socket.connected) {
      this.answering = false;
      this.dispatchEvent(new CustomEvent("connection", { detail: "connected" }));
    }
  }

  cancel() {
    clearTimeout(this.timer);
    this.again = null;
  }

  async answer(final, late = false) {
    if (this.running) {
      this.again = { final: final || this.again?.final === true };
      return;
    }
    const attemptId = this.live.attemptId;
    const canvas = this.pad.cropped();
    if (!canvas || !attemptId) return;
    const started = performance.now();
    this.running = this.recognizer.recognize(canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height));
    let result;
    try {
      result = await this.running;
    } finally {
      this.running = null;
    }
    const stillCurrent = attemptId === this.live.attemptId;
    const offline = this.offline();
    if (stillCurrent && (offline || late)) {
      this.answering = true;
      this.dispatchEvent(new CustomEvent("connection", { detail: "offline" }));
      const prediction = {
        ...result,
        attempt_id: attemptId,
        final,
        preview: previewUrl(result.input),
        offline: true,
        model_version: this.recognizer.version,
        answer_ms: performance.now() - started,
      };
      this.dispatchEvent(new CustomEvent("prediction", { detail: prediction }));
      if (final && offline) {
        try {
          await this.keep(attemptId, canvas, prediction);
        } catch (error) {
          // IndexedDB refused (a private window, storage full): the answer stands, the drawing cannot wait
          console.warn(`digits: offline attempt ${attemptId} cannot be kept for delivery (${error})`);
        }
      }
    }
    const again = this.again;
    this.again = null;
    if (again) this.drawn(again.final);
  }

  // A drawing finished offline: into the outbox with everything the server will want, and out of the
  // live connection's hands (a reconnect must not send it a second way).
  async keep(attemptId, canvas, prediction) {
    // The attempt's token: made with it (live.startAttempt) and sent with its frames, so the server knows it
    // even when its answer never came back; drawn on and kept again, the attempt keeps it.
    const ownerToken = this.live.ownership(attemptId).owner_token;
    this.unanswered = null;
    this.live.keepOffline(attemptId);
    this.queued = { attemptId, ownerToken };
    await this.outbox.put({
      attempt_id: attemptId,
      owner_token: ownerToken,
      image: canvas.toDataURL("image/png"),
      digit: prediction.digit,
      reason: prediction.reason,
      confidence: prediction.confidence,
      model_version: prediction.model_version,
      label: null,
      drawn_at: Date.now() / 1000,
      ...(this.kioskId ? { kiosk_id: this.kioskId } : {}),
      ...(this.room ? { room: this.room } : {}),
    });
  }

  // A label for the drawing last kept offline: it travels with the delivery.
  async label(digit) {
    if (!this.queued) return null;
    const kept = await this.outbox.label(this.queued.attemptId, digit);
    return kept ? { ok: true, label: digit, offline: true } : null;
  }

  forgetQueued() {
    this.queued = null;
  }
}

// The 28x28 input as a PNG data URL, like the server's "preview".
function previewUrl(input) {
  if (!input) return null;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 28;
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(28, 28);
  for (let i = 0; i < input.length; i++) {
    pixels.data.set([input[i], input[i], input[i], 255], i * 4);
  }
  context.putImageData(pixels, 0, 0);
  return canvas.toDataURL("image/png");
}
