// The browser's own recognizer, for when the server cannot answer (docs/offline.md): the server's
// active model file (GET /api/model/card names it and its SHA-256; the bytes are checked before use)
// run by LiteRT.js in WebAssembly (frontend/vendor/litert/, vendored from npm), behind the server's
// preprocessing ported to JavaScript (preprocess.js, constants from the card's "preprocess" contract).
// Its answer has the fields of a server prediction, so the page shows it the same way.

import { answer, fromImageData, prepare } from "./preprocess.js";

const RUNTIME = new URL("../vendor/litert/", import.meta.url).pathname;
let runtime = null; // LiteRT.js, loaded once per page

export class OfflineRecognizer {
  constructor() {
    this.card = null; // GET /api/model/card: { version, sha256, tflite, card, preprocess }
    this.model = null;
    this.loading = null;
    this.readyAt = null; // performance.now() when the first offline answer became possible
  }

  get ready() {
    return this.model !== null;
  }

  get version() {
    return this.card?.version ?? null;
  }

  // Load (once) the card, the model file and the runtime; resolves to this, rejects if any fails.
  load() {
    this.loading ??= this.loadOnce().catch((error) => {
      this.loading = null; // a later call tries again (the server may be back, or the cache filled)
      throw error;
    });
    return this.loading;
  }

  async loadOnce() {
    const card = await fetchJson("/api/model/card");
    const bytes = new Uint8Array(await (await fetchOk(card.tflite)).arrayBuffer());
    const digest = await sha256Hex(bytes);
    if (digest !== card.sha256) throw new Error(`model ${card.version}: SHA-256 ${digest} is not the card's`);
    // Imported here, not at the top: a page without the import map, or a browser without WebAssembly,
    // loses the fallback and nothing else.
    runtime ??= import("@litertjs/core").then(async (litert) => {
      // The WebAssembly module's own log (every model load, on stderr) goes to the debug console, not the
      // error console: the Emscripten module takes its print functions from globalThis.Module when it starts.
      const quiet = (text) => console.debug(`litert: ${text}`);
      globalThis.Module = { print: quiet, printErr: quiet };
      await litert.loadLiteRt(RUNTIME);
      return litert;
    });
    const litert = await runtime.catch((error) => {
      runtime = null;
      throw error;
    });
    this.Tensor = litert.Tensor;
    this.model = await litert.loadAndCompile(fixedBatch(bytes), { accelerator: "wasm" });
    this.card = card;
    this.readyAt = performance.now();
    return this;
  }

  // The 28x28 input and the answer for a drawing's pixels (an ImageData), as the server would give them.
  async recognize(imageData) {
    const contract = this.card.preprocess;
    const prepared = prepare(fromImageData(imageData), contract);
    if (prepared.image === null) return { ...answer(prepared, null, this.card.card, contract), input: null };
    const input = new Float32Array(prepared.image.length);
    for (let i = 0; i < input.length; i++) input[i] = Math.fround(prepared.image[i] / 255);
    const tensor = new this.Tensor(input, [1, 28, 28, 1]);
    let outputs;
    try {
      outputs = await this.model.run(tensor);
    } finally {
      tensor.delete();
    }
    const raw = outputs[0].toTypedArray().slice();
    for (const output of outputs) output.delete();
    return { ...answer(prepared, raw, this.card.card, contract), input: prepared.image };
  }
}

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

async function fetchJson(url) {
  return (await fetchOk(url)).json();
}

// The served .tflite takes a batch of any size (its input's shape signature is [-1, 28, 28, 1]; the server
// resizes it to each batch). LiteRT.js cannot resize, so the browser's copy is told "a batch of one":
// the -1s of every tensor's shape_signature become 1, in memory, after the file was checked. Nothing
// else changes (same weights, same operators): a flatbuffer walk over Model.subgraphs[].tensors[].
export function fixedBatch(bytes) {
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const u32 = (at) => view.getUint32(at, true);
  const field = (table, index) => {
    const vtable = table - view.getInt32(table, true);
    if (4 + 2 * index >= view.getUint16(vtable, true)) return null;
    const offset = view.getUint16(vtable + 4 + 2 * index, true);
    return offset === 0 ? null : table + offset;
  };
  const target = (at) => at + u32(at);
  const vector = (at) => {
    const start = target(at);
    return { length: u32(start), first: start + 4 };
  };
  const subgraphs = vector(field(u32(0), 2)); // Model.subgraphs
  for (let s = 0; s < subgraphs.length; s++) {
    const subgraph = target(subgraphs.first + 4 * s);
    const tensors = vector(field(subgraph, 0)); // SubGraph.tensors
    for (let t = 0; t < tensors.length; t++) {
      const signature = field(target(tensors.first + 4 * t), 7); // Tensor.shape_signature
      if (signature === null) continue;
      const dims = vector(signature);
      for (let d = 0; d < dims.length; d++) {
        if (view.getInt32(dims.first + 4 * d, true) === -1) view.setInt32(dims.first + 4 * d, 1, true);
      }
    }
  }
  return out;
}

// crypto.subtle exists only in secure contexts (https, localhost); a kiosk served over plain http on a LAN
// checks the model with this small SHA-256 instead.
export async function sha256Hex(bytes) {
  if (globalThis.crypto?.subtle) {
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  return sha256Fallback(bytes);
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

export function sha256Fallback(bytes) {
  const length = bytes.length;
  const padded = new Uint8Array(Math.ceil((length + 9) / 64) * 64);
  padded.set(bytes);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(length / 0x20000000), false);
  view.setUint32(padded.length - 4, (length * 8) >>> 0, false);
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(block + 4 * i, false);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      [hh, g, f, e, d, c, b, a] = [g, f, e, (d + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
    }
    const add = [a, b, c, d, e, f, g, hh];
    for (let i = 0; i < 8; i++) h[i] = (h[i] + add[i]) >>> 0;
  }
  return [...h].map((x) => x.toString(16).padStart(8, "0")).join("");
}
