// Kiosk mode (/?kiosk=1&kiosk_id=NAME, docs/offline.md): a page that runs unattended in a public place.
//
// * An attract screen after a quiet period: a digit drawing itself, "Draw a digit!", gone at the first touch.
// * A drawing left alone is cleared after a visible countdown the visitor can cancel ("Keep drawing").
// * No text selection, context menu, pinch or double-tap zoom on the pad and buttons, no pull-to-refresh
//   (app.css, body.kiosk);
//   the screen stays awake (Screen Wake Lock) where the browser has it.
// * A heartbeat every 30 s (POST /api/kiosks/heartbeat): its id, the model it runs offline, its time online
//   and offline, attempts today and deliveries waiting; the teacher's dashboard shows them (kiosks.js).

import { t } from "./i18n.js";
import { $ } from "./view.js";

const HEARTBEAT_MS = 30000;
const COUNTDOWN_SECONDS = 10;
// Digits as pen paths in a unit square, drawn one after another on the attract screen.
const ATTRACT_DIGITS = [
  [[0.25, 0.3], [0.35, 0.15], [0.6, 0.12], [0.72, 0.28], [0.65, 0.48], [0.28, 0.85], [0.78, 0.85]],
  [[0.25, 0.15], [0.75, 0.15], [0.45, 0.88]],
  [[0.7, 0.15], [0.32, 0.15], [0.28, 0.45], [0.55, 0.4], [0.72, 0.55], [0.68, 0.8], [0.45, 0.88], [0.25, 0.78]],
  [[0.62, 0.12], [0.25, 0.62], [0.78, 0.62], [0.6, 0.4], [0.6, 0.9]],
];

export class KioskMode {
  constructor({ pad, idleMs, kioskId, status }) {
    Object.assign(this, { pad, idleMs, status });
    this.kioskId = kioskId || storedKioskId();
    this.countdownSeconds = Math.max(1, Math.min(COUNTDOWN_SECONDS, Math.round(idleMs / 1000)));
    this.idleTimer = null;
    this.tick = null;
    this.wakeLock = null;
    this.online = 0;
    this.offline = 0;
    this.counted = new Set();
    this.lastSample = performance.now();
  }

  start() {
    document.body.classList.add("kiosk");
    noZoom();
    const attract = $("attract");
    attract.addEventListener("pointerdown", () => this.wake());
    $("keep-drawing").addEventListener("click", () => this.touch());
    document.addEventListener("pointerdown", () => this.touch(), { capture: true });
    document.addEventListener("keydown", () => (attract.hidden ? this.touch() : this.wake()), { capture: true });
    document.addEventListener("contextmenu", (event) => event.preventDefault());
    document.addEventListener("visibilitychange", () => this.keepAwake());
    this.keepAwake();
    this.animation = new AttractAnimation($("attract-digit"));
    this.touch();
    setInterval(() => this.sample(), 1000);
    setInterval(() => this.beat(), HEARTBEAT_MS); // and at once whenever the page (re)connects: app.js
  }

  wake() {
    $("attract").hidden = true;
    this.animation.stop();
    document.documentElement.requestFullscreen?.().catch(() => {});
    this.touch();
  }

  // Any interaction: the quiet period starts again, and a countdown in progress is cancelled.
  touch() {
    clearTimeout(this.idleTimer);
    clearInterval(this.tick);
    $("countdown").hidden = true;
    this.idleTimer = setTimeout(() => this.idle(), this.idleMs);
  }

  idle() {
    if (this.pad.isEmpty) return this.attract();
    let left = this.countdownSeconds;
    const show = () => ($("countdown-text").textContent = t("kiosk.countdown", { seconds: left }));
    show();
    $("countdown").hidden = false;
    this.tick = setInterval(() => {
      left -= 1;
      if (left > 0) return show();
      clearInterval(this.tick);
      $("countdown").hidden = true;
      this.attract();
    }, 1000);
  }

  attract() {
    this.pad.clear();
    $("attract").hidden = false;
    this.animation.start();
  }

  async keepAwake() {
    if (document.visibilityState !== "visible" || !navigator.wakeLock) return;
    try {
      this.wakeLock = await navigator.wakeLock.request("screen");
      document.documentElement.dataset.wakeLock = "on";
    } catch {
      document.documentElement.dataset.wakeLock = "refused"; // battery saver, or no user gesture yet
    }
  }

  // A finished attempt (answered by the server or the browser), counted once for today's total.
  finished(attemptId) {
    if (!attemptId || this.counted.has(attemptId)) return;
    this.counted.add(attemptId);
    const key = `kiosk-attempts-${new Date().toISOString().slice(0, 10)}`;
    try {
      localStorage.setItem(key, String(Number(localStorage.getItem(key) || 0) + 1));
    } catch {
      // storage full or disabled: today's count is an estimate anyway
    }
  }

