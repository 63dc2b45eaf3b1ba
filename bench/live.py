"""Live load: N Socket.IO drawers streaming real canvas frames, against our server and the seed-style baseline.

Each drawer (websocket transport) sends a 400x400 PNG data URL, waits for its answer,
and sends the next, back to back for T seconds; every eighth frame is final and starts a
new attempt. Both servers run side by side in the same run and the project's figures are
reported as ratios against the baseline's, because absolute times drift on shared machines.

    python -m bench.live                      # 1, 20 and 50 drawers, 10 s each
    python -m bench.live --drawers 20 --seconds 30
    python -m bench.live --drawers 20,30 --rate 8   # a classroom: each canvas streams 8 frames a second
    python -m bench.live --soak 600           # memory under a 10-minute soak (RSS start/end)
    python -m bench.live --mode eventlet,threading --no-baseline   # the two workers, side by side
    python -m bench.live --url http://host:8000 --drawers 20   # an already running server
    python -m bench.live --versus 9e787d0 --no-baseline   # this tree against another revision, same run

Final frames are reported on their own (``final p50/p99``): their answer waits until the
attempt is durable, so that is where the cost of durability shows.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import multiprocessing
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psutil
import socketio

from bench.timing import machine, percentiles
from tests.server_process import free_port, running_server, wait_healthy

FRAMES = Path(__file__).resolve().parent / "frames"
WARM_UP_DRAWERS, WARM_UP_SECONDS = 4, 3.0
ROOT = Path(__file__).resolve().parent.parent


def frames(binary: bool = False) -> list[str] | list[bytes]:
    """Real Chromium canvas frames (400x400 PNGs) of drawn digits: as data URLs, or as bytes (binary frames)."""
    pngs = [path.read_bytes() for path in sorted(FRAMES.glob("canvas-400-*.png"))]
    return pngs if binary else [f"data:image/png;base64,{base64.b64encode(png).decode()}" for png in pngs]


@dataclass
class Result:
    answers: int
    errors: int
    latencies_ms: list[float]
    final_latencies_ms: list[float]


def drawer(url: str, images: list[str], seconds: float, rate: float, results: list[Result]) -> None:
    """One drawer: frames back to back (rate 0), or paced at ``rate`` frames a second like a person."""
    client = socketio.SimpleClient()
    client.connect(url, transports=["websocket"])
    latencies, final_latencies, errors, answers = [], [], 0, 0
    deadline = time.monotonic() + seconds
    seq, attempt_id = 0, str(uuid.uuid4())
    while time.monotonic() < deadline:
        final = seq % 8 == 7
        started = time.perf_counter()
        client.emit("frame", {"attempt_id": attempt_id, "seq": seq, "image": images[seq % len(images)], "final": final})
        try:
            name, _ = client.receive(timeout=10)
        except socketio.exceptions.TimeoutError:
            errors += 1
            continue
        if name == "prediction":
            answers += 1
            latencies.append((time.perf_counter() - started) * 1000.0)
            if final:
                final_latencies.append(latencies[-1])
        else:
            errors += 1
        seq += 1
        if final:
            attempt_id = str(uuid.uuid4())
        if rate:
            time.sleep(max(0.0, 1.0 / rate - (time.perf_counter() - started)))
    client.disconnect()
    results.append(Result(answers, errors, latencies, final_latencies))


def drawer_process(
    url: str, count: int, seconds: float, rate: float, binary: bool, queue: multiprocessing.Queue
) -> None:
    """Several drawers as threads in one process; clients are spread over processes so they are not the bottleneck."""
    images = frames(binary)
    results: list[Result] = []
    threads = [threading.Thread(target=drawer, args=(url, images, seconds, rate, results)) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


class ServerProcesses:
    """Every process of a server: the one listening on its port and all its descendants.

    For ours that is gunicorn's master, its worker and the worker's recognizer
    processes; CPU and memory are summed over all of them.
    """

    def __init__(self, root: psutil.Process) -> None:
        self.root = root

    @classmethod
    def find(cls, url: str) -> ServerProcesses | None:
        """The server behind ``url`` when it runs on this machine, else None."""
        port = int(url.rsplit(":", 1)[1])
        listening = {
            connection.pid
            for connection in psutil.net_connections(kind="tcp")
            if connection.laddr.port == port and connection.status == psutil.CONN_LISTEN and connection.pid
        }
        roots = [pid for pid in listening if psutil.Process(pid).ppid() not in listening]
        return cls(psutil.Process(roots[0])) if roots else None

    def _sum(self, measure) -> float:
        total = 0.0
        for process in [self.root, *self.root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += measure(process)
        return total

    def rss_mb(self) -> float:
        return self._sum(lambda process: process.memory_info().rss) / 2**20

    def cpu_seconds(self) -> float:
        return self._sum(lambda process: sum(process.cpu_times()[:2]))


def load(
    url: str, drawers: int, seconds: float, rate: float, server: ServerProcesses | None, binary: bool = False
) -> dict:
    rss_start = server.rss_mb() if server else float("nan")
    cpu_start = server.cpu_seconds() if server else 0.0
    processes = min(drawers, 4)
    queue: multiprocessing.Queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(
            target=drawer_process,
            args=(url, drawers // processes + (i < drawers % processes), seconds, rate, binary, queue),
        )
        for i in range(processes)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    rss_curve: list[float] = []
    sampling = threading.Event()

    def sample_rss() -> None:  # ten points across the run: is memory flat after warm-up?
        while not sampling.wait(seconds / 10):
            rss_curve.append(server.rss_mb())

    sampler = threading.Thread(target=sample_rss, daemon=True)
    if server:
        sampler.start()
    results = [result for _ in workers for result in queue.get()]
    sampling.set()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    latencies = [latency for result in results for latency in result.latencies_ms]
    cpu_seconds = server.cpu_seconds() - cpu_start if server else float("nan")
    finals = percentiles([latency for result in results for latency in result.final_latencies_ms])
    return {
        "final_p50": finals["p50"],
        "final_p99": finals["p99"],
        "answers_per_s": sum(result.answers for result in results) / seconds,
        "errors": sum(result.errors for result in results),
        **percentiles(latencies),
        "cpu_percent": cpu_seconds / elapsed * 100.0,
        "cpu_ms_per_answer": cpu_seconds * 1000.0 / max(1, len(latencies)),
        "rss_mb_start": rss_start,
        "rss_mb_end": server.rss_mb() if server else float("nan"),
        "rss_curve": rss_curve,
        "elapsed_s": elapsed,
    }


def start_baseline(stack: ExitStack) -> str:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.baseline_server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.callback(process.terminate)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process)
    return url


# Benchmark drawers send back to back from one address, far faster than people: lift the
# per-connection and per-address limits (the fair share of the queue still applies).
UNLIMITED = {
    "RATE_LIMIT_PER_SECOND": "100000",
    "RATE_LIMIT_BURST": "100000",
    "ADDRESS_RATE_LIMIT_PER_SECOND": "100000",
    "ADDRESS_RATE_LIMIT_BURST": "100000",
    "REST_RATE_LIMIT_PER_SECOND": "100000",
    "REST_RATE_LIMIT_BURST": "100000",
    "MAX_CONNECTIONS_PER_ADDRESS": "100000",
}


def procfile_web(root: Path = ROOT) -> list[str]:
    """The Procfile's web process, exactly as a platform runs it (PORT comes from the environment)."""
    for line in (root / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return ["bash", "-c", line.split(":", 1)[1].strip()]
    raise SystemExit("The Procfile has no web process")


def row(name: str, drawers: int, figures: dict) -> str:
    return (
        f"| {name} | {drawers} | {figures['answers_per_s']:.0f} | {figures['p50']:.1f} | {figures['p95']:.1f} | "
        f"{figures['p99']:.1f} | {figures['final_p50']:.1f} / {figures['final_p99']:.1f} | {figures['errors']} | "
        f"{figures['cpu_percent']:.0f}% ({figures['cpu_ms_per_answer']:.2f} ms/answer) | "
        f"{figures['rss_mb_start']:.0f} → {figures['rss_mb_end']:.0f} |"
    )


def revision_tree(stack: ExitStack, revision: str) -> Path:
    """Another revision of this repository, unpacked into a temporary folder (models included)."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def start_ours(stack: ExitStack, mode: str, cwd: Path = ROOT) -> str:
    """Our server from ``cwd`` (this tree, or another revision's): the Procfile's web process in ``mode``."""
    data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    return stack.enter_context(running_server(data, command=procfile_web(cwd), cwd=cwd, ASYNC_MODE=mode, **UNLIMITED))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drawers", default="1,20,50", help="comma-separated counts")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--url", help="measure a running server instead of starting both")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--binary", action="store_true", help="also run ours with binary frames (PNG bytes)")
    parser.add_argument("--versus", metavar="REVISION", help="also run our server at this git revision, side by side")
    parser.add_argument("--versus-mode", default="threading", help="ASYNC_MODE for --versus (threading before 12/2026)")
    parser.add_argument("--soak", type=float, help="run 20 drawers this many seconds and report memory")
    parser.add_argument("--rate", type=float, default=0, help="frames per second per drawer (0: back to back)")
    parser.add_argument(
        "--mode",
        default="eventlet",
        help="the Procfile's web process with ASYNC_MODE=eventlet (its default) or threading (gthread); "
        "comma-separated modes each get a server, measured in the same run",
    )
    args = parser.parse_args()
    counts = [20] if args.soak else [int(count) for count in args.drawers.split(",")]
    seconds = args.soak or args.seconds
    pace = f"{args.rate:g} frames/s per drawer" if args.rate else "frames back to back"
    print(f"# Live load, {seconds:.0f} s per run, {pace} ({machine()})\n")
    if args.binary:
        urls, pngs = frames(), frames(binary=True)
        url_bytes, png_bytes = sum(map(len, urls)) / len(urls), sum(map(len, pngs)) / len(pngs)
        print(f"Bytes per frame: data URL {url_bytes:.0f}, binary PNG {png_bytes:.0f} (plus the same envelope)\n")
    print(
        "| server | drawers | answers/s | p50 ms | p95 ms | p99 ms | final p50 / p99 ms | errors | server CPU "
        "| RSS MB start → end |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    modes = args.mode.split(",")
    with ExitStack() as stack:
        ours = {mode: args.url or start_ours(stack, mode) for mode in modes}
        versus = start_ours(stack, args.versus_mode, revision_tree(stack, args.versus)) if args.versus else None
        baseline = None if args.no_baseline or args.url or args.soak else start_baseline(stack)
        for server in (*ours.values(), versus, baseline):
            if server:  # first frames pay for loading (our recognizer processes, Keras' first predict): not measured
                load(server, WARM_UP_DRAWERS, WARM_UP_SECONDS, 0, None)
        for drawers in counts:
            for mode, server in ours.items():
                figures = load(server, drawers, seconds, args.rate, ServerProcesses.find(server))
                print(row(f"ours ({mode})", drawers, figures), flush=True)
                if args.binary:
                    binary = load(server, drawers, seconds, args.rate, ServerProcesses.find(server), binary=True)
                    print(row(f"ours ({mode}), binary frames", drawers, binary), flush=True)
                if args.soak:
                    curve = " → ".join(f"{mb:.0f}" for mb in figures["rss_curve"])
                    print(f"\nRSS MB every tenth of the soak: {curve}")
            if versus:
                again = load(versus, drawers, seconds, args.rate, ServerProcesses.find(versus))
                print(row(f"{args.versus} ({args.versus_mode})", drawers, again), flush=True)
            if baseline:
                base = load(baseline, drawers, seconds, args.rate, ServerProcesses.find(baseline))
                print(row("seed-style baseline", drawers, base), flush=True)
                ratio = figures["answers_per_s"] / max(base["answers_per_s"], 1e-9)
                print(
                    f"| **ratio** ({modes[-1]}) | {drawers} | **{ratio:.1f}x** throughput | "
                    f"{base['p50'] / figures['p50']:.1f}x faster p50 | | "
                    f"{base['p99'] / figures['p99']:.1f}x faster p99 | | | | |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
