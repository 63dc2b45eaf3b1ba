// The server's preprocessing (model/runtime/preprocess.py) ported step for step, for the offline fallback:
// a drawing's pixels -> the MNIST-style 28x28 input, or why there is none ("blank", "too_faint",
// "too_small"). Every constant comes from the written contract, model/runtime/preprocess.json, which the
// server reads too and sends with the model card (GET /api/model/card); nothing is restated here.
//
// Each function mirrors its Python namesake, including numpy's float32 arithmetic (Math.fround after
// every float32 operation), Pillow's integer box reduce and its two-pass LANCZOS/BOX resampling of
// float images, scipy's "reflect" boundaries and running-sum uniform filter, and Python's round-half-even.
// tests/system/test_offline_parity.py proves the two equal on canvases of every realistic kind.
//
// An image is { width, height, gray: Uint8Array, alpha: Uint8Array | null }, as the server's decoder
// hands Pillow "L" or "LA" (fromImageData makes one from a canvas's pixels).

const f32 = Math.fround;

class NoInk extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

// A float32 image: { width, height, data: Float32Array } (row-major, like a numpy (h, w) array).
function field(width, height, data = new Float32Array(width * height)) {
  return { width, height, data };
}

// Pillow's L24: ITU-R 601-2 luma in 16-bit fixed point, rounded (model/runtime/unfilter.py's gray()).
export function fromImageData({ width, height, data }) {
  const gray = new Uint8Array(width * height);
  const alpha = new Uint8Array(width * height);
  for (let i = 0, p = 0; i < gray.length; i++, p += 4) {
    gray[i] = (data[p] * 19595 + data[p + 1] * 38470 + data[p + 2] * 7471 + 0x8000) >>> 16;
    alpha[i] = data[p + 3];
  }
  return { width, height, gray, alpha };
}

// Python's round(): halves go to the even neighbour.
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

export function prepare(image, contract) {
  const c = contract;
  try {
    const { ink, scale } = inkMap(image, c);
    const mask = selectDigit(ink, c);
    const box = boundingBox(mask);
    if (scale > 1 && Math.max(box[2] - box[0], box[3] - box[1]) < c.small_digit_pixels) {
      return prepareRegion(image, sourceBox(box, scale, image, c.small_digit_margin), c);
    }
    return { image: toMnist(multiply(ink, mask), box, c), reason: null };
  } catch (error) {
    if (error instanceof NoInk) return { image: null, reason: error.reason };
    throw error;
  }
}

function prepareRegion(image, region, c) {
  const crop = cropImage(image, region);
  const { ink } = inkMap(crop, c);
  const mask = selectDigit(ink, c);
  const box = boundingBox(mask);
  return { image: toMnist(multiply(ink, mask), box, c), reason: null };
}

function cropImage(image, [left, top, right, bottom]) {
  const width = right - left;
  const height = bottom - top;
  const gray = new Uint8Array(width * height);
  const alpha = image.alpha ? new Uint8Array(width * height) : null;
  for (let y = 0; y < height; y++) {
    const from = (y + top) * image.width + left;
    gray.set(image.gray.subarray(from, from + width), y * width);
    if (alpha) alpha.set(image.alpha.subarray(from, from + width), y * width);
  }
  return { width, height, gray, alpha };
}

