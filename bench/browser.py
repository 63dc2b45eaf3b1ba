"""The browser's offline recognizer in Chromium: answer time per frame, first-load bytes, time to ready.

Against a real server (``python -m server``), in Debian's headless Chromium:

* **First load** (a fresh profile): the bytes the page transferred, by kind: the page (HTML, CSS, its
  scripts, catalogues, Socket.IO), the runtime (LiteRT.js and its one WebAssembly build) and the model
  (card and ``.tflite``), from the Resource Timing entries; and the time from navigation until an
  offline answer is possible (the model checked and compiled: ``data-offline-ready-ms``). The service
  worker then caches the same files once more for offline loads; its own install traffic is not counted.
* **Warm load** (the same profile, the server stopped): the time until an offline answer is possible
  when everything comes from the service worker's cache.
* **Answer time**: the page's own recorded frames (``bench/frames/page-*.png``, what the pad sends)
  recognized by the browser, preprocessing and model together, p50 and p99 per frame.

    python -m bench.browser
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.timing import machine, percentiles
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS, PNG_PIXELS
from tests.support.server_process import free_port, start_server, stop_server

FRAMES = sorted((Path(__file__).resolve().parent / "frames").glob("page-*.png"))
PASSES = 10  # every recorded frame this many times (after one warm-up pass)

ANSWER_TIMES = (
    """
async ({ frames, passes }) => {"""
    + PNG_PIXELS
    + """
  const { OfflineRecognizer } = await import("/static/js/offline.js");
  const recognizer = await new OfflineRecognizer().load();
  const pixels = [];
  for (const png of frames) pixels.push(await pngPixels(png));
  for (const image of pixels) await recognizer.recognize(image);  // warm-up
  const times = [];
  for (let pass = 0; pass < passes; pass++) {
    for (const image of pixels) {
      const started = performance.now();
      await recognizer.recognize(image);
      times.push(performance.now() - started);
    }
  }
  return times;
}
"""
)

TRANSFERRED = r"""
() => {
  const kinds = { page: 0, runtime: 0, model: 0 };
  const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
  for (const entry of entries) {
    const path = new URL(entry.name).pathname;
    if (/^\/(socket\.io|api\/kiosks|api\/deliveries)/.test(path)) continue;
    let kind = "page";
    if (path.startsWith("/static/vendor/litert/")) kind = "runtime";
    else if (path.startsWith("/api/model/")) kind = "model";
    kinds[kind] += entry.transferSize || entry.encodedBodySize || 0;
  }
  return kinds;
}
"""


def ready_ms(page) -> float:
    page.wait_for_function("() => document.documentElement.dataset.offlineReadyMs", timeout=120000)
    return float(page.evaluate("() => document.documentElement.dataset.offlineReadyMs"))


def main() -> None:
    with tempfile.TemporaryDirectory() as data, sync_playwright() as playwright:
        port = free_port()
        process, base = start_server(Path(data), port=port)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        profile = browser.new_context(viewport={"width": 1100, "height": 800})
        try:
            page = profile.new_page()
            page.goto(base)
            cold = ready_ms(page)
            page.wait_for_timeout(500)
            transferred = page.evaluate(TRANSFERRED)
            page.evaluate("async () => { await navigator.serviceWorker.ready; }")
            frames = [base64.b64encode(path.read_bytes()).decode() for path in FRAMES]
            times = page.evaluate(ANSWER_TIMES, {"frames": frames, "passes": PASSES})
            stop_server(process)
            process = None
            page.reload()
            warm = ready_ms(page)
        finally:
            if process is not None:
                stop_server(process)
            browser.close()
    answer = percentiles(times)
    total = sum(transferred.values())
    print(f"# The browser's offline recognizer (Chromium headless, {machine()})")
    print(
        f"answer time per frame ({len(times)} frames: the page's own, preprocessing + model): "
        f"p50 {answer['p50']:.2f} ms, p99 {answer['p99']:.2f} ms"
    )
    print(
        f"first load transferred: page {transferred['page'] / 1024:.0f} KiB, runtime "
        f"{transferred['runtime'] / 1024:.0f} KiB, model {transferred['model'] / 1024:.0f} KiB, "
        f"total {total / 1024 / 1024:.1f} MiB"
    )
    print(
        f"time until an offline answer is possible: first load {cold:.0f} ms, "
        f"later loads with the server down (service worker) {warm:.0f} ms"
    )


if __name__ == "__main__":
    main()
