// The service worker (served at /sw.js by server/api/browser_model.py, scope "/"): after one visit the
// drawing page, kiosk mode, the offline recognizer and the served model load with the server down.
// The server writes this deploy's build version, the served model version and the page's files into
// this script; a new deploy or a model switch changes its bytes, so the browser installs the new worker
// on the next visit, which fills a cache named after both versions and deletes the old ones: a kiosk
// is never stuck on an old page or model (reload twice: the first installs, the second uses it).
//
// Pages (navigations) and the model card: the network first, the cache when it fails (no answer, or a 5xx
// such as a proxy's 502 for servers that are down). The page's files
// and the model file (its URL names its version): the cache first. Everything else (Socket.IO, the API)
// goes to the network untouched.

const BUILD = "__BUILD_VERSION__";
const MODEL = "__MODEL_VERSION__";
const FILES = __SHELL_FILES__;
const CACHE = `digits-${BUILD}-${MODEL}`;
const PAGES = ["/", "/dashboard", "/history"];
const INSTALL_TRIES = 5;
const NETWORK_WAIT_MS = 5000; // a page's or the card's answer; a host that is off may not refuse for minutes
const MODEL_FILES = ["/api/model/card", `/api/model/digits.tflite?version=${encodeURIComponent(MODEL)}`];
// LiteRT.js's own test for relaxed SIMD (core.js): the page loads the build that needs it where it runs.
const RELAXED_SIMD = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15,
  253, 128, 2, 11,
]);

function runtimeFiles() {
  const build = WebAssembly.validate(RELAXED_SIMD) ? "litert_wasm_internal" : "litert_wasm_compat_internal";
  return [`/static/vendor/litert/${build}.js`, `/static/vendor/litert/${build}.wasm`];
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const urls = [...PAGES, ...FILES, ...runtimeFiles(), ...MODEL_FILES];
      const responses = await Promise.all(urls.map(fetchOk));
      await Promise.all(urls.map((url, index) => cache.put(url, responses[index])));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name !== CACHE && name.startsWith("digits-")) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, url.pathname));
  } else if (url.pathname === "/api/model/card") {
    event.respondWith(networkFirst(request, url.pathname));
  } else if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/api/model/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(cacheFirst(request));
  }
});

// The network's answer, or the cached page of that path (whatever its query) when there is none: no network,
// the server down, a proxy's 502 or 504 for servers that are down or hung, or no answer in NETWORK_WAIT_MS.
async function networkFirst(request, path) {
  const cache = await caches.open(CACHE);
  const cached = (await cache.match(request, { ignoreSearch: true })) ?? (await cache.match(path));
  if (!cached) return fetch(request);
  try {
    const response = await Promise.race([fetch(request), timeout(NETWORK_WAIT_MS)]);
    if (response.status < 500 && response.status !== 429) return response; // a proxy's 429: its page is no page
  } catch {
    // no network, or no answer in time: the cached copy below
  }
  return cached;
}

// A file for the cache; a proxy's 429 (a class's phones all installing at once from one school address) is
// waited out, up to INSTALL_TRIES times, rather than failing the whole install.
async function fetchOk(url) {
  for (let tries = 1; ; tries += 1) {
    const response = await fetch(url, { cache: "no-cache" });
    if (response.ok) return response;
    if (response.status !== 429 || tries === INSTALL_TRIES) throw new Error(`${url}: HTTP ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 1000 * tries));
  }
}

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms));
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  return (await cache.match(request)) ?? fetch(request);
}

// The page asks which versions its worker caches (tests and the kiosk panel read it).
self.addEventListener("message", (event) => {
  if (event.data === "versions") event.source?.postMessage({ build: BUILD, model: MODEL, cache: CACHE });
});