function multiply(a, b) {
  const out = field(a.width, a.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = f32(a.data[i] * b.data[i]);
  return out;
}

// ---- ink_map ------------------------------------------------------------------------------------

function inkMap(image, c) {
  const factor = Math.max(1, Math.ceil(Math.max(image.width, image.height) / c.work_size));
  if (image.alpha) {
    const coverage = workingArray(image.alpha, image.width, image.height, factor);
    let min = Infinity;
    let opaque = 0;
    for (const value of coverage.data) {
      if (value < min) min = value;
      if (value > 0.5) opaque += 1;
    }
    if (min < f32(c.transparent_max_coverage) && opaque / coverage.data.length < c.transparent_max_opaque_share) {
      return { ink: stretch(coverage, c), scale: factor };
    }
    const gray = workingArray(image.gray, image.width, image.height, factor);
    for (let i = 0; i < gray.data.length; i++) {
      const cov = coverage.data[i];
      gray.data[i] = f32(f32(1 - cov) + f32(gray.data[i] * cov));
    }
    return { ink: stretch(inkOnGround(gray, c), c), scale: factor };
  }
  const gray = workingArray(image.gray, image.width, image.height, factor);
  return { ink: stretch(inkOnGround(gray, c), c), scale: factor };
}

// Pillow's Image.reduce(factor) of an 8-bit band (Reduce.c): each output pixel is the rounded mean of its
// box, partial boxes at the right and bottom edges included; then / 255 as float32.
function workingArray(band, width, height, factor) {
  if (factor === 1) {
    const out = field(width, height);
    for (let i = 0; i < band.length; i++) out.data[i] = f32(band[i] / 255);
    return out;
  }
  const outWidth = Math.ceil(width / factor);
  const outHeight = Math.ceil(height / factor);
  const out = field(outWidth, outHeight);
  for (let y = 0; y < outHeight; y++) {
    const y0 = y * factor;
    const y1 = Math.min(height, y0 + factor);
    for (let x = 0; x < outWidth; x++) {
      const x0 = x * factor;
      const x1 = Math.min(width, x0 + factor);
      const count = (y1 - y0) * (x1 - x0);
      let sum = Math.floor(count / 2);
      for (let yy = y0; yy < y1; yy++) {
        const row = yy * width;
        for (let xx = x0; xx < x1; xx++) sum += band[row + xx];
      }
      const value = Math.min(255, Math.trunc(sum * (1.0 / count)));
      out.data[y * outWidth + x] = f32(value / 255);
    }
  }
  return out;
}

function inkOnGround(gray, c) {
  const ground = uniformGround(gray);
  if (ground === null) {
    let source = gray;
    if (lightOnDark(gray)) source = map(gray, (v) => f32(1 - v));
    return removePaper(source, c);
  }
  const [min, max] = extremes(gray.data);
  if (ground === min && ground !== max) {
    return inkAgainst(map(gray, (v) => f32(1 - v)), f32(1 - ground), c);
  }
  return inkAgainst(gray, ground, c);
}

function map(image, fn) {
  const out = field(image.width, image.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = fn(image.data[i]);
  return out;
}

function extremes(data) {
  let min = Infinity;
  let max = -Infinity;
  for (const value of data) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return [min, max];
}

function uniformGround(gray) {
  const { width, height, data } = gray;
  const ground = data[0];
  const border = [];
  for (let x = 0; x < width; x++) border.push(data[x], data[(height - 1) * width + x]);
  for (let y = 1; y < height - 1; y++) border.push(data[y * width], data[y * width + width - 1]);
  const [min, max] = extremes(data);
  if (!border.every((value) => value === ground) || (ground !== min && ground !== max)) return null;
  let same = 0;
  for (const value of data) if (value === ground) same += 1;
  if (same < Math.floor(data.length / 2)) return null;
  return ground;
}

// The plane that fits an image's brightness best, by least squares over every fourth pixel: [a, b, c] of
// a + b * row + c * column. `samples` holds those pixels row by row (strided(image, 4), or a filter of it).
function planeFit(samples, width, height) {
  const sums = new Float64Array(9);
  const rhs = new Float64Array(3);
  let i = 0;
  for (let y = 0; y < height; y += 4) {
    for (let x = 0; x < width; x += 4) {
      const row = [1, y, x];
      const value = samples[i++];
      for (let k = 0; k < 3; k++) {
        rhs[k] += row[k] * value;
        for (let j = 0; j < 3; j++) sums[k * 3 + j] += row[k] * row[j];
      }
    }
  }
  return solve3(sums, rhs);
}

// A fitted lighting plane taken out, then: are the rare pixels brighter?
function lightOnDark(gray) {
  const { width, height, data } = gray;
  const plane = planeFit(strided(gray, 4), width, height);
  const residual = [];
  for (let y = 0; y < height; y += 2) {
    for (let x = 0; x < width; x += 2) residual.push(data[y * width + x] - (plane[0] + plane[1] * y + plane[2] * x));
  }
  const [low, median, high] = quantiles(Float64Array.from(residual), [0.01, 0.5, 0.99]);
  return high - median > median - low;
}

function solve3(a, b) {
  // Gaussian elimination with partial pivoting on the 3x3 normal equations; a degenerate plane (one row
  // or one column sampled) falls back to fewer unknowns, as pinv's least-norm answer gives zero slopes.
  const m = [
    [a[0], a[1], a[2], b[0]],
    [a[3], a[4], a[5], b[1]],
    [a[6], a[7], a[8], b[2]],
  ];
  const solution = [0, 0, 0];
  const pivots = [];
  for (let column = 0, row = 0; column < 3 && row < 3; column++) {
    let best = row;
    for (let r = row + 1; r < 3; r++) if (Math.abs(m[r][column]) > Math.abs(m[best][column])) best = r;
    if (Math.abs(m[best][column]) < 1e-9) continue;
    [m[row], m[best]] = [m[best], m[row]];
    for (let r = 0; r < 3; r++) {
      if (r === row) continue;
      const factor = m[r][column] / m[row][column];
      for (let k = column; k < 4; k++) m[r][k] -= factor * m[row][k];
    }
    pivots.push([row, column]);
    row += 1;
  }
  for (const [row, column] of pivots) solution[column] = m[row][3] / m[row][column];
  return solution;
}

// numpy's quantile with linear interpolation (model/runtime/preprocess.py's quantiles()): float64 result.
function quantiles(values, qs) {
  const ordered = Float64Array.from(values).sort();
  return qs.map((q) => {
    const position = q * (ordered.length - 1);
    const low = Math.floor(position);
    const high = Math.ceil(position);
    const lowValue = ordered[low];
    const step = values instanceof Float32Array ? f32(ordered[high] - lowValue) : ordered[high] - lowValue;
    return lowValue + step * (position - low);
  });
}

function removePaper(gray, c) {
  const window = Math.max(c.min_paper_window, Math.floor(Math.max(gray.width, gray.height) / c.paper_window_share));
  // A lighting plane, fitted to a coarse local maximum (the paper without its strokes), is taken out
  // before the local maximum that estimates the paper: over a lighting gradient that maximum lies above
  // the paper unevenly, and faint strokes sank under the noise floor (preprocess.py, lighting_plane).
  const { width, height } = gray;
  const coarse = field(Math.ceil(width / 4), Math.ceil(height / 4), strided(gray, 4));
  const quarter = Math.max(1, Math.floor(window / 4));
  const plane = planeFit(rankFilter(coarse, quarter, quarter, Math.max).data, width, height);
  const [base, perRow, perColumn] = plane.map(f32);
  const lighting = field(width, height);
  for (let y = 0; y < height; y++) {
    const level = f32(base + f32(perRow * y));
    for (let x = 0; x < width; x++) lighting.data[y * width + x] = f32(level + f32(perColumn * x));
  }
  const residual = field(width, height);
  for (let i = 0; i < residual.data.length; i++) residual.data[i] = f32(gray.data[i] - lighting.data[i]);
  const paper = uniformFilter(rankFilter(residual, window, window, Math.max), window);
  for (let i = 0; i < paper.data.length; i++) paper.data[i] = f32(lighting.data[i] + paper.data[i]);
  return inkAgainst(gray, paper, c);
}

// 1 - blur(gray) / max(paper, min_paper), clipped to [0, 1]; paper is a number or an image.
function inkAgainst(gray, paper, c) {
  const blurred = uniformFilter(gray, c.blur_size);
  const floor = f32(c.min_paper);
  const out = field(gray.width, gray.height);
  for (let i = 0; i < out.data.length; i++) {
    const ground = typeof paper === "number" ? paper : paper.data[i];
    const value = f32(1 - f32(blurred.data[i] / Math.max(ground, floor)));
    out.data[i] = Math.min(1, Math.max(0, value));
  }
  return out;
}

function stretch(ink, c) {
  const sample = strided(ink, 2);
  const median = quantiles(sample, [0.5])[0];
  const median32 = f32(median);
  const deviations = sample.map((value) => Math.abs(f32(value - median32)));
  const noise = 1.4826 * quantiles(deviations, [0.5])[0];
  const floor = median + Math.max(c.noise_sigmas * noise, c.min_noise_floor);
  const floor32 = f32(floor);
  const strokes = ink.data.filter((value) => value > floor32);
  if (strokes.length === 0) throw new NoInk("blank");
  const peak = quantiles(strokes, [c.stroke_quantile])[0];
  if (peak - floor < c.min_contrast) throw new NoInk("too_faint");
  const range = f32(peak - floor);
  return map(ink, (value) => Math.min(1, Math.max(0, f32(f32(value - floor32) / range))));
}

// image[::step, ::step] as a flat Float32Array.
function strided(image, step) {
  const values = [];
  for (let y = 0; y < image.height; y += step) {
    for (let x = 0; x < image.width; x += step) values.push(image.data[y * image.width + x]);
  }
  return Float32Array.from(values);
}

// ---- scipy.ndimage filters ("reflect" boundaries: d c b a | a b c d | d c b a) -----------------------

function reflect(index, length) {
  const period = 2 * length;
  let i = ((index % period) + period) % period;
  if (i >= length) i = period - 1 - i;
  return i;
}

// uniform_filter(image, size): one 1-D pass per axis (rows first), each a running sum in float64
// divided per pixel and written back as float32, exactly as scipy's NI_UniformFilter1D.
function uniformFilter(image, size) {
  const along = (source, lineCount, length, at) => {
    const out = new Float32Array(source.length);
    const before = Math.floor(size / 2);
    const after = size - before - 1;
    const line = new Float64Array(length + size - 1);
    for (let k = 0; k < lineCount; k++) {
      for (let i = -before; i < length + after; i++) line[i + before] = source[at(k, reflect(i, length))];
      let sum = 0;
      for (let i = 0; i < size; i++) sum += line[i];
      out[at(k, 0)] = sum / size;
      for (let i = 1; i < length; i++) {
        sum += line[i + size - 1] - line[i - 1];
        out[at(k, i)] = sum / size;
      }
    }
    return out;
  };
  const { width, height } = image;
  const columns = along(image.data, width, height, (x, y) => y * width + x);
  return field(width, height, along(columns, height, width, (y, x) => y * width + x));
}

// maximum_filter / minimum_filter with a (height x width) rectangle: with "reflect" boundaries the
// window's reflected pixels are already inside it, so the window is simply clipped to the image.
function rankFilter(image, height, width, pick) {
  const pass = (source, lineCount, length, size, at) => {
    const out = new Float32Array(source.length);
    const before = Math.floor(size / 2);
    const after = size - before - 1;
    for (let k = 0; k < lineCount; k++) {
      for (let i = 0; i < length; i++) {
        let best = source[at(k, i)];
        const from = Math.max(0, i - before);
        const to = Math.min(length - 1, i + after);
        for (let j = from; j <= to; j++) best = pick(best, source[at(k, j)]);
        out[at(k, i)] = best;
      }
    }
    return out;
  };
  const w = image.width;
  const h = image.height;
  const rows = pass(image.data, h, w, width, (y, x) => y * w + x);
  return field(w, h, pass(rows, w, h, height, (x, y) => y * w + x));
}

// ---- select_digit -------------------------------------------------------------------------------

// Connected components (8-neighbours) of ink > threshold, labelled in raster order like ndimage.label.
function label(ink, threshold) {
  const { width, height, data } = ink;
  const labels = new Int32Array(width * height);
  const parent = [0];
  const find = (a) => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  };
  const union = (a, b) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!(data[i] > threshold)) continue;
      const neighbours = [];
      if (x > 0 && labels[i - 1]) neighbours.push(labels[i - 1]);
      if (y > 0) {
        for (const dx of [-1, 0, 1]) {
          const nx = x + dx;
          if (nx >= 0 && nx < width && labels[i - width + dx]) neighbours.push(labels[i - width + dx]);
        }
      }
      if (neighbours.length === 0) {
        parent.push(parent.length);
        labels[i] = parent.length - 1;
      } else {
        const first = Math.min(...neighbours);
        labels[i] = first;
        for (const other of neighbours) union(first, other);
      }
    }
  }
  // Final labels numbered by first appearance in raster order.
  const renumber = new Map();
  for (let i = 0; i < labels.length; i++) {
    if (!labels[i]) continue;
    const root = find(labels[i]);
    if (!renumber.has(root)) renumber.set(root, renumber.size + 1);
    labels[i] = renumber.get(root);
  }
  return { labels, count: renumber.size };
}

