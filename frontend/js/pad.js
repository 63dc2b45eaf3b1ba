// The drawing pad: Pointer Events for mouse, touch and pen; strokes kept as points so
// they can be undone, redrawn crisply at any devicePixelRatio, and exported small.

const PEN_SHARE = 0.045; // pen width as a share of the pad's shorter side: survives the downscale to 28x28
const EXPORT_MAX_SIDE = 256; // frames are cropped to the ink and scaled down to at most this

export class DrawingPad extends EventTarget {
  constructor(canvas) {
    super();
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.strokes = [];
    this.current = null;
    this.penSeen = false; // once a pen is used, touches are palms
    this.resize();
    new ResizeObserver(() => this.resize()).observe(canvas);
    canvas.addEventListener("pointerdown", (event) => this.down(event));
    canvas.addEventListener("pointermove", (event) => this.move(event));
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      canvas.addEventListener(type, (event) => this.up(event));
    }
    canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    canvas.addEventListener("touchstart", (event) => event.preventDefault(), { passive: false });
  }

  get isEmpty() {
    return this.strokes.length === 0;
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const { width, height } = this.canvas.getBoundingClientRect();
    this.canvas.width = Math.max(1, Math.round(width * ratio));
    this.canvas.height = Math.max(1, Math.round(height * ratio));
    this.scale = ratio;
    this.redraw();
  }

  penWidth(event) {
    const { width, height } = this.canvas.getBoundingClientRect();
    const base = PEN_SHARE * Math.min(width, height);
    const pressure = event.pointerType === "pen" && event.pressure > 0 ? 0.6 + 0.8 * event.pressure : 1;
    return base * pressure;
  }

  point(event) {
    const box = this.canvas.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top, width: this.penWidth(event) };
  }

  down(event) {
    if (event.pointerType === "pen") this.penSeen = true;
    if (event.pointerType === "touch" && this.penSeen) return; // a resting palm
    if (event.button !== undefined && event.button > 0) return;
    event.preventDefault();
    this.canvas.setPointerCapture?.(event.pointerId);
    this.current = { pointerId: event.pointerId, points: [this.point(event)] };
    this.strokes.push(this.current);
    this.drawStroke(this.current);
    this.dispatchEvent(new Event("strokestart"));
    this.dispatchEvent(new Event("change"));
  }

  move(event) {
    if (!this.current || event.pointerId !== this.current.pointerId) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const each of events.length ? events : [event]) this.current.points.push(this.point(each));
    this.redraw();
    this.dispatchEvent(new Event("change"));
  }

  up(event) {
    if (!this.current || event.pointerId !== this.current.pointerId) return;
    this.current = null;
    this.dispatchEvent(new Event("strokeend"));
  }

  undo() {
    this.current = null;
    this.strokes.pop();
    this.redraw();
    this.dispatchEvent(new Event("change"));
  }

  clear() {
    this.current = null;
    this.strokes = [];
    this.redraw();
    this.dispatchEvent(new Event("change"));
  }

  redraw() {
    this.context.setTransform(1, 0, 0, 1, 0, 0);
    this.context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const stroke of this.strokes) this.drawStroke(stroke);
  }

  drawStroke(stroke) {
    const context = this.context;
    context.setTransform(this.scale, 0, 0, this.scale, 0, 0);
    context.strokeStyle = context.fillStyle = getComputedStyle(this.canvas).color || "#111";
    context.lineCap = context.lineJoin = "round";
    const points = stroke.points;
    if (points.length === 1) {
      context.beginPath();
      context.arc(points[0].x, points[0].y, points[0].width / 2, 0, 2 * Math.PI);
      context.fill();
      return;
    }
    // Quadratic curves through the midpoints: smooth strokes from jittery input.
    for (let i = 1; i < points.length; i++) {
      const previous = points[i - 1];
      const point = points[i];
      const start = i === 1 ? previous : midpoint(points[i - 2], previous);
      const end = midpoint(previous, point);
      context.lineWidth = (previous.width + point.width) / 2;
      context.beginPath();
      context.moveTo(start.x, start.y);
      context.quadraticCurveTo(previous.x, previous.y, end.x, end.y);
      if (i === points.length - 1) context.lineTo(point.x, point.y);
      context.stroke();
    }
  }

  // The drawing as a small transparent canvas: cropped to the ink (plus a margin) and
  // scaled so its longer side is at most EXPORT_MAX_SIDE, whatever the screen.
  cropped() {
    if (this.isEmpty) return null;
    let left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity;
    for (const stroke of this.strokes) {
      for (const { x, y, width } of stroke.points) {
        left = Math.min(left, x - width);
        top = Math.min(top, y - width);
        right = Math.max(right, x + width);
        bottom = Math.max(bottom, y + width);
      }
    }
    const margin = 0.1 * Math.max(right - left, bottom - top);
    left = Math.max(0, (left - margin) * this.scale);
    top = Math.max(0, (top - margin) * this.scale);
    right = Math.min(this.canvas.width, (right + margin) * this.scale);
    bottom = Math.min(this.canvas.height, (bottom + margin) * this.scale);
    const width = Math.max(1, right - left);
    const height = Math.max(1, bottom - top);
    const factor = Math.min(1, EXPORT_MAX_SIDE / Math.max(width, height));
    const out = document.createElement("canvas");
    out.width = Math.max(1, Math.round(width * factor));
    out.height = Math.max(1, Math.round(height * factor));
    out.getContext("2d").drawImage(this.canvas, left, top, width, height, 0, 0, out.width, out.height);
    return out;
  }

  // The cropped drawing as PNG bytes, for a binary Socket.IO frame (a third smaller than a
  // data URL, and the server skips base64).
  async frameBytes() {
    const out = this.cropped();
    if (!out) return null;
    const blob = await new Promise((resolve) => out.toBlob(resolve, "image/png"));
    return blob ? blob.arrayBuffer() : null;
  }

  // The cropped drawing as a PNG data URL, for JSON bodies (the REST API).
  frame() {
    const out = this.cropped();
    return out ? out.toDataURL("image/png") : null;
  }
}

function midpoint(a, b) {
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}
