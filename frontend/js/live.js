// The live connection: streams frames of the current attempt over Socket.IO (protocol
// in the README) and reports predictions, labels, errors and the connection state.
// An attempt's first prediction carries its owner token: it is kept (in memory and in
// sessionStorage, keyed by attempt id) and sent with the attempt's later frames and labels,
// so after a reconnect (a new connection) the server still knows the drawing is ours.

import { io } from "../vendor/socket.io.esm.min.js";
import { newAttemptId, newOwnerToken } from "./ids.js";

export class LiveClassifier extends EventTarget {
  constructor({ throttleMs = 120, room = "" } = {}) {
    super();
    this.throttleMs = throttleMs;
    this.room = room ? { room } : {}; // sent with every frame: the classroom whose dashboard sees it
    this.explain = false; // "Look inside": frames then ask for the heat map and the layers' activations
    this.attemptId = null;
    this.seq = 0;
    this.lastSentAt = 0;
    this.timer = null;
    this.unsent = null; // { getFrame, final } waiting for the throttle or the connection
    this.keptOffline = null; // the attempt the browser answered and keeps for delivery: never sent from here
    this.sentFinal = false; // whether the attempt's newest frame sent was its final one
    this.newestAnswered = -1;
    this.owners = new Map(); // attempt id -> owner token
    // A class code joins the teacher's room on connect: the room's budget, not the network's, then applies.
    const auth = room ? { room } : {};
    this.socket = io({ transports: ["websocket", "polling"], reconnectionDelayMax: 3000, auth });
    this.socket.on("connect", () => {
      this.emitState("connected");
      if (this.unsent) this.flush(); // what was drawn while offline is classified now
    });
    this.socket.on("disconnect", () => this.emitState("offline"));
    this.socket.io.on("reconnect_attempt", () => this.emitState("reconnecting"));
    this.socket.on("prediction", (prediction) => this.onPrediction(prediction));
    this.socket.on("error", (error) => {
      if (error.code === "unknown_room") this.leaveRoom(); // the code is not open: draw on your own
      this.dispatchEvent(new CustomEvent("error", { detail: error }));
    });
    this.socket.on("room", (room) => this.dispatchEvent(new CustomEvent("room", { detail: room })));
    // A refused connect (too many from this network) says why in data: shown like an error event.
    this.socket.on("connect_error", (error) => {
      if (error.data?.code) this.dispatchEvent(new CustomEvent("error", { detail: error.data }));
    });
  }

  // Frames stop naming the room, and a reconnect no longer asks to join it.
  leaveRoom() {
    this.room = {};
    this.socket.auth = {};
  }

  emitState(state) {
    this.dispatchEvent(new CustomEvent("connection", { detail: state }));
  }

  startAttempt() {
    this.endAttempt();
    this.attemptId = newAttemptId();
    this.keepOwnerToken(this.attemptId, newOwnerToken());
    return this.attemptId;
  }

  // The pad was cleared: nothing more is sent or shown for the old attempt.
  endAttempt() {
    clearTimeout(this.timer);
    this.timer = null;
    this.attemptId = null;
    this.seq = 0;
    this.newestAnswered = -1;
    this.unsent = null;
    this.keptOffline = null;
    this.sentFinal = false;
  }

  // The browser answered this attempt offline and keeps it for delivery (fallback.js): nothing more of it
  // goes over the socket, not even when the connection comes back. It stays the pad's attempt: a pupil who
  // pauses mid-digit and draws on adds to it, and its next final replaces it in the outbox.
  keepOffline(attemptId) {
    if (attemptId !== this.attemptId) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.unsent = null;
    this.keptOffline = attemptId;
  }

  isKeptOffline() {
    return this.attemptId !== null && this.attemptId === this.keptOffline;
  }

  // The drawing changed: send it now, or when the throttle allows (the latest wins).
  changed(getFrame) {
    if (this.isKeptOffline()) return;
    this.unsent = { getFrame, final: false };
    const wait = this.throttleMs - (performance.now() - this.lastSentAt);
    if (wait <= 0) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), wait);
  }

  // The drawing is finished (pen lifted and idle, or submit): always answered.
  finish(getFrame) {
    if (this.isKeptOffline()) return;
    this.unsent = { getFrame, final: true };
    this.flush();
  }

  // The server was too busy to read a frame (its "busy" error echoes the attempt and seq): the attempt's
  // newest frame is sent again as it was, final only if it was final; an older frame, or another
  // attempt's, needs nothing, since a newer one went after it.
  retryBusy(refused, getFrame) {
    if (refused.attempt_id !== this.attemptId || refused.seq !== this.seq) return;
    if (this.sentFinal) this.finish(getFrame);
    else this.changed(getFrame);
  }

  // The frame's image is PNG bytes (a binary attachment), made asynchronously: its seq is
  // taken first, so frames keep their order, and one for a cleared attempt is dropped.
  async flush() {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.unsent || !this.attemptId) return;
    if (!this.socket.connected) return; // kept in `unsent` until the connection is back
    const { getFrame, final } = this.unsent;
    const attemptId = this.attemptId;
    this.unsent = null;
    this.seq += 1;
    const seq = this.seq;
    this.sentFinal = final;
    this.lastSentAt = performance.now();
    const image = await getFrame();
    if (!image || attemptId !== this.attemptId) return;
    const asked = this.explain ? { explain: true } : {};
    const frame = { attempt_id: attemptId, seq, image, final, ...this.room, ...asked, ...this.ownership(attemptId) };
    this.socket.emit("frame", frame);
  }

  // { owner_token } once the server has given one for the attempt, else nothing.
  ownership(attemptId) {
    const token = this.owners.get(attemptId) ?? sessionStorage.getItem(`owner:${attemptId}`);
    return token ? { owner_token: token } : {};
  }

  keepOwnerToken(attemptId, token) {
    this.owners.set(attemptId, token);
    try {
      sessionStorage.setItem(`owner:${attemptId}`, token);
    } catch {
      // storage full or disabled: memory still has it for this page's life
    }
  }

  onPrediction(prediction) {
    if (prediction.owner_token) this.keepOwnerToken(prediction.attempt_id, prediction.owner_token);
    if (prediction.attempt_id !== this.attemptId || prediction.seq < this.newestAnswered) return;
    this.newestAnswered = prediction.seq;
    this.dispatchEvent(new CustomEvent("prediction", { detail: prediction }));
  }

  label(digit) {
    const attemptId = this.attemptId;
    return new Promise((resolve) => {
      const payload = { attempt_id: attemptId, label: digit, ...this.ownership(attemptId) };
      this.socket.timeout(5000).emit("label", payload, (error, ack) => {
        resolve(error ? { ok: false, code: "timeout", message: "The server did not answer." } : ack);
      });
    });
  }
}