function selectDigit(ink, c) {
  const { width, height, data } = ink;
  const { labels, count } = label(ink, f32(c.ink_threshold));
  if (count === 0) throw new NoInk("blank");
  const masses = new Float64Array(count);
  const boxes = Array.from({ length: count }, () => [Infinity, Infinity, -Infinity, -Infinity]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!labels[i]) continue;
      masses[labels[i] - 1] += data[i];
      const box = boxes[labels[i] - 1];
      box[0] = Math.min(box[0], x);
      box[1] = Math.min(box[1], y);
      box[2] = Math.max(box[2], x + 1);
      box[3] = Math.max(box[3], y + 1);
    }
  }
  // np.argsort(masses)[::-1]: heaviest first; of equal masses the later label first.
  const order = [...masses.keys()].sort((a, b) => masses[a] - masses[b] || a - b).reverse();
  const kept = [order[0]];
  let box = [...boxes[order[0]]];
  let total = 0;
  for (const mass of masses) total += mass;
  for (const index of order.slice(1)) {
    if (masses[index] < c.component_min_share * total) break;
    const candidate = boxes[index];
    const reach = c.component_reach * Math.max(box[2] - box[0], box[3] - box[1]);
    if (masses[index] > c.component_big_share * masses[order[0]] || boxesNear(box, candidate, reach)) {
      kept.push(index);
      box = [
        Math.min(box[0], candidate[0]),
        Math.min(box[1], candidate[1]),
        Math.max(box[2], candidate[2]),
        Math.max(box[3], candidate[3]),
      ];
    }
  }
  if (Math.max(box[2] - box[0], box[3] - box[1]) < Math.max(c.min_digit_pixels, c.min_digit_share * Math.max(width, height))) {
    throw new NoInk("too_small");
  }
  const keep = new Uint8Array(count + 1);
  for (const index of kept) keep[index + 1] = 1;
  // grown(): a 3x3 dilation of the kept strokes takes back their faint anti-aliased rim.
  const mask = field(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let on = 0;
      for (let dy = -1; dy <= 1 && !on; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx >= 0 && nx < width && keep[labels[ny * width + nx]]) {
            on = 1;
            break;
          }
        }
      }
      mask.data[y * width + x] = on;
    }
  }
  return mask;
}