  attemptsToday() {
    try {
      return Number(localStorage.getItem(`kiosk-attempts-${new Date().toISOString().slice(0, 10)}`) || 0);
    } catch {
      return 0;
    }
  }

  sample() {
    const now = performance.now();
    const seconds = (now - this.lastSample) / 1000;
    this.lastSample = now;
    if (this.status().online) this.online += seconds;
    else this.offline += seconds;
  }

  async beat() {
    const { online, modelVersion, waiting } = this.status();
    const body = {
      kiosk_id: this.kioskId,
      model_version: modelVersion || "",
      online_seconds: Math.round(this.online),
      offline_seconds: Math.round(this.offline),
      waiting,
      attempts_today: this.attemptsToday(),
      state: online ? "online" : "offline",
    };
    try {
      await fetch("/api/kiosks/heartbeat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      document.documentElement.dataset.heartbeat = String(Date.now());
    } catch {
      // the server is down: the next beat says how long
    }
  }
}

// The server takes 1-64 letters and digits of any script, spaces, ".", "_" and "-" as a kiosk's name
// (KIOSK_ID in server/api/deliveries.py) and refuses the rest, which would refuse the kiosk's heartbeats
// and its offline drawings: any other character of the address's kiosk_id becomes "-".
export function kioskName(raw) {
  return Array.from((raw || "").replace(/[^\p{L}\p{N}_ .-]/gu, "-"))
    .slice(0, 64)
    .join("");
}

// A kiosk without ?kiosk_id= names itself once, and keeps the name on this device.
function storedKioskId() {
  try {
    let id = localStorage.getItem("kiosk-id");
    if (!id) {
      id = `kiosk-${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
      localStorage.setItem("kiosk-id", id);
    }
    return id;
  } catch {
    return "kiosk";
  }
}

// Pinch and double-tap zoom off on the pad and the buttons (CSS touch-action: none there, app.css; Safari's
// gesture events are cancelled there too). The rest of the page can still be zoomed: a visitor who needs
// to zoom can (WCAG 1.4.4), so the viewport itself is never locked.
const UNZOOMABLE = ".pad, button, label.toggle, .attract, .countdown";

function noZoom() {
  for (const type of ["gesturestart", "gesturechange", "dblclick"]) {
    document.addEventListener(
      type,
      (event) => {
        if (event.target.closest?.(UNZOOMABLE)) event.preventDefault();
      },
      { passive: false },
    );
  }
  document.addEventListener(
    "touchmove",
    (event) => {
      if (event.touches.length > 1 && event.target.closest?.(UNZOOMABLE)) event.preventDefault();
    },
    { passive: false },
  );
}

// The attract screen's digit, drawing itself stroke by stroke (still, for people who asked for less motion).
class AttractAnimation {
  constructor(canvas) {
    this.canvas = canvas;
    this.frame = null;
    this.index = 0;
  }

  start() {
    this.stop();
    const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
    const path = ATTRACT_DIGITS[this.index++ % ATTRACT_DIGITS.length];
    const started = performance.now();
    const step = (now) => {
      const progress = still ? 1 : Math.min(1, (now - started) / 2000);
      this.draw(path, progress);
      if (progress < 1) this.frame = requestAnimationFrame(step);
      else if (!still) this.frame = setTimeout(() => this.start(), 1500);
    };
    this.frame = requestAnimationFrame(step);
  }

  stop() {
    cancelAnimationFrame(this.frame);
    clearTimeout(this.frame);
  }

  draw(path, progress) {
    const { canvas } = this;
    const context = canvas.getContext("2d");
    const size = canvas.width;
    context.clearRect(0, 0, size, size);
    context.lineWidth = size * 0.07;
    context.lineCap = context.lineJoin = "round";
    context.strokeStyle = "#fff";
    const lengths = path.slice(1).map((point, i) => Math.hypot(point[0] - path[i][0], point[1] - path[i][1]));
    let remaining = progress * lengths.reduce((a, b) => a + b, 0);
    context.beginPath();
    context.moveTo(path[0][0] * size, path[0][1] * size);
    for (let i = 1; i < path.length && remaining > 0; i++) {
      const share = Math.min(1, remaining / lengths[i - 1]);
      const [x0, y0] = path[i - 1];
      const [x1, y1] = path[i];
      context.lineTo((x0 + (x1 - x0) * share) * size, (y0 + (y1 - y0) * share) * size);
      remaining -= lengths[i - 1];
    }
    context.stroke();
  }
}