function boxesNear(a, b, reach) {
  const gapX = Math.max(b[0] - a[2], a[0] - b[2], 0);
  const gapY = Math.max(b[1] - a[3], a[1] - b[3], 0);
  return Math.max(gapX, gapY) <= reach;
}

function boundingBox(mask) {
  const { width, height, data } = mask;
  let left = width, top = height, right = -1, bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[y * width + x] === 0) continue;
      left = Math.min(left, x);
      right = Math.max(right, x);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
  }
  return [left, top, right + 1, bottom + 1];
}

function sourceBox(box, scale, image, margin) {
  const pad = margin * Math.max(box[2] - box[0], box[3] - box[1]);
  const left = (box[0] - pad) * scale;
  const top = (box[1] - pad) * scale;
  const right = (box[2] + pad) * scale;
  const bottom = (box[3] + pad) * scale;
  return [
    Math.max(0, Math.trunc(left)),
    Math.max(0, Math.trunc(top)),
    Math.min(image.width, Math.ceil(right)),
    Math.min(image.height, Math.ceil(bottom)),
  ];
}

// ---- to_mnist -----------------------------------------------------------------------------------

function toMnist(ink, [left, top, right, bottom], c) {
  const crop = evenStrokeWidth(sub(ink, left, top, right, bottom), c);
  const factor = c.box_size / Math.max(crop.height, crop.width);
  const width = Math.max(1, roundHalfEven(crop.width * factor));
  const height = Math.max(1, roundHalfEven(crop.height * factor));
  const glyph = resample(crop, width, height, factor > 1 ? LANCZOS : BOX);
  let peak = 0;
  for (let i = 0; i < glyph.data.length; i++) {
    glyph.data[i] = Math.max(0, glyph.data[i]);
    peak = Math.max(peak, glyph.data[i]);
  }
  if (peak <= 0) throw new NoInk("too_small");
  for (let i = 0; i < glyph.data.length; i++) glyph.data[i] = Math.min(1, Math.max(0, f32(glyph.data[i] / peak)));
  return placeByMass(glyph, c);
}

function sub(image, left, top, right, bottom) {
  const out = field(right - left, bottom - top);
  for (let y = top; y < bottom; y++) {
    out.data.set(image.data.subarray(y * image.width + left, y * image.width + right), (y - top) * out.width);
  }
  return out;
}

function evenStrokeWidth(crop, c) {
  const { width, height, data } = crop;
  const threshold = f32(c.stroke_threshold);
  const on = (x, y) => x >= 0 && y >= 0 && x < width && y < height && data[y * width + x] > threshold;
  let strokes = 0;
  let boundary = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!on(x, y)) continue;
      strokes += 1;
      if (!(on(x - 1, y) && on(x + 1, y) && on(x, y - 1) && on(x, y + 1))) boundary += 1;
    }
  }
  if (boundary === 0) return crop;
  const strokeWidth = (2.0 * strokes) / boundary;
  const boxUnits = c.box_size / Math.max(height, width);
  const target = (c.stroke_target_share * c.mnist_stroke) / boxUnits;
  const steps = roundHalfEven((target - strokeWidth) / 2);
  if (steps > 0) return diskFilter(crop, steps, Math.max);
  if (strokeWidth * boxUnits > c.thick_stroke_factor * c.mnist_stroke && steps < 0) {
    return diskFilter(crop, Math.min(-steps, Math.trunc(strokeWidth / 4)), Math.min);
  }
  return crop;
}

// Grey dilation (Math.max) or erosion (Math.min) by disk(radius), as the union of its rectangles.
function diskFilter(image, radius, pick) {
  let result = null;
  for (const [height, width] of diskRectangles(radius)) {
    const part = rankFilter(image, height, width, pick);
    if (result === null) result = part;
    else for (let i = 0; i < result.data.length; i++) result.data[i] = pick(result.data[i], part.data[i]);
  }
  return result;
}

function diskRectangles(radius) {
  const limit = radius * radius + radius;
  const halfWidths = [];
  for (let rows = 0; rows <= radius; rows++) halfWidths.push(Math.floor(Math.sqrt(limit - rows * rows)));
  const rectangles = [];
  for (let rows = 0; rows <= radius; rows++) {
    if (rows === radius || halfWidths[rows + 1] < halfWidths[rows]) rectangles.push([2 * rows + 1, 2 * halfWidths[rows] + 1]);
  }
  return rectangles;
}

// ---- Pillow's resampling of a float ("F") image (Resample.c) ------------------------------------

const BOX = { support: 0.5, filter: (x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0) };
const sinc = (x) => {
  if (x === 0.0) return 1.0;
  const px = x * Math.PI;
  return Math.sin(px) / px;
};
const LANCZOS = { support: 3.0, filter: (x) => (-3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0) };

function coefficients(inSize, outSize, filter) {
  const scale = inSize / outSize;
  const filterScale = Math.max(1.0, scale);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Float64Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1.0 / filterScale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.filter((x + xmin - center + 0.5) * ss);
      kk[xx * ksize + x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) if (ww !== 0.0) kk[xx * ksize + x] /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function resample(image, outWidth, outHeight, filter) {
  let source = image;
  const vertical = coefficients(image.height, outHeight, filter);
  const needHorizontal = outWidth !== image.width;
  const needVertical = outHeight !== image.height;
  const first = vertical.bounds[0];
  const last = vertical.bounds[outHeight * 2 - 2] + vertical.bounds[outHeight * 2 - 1];
  let offset = 0;
  if (needHorizontal) {
    const h = coefficients(image.width, outWidth, filter);
    const rows = last - first;
    const temp = field(outWidth, rows);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < outWidth; x++) {
        const xmin = h.bounds[x * 2];
        const xmax = h.bounds[x * 2 + 1];
        let ss = 0.0;
        for (let k = 0; k < xmax; k++) ss += image.data[(y + first) * image.width + xmin + k] * h.kk[x * h.ksize + k];
        temp.data[y * outWidth + x] = ss;
      }
    }
    source = temp;
    offset = first;
  }
  if (!needVertical) return source;
  const out = field(source.width, outHeight);
  for (let y = 0; y < outHeight; y++) {
    const ymin = vertical.bounds[y * 2] - offset;
    const ymax = vertical.bounds[y * 2 + 1];
    for (let x = 0; x < source.width; x++) {
      let ss = 0.0;
      for (let k = 0; k < ymax; k++) ss += source.data[(ymin + k) * source.width + x] * vertical.kk[y * vertical.ksize + k];
      out.data[y * source.width + x] = ss;
    }
  }
  return out;
}

function placeByMass(glyph, c) {
  const { width, height, data } = glyph;
  let total = 0;
  let rows = 0;
  let columns = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const value = data[y * width + x];
      total += value;
      rows += value * y;
      columns += value * x;
    }
  }
  const size = c.canvas_size;
  let top = roundHalfEven(c.mnist_centre - rows / total);
  let left = roundHalfEven(c.mnist_centre - columns / total);
  top = Math.min(Math.max(top, 0), size - height);
  left = Math.min(Math.max(left, 0), size - width);
  const out = new Uint8Array(size * size);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      out[(y + top) * size + x + left] = roundHalfEven(f32(data[y * width + x] * 255));
    }
  }
  return out;
}

// ---- the answer, as model/runtime/calibration.py and recognizer.py make it ------------------------

// Calibrated probabilities from the model's softmax (float64 like numpy, returned as float32 values).
export function calibrate(raw, temperature) {
  const logits = Array.from(raw, (p) => Math.log(Math.min(1, Math.max(1e-12, p))) / temperature);
  const top = Math.max(...logits);
  const exp = logits.map((value) => Math.exp(value - top));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((value) => f32(value / sum));
}

// The prediction's fields (digit, confidence, probabilities, not_a_digit, low_confidence, reason) for
// a prepared input and the model's raw output, or for a drawing with no input (reason set).
export function answer(prepared, raw, card, contract) {
  const digits = 10;
  if (prepared.image === null || raw === null) {
    return {
      digit: null,
      confidence: 0,
      probabilities: new Array(digits).fill(0),
      not_a_digit: 0,
      low_confidence: false,
      reason: prepared.reason,
    };
  }
  const calibration = card.calibration ?? {};
  const calibrated = calibrate(raw, Number(calibration.temperature ?? 1));
  const threshold = calibration.not_a_digit_threshold;
  const notADigit = calibrated.length > digits ? calibrated[digits] : 0;
  let digit = 0;
  for (let d = 1; d < digits; d++) if (calibrated[d] > calibrated[digit]) digit = d;
  const refused = threshold !== undefined && threshold !== null && calibrated.length > digits && notADigit >= f32(threshold);
  const confidence = refused ? notADigit : calibrated[digit];
  return {
    digit: refused ? null : digit,
    confidence,
    probabilities: calibrated.slice(0, digits),
    not_a_digit: notADigit,
    low_confidence: !refused && confidence < contract.low_confidence,
    reason: refused ? "not_a_digit" : null,
  };
}
