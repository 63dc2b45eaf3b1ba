"""Live load: N Socket.IO drawers streaming canvas frames, against our server and the seed-style baseline.

Each drawer (websocket transport) sends a frame, waits for its answer, and sends the
next, back to back for T seconds; every eighth frame is final and starts a new attempt.
Both servers run side by side in the same run, each sent the same frames, and the
project's figures are reported as ratios against the baseline's, because absolute times
drift on shared machines. Every drawer count runs once per frame set (``--frames``):

* ``page``: the page's own frames, recorded from Chromium (``bench.page_frames``): cropped
  RGBA PNGs of at most 256 px, sent as bytes (binary attachments), as the page sends them;
* ``uncropped``: 500x500 canvases as another client sends them, data URLs (RGB on white
  and RGBA on transparent, an MNIST test digit drawn big anywhere);
* ``canvas``: whole 400x400 Chromium canvases as data URLs, what the page sent before it
  cropped (not run by default).

Issue 12's targets are checked against the runs at the end.

    python -m bench.live                      # 1, 20 and 50 drawers, 10 s each, page and uncropped frames
    python -m bench.live --frames page        # the page's frames only
    python -m bench.live --drawers 20 --frames uncropped --binary   # uncropped canvases, data URLs and bytes
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
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psutil
import socketio

from bench.timing import machine, median_ms, percentiles
from model.runtime.template import TEMPLATE_NAME
from tests.support.server_process import free_port, running_server, wait_healthy

FRAMES = Path(__file__).resolve().parent / "frames"
WARM_UP_DRAWERS, WARM_UP_SECONDS = 4, 3.0
ROOT = Path(__file__).resolve().parent.parent


def page_pngs() -> list[bytes]:
    """The page's own frames, recorded from Chromium by ``bench.page_frames``: cropped RGBA PNGs of at most
    256 px, from a drawing's first stroke to its last, as the page sends them (binary attachments)."""
    return [path.read_bytes() for path in sorted(FRAMES.glob("page-*.png"))]


def canvas_pngs() -> list[bytes]:
    """Whole 400x400 Chromium canvases (white and transparent): what the page sent before it cropped."""
    return [path.read_bytes() for path in sorted(FRAMES.glob("canvas-400-*.png"))]


def uncropped_pngs(count: int = 16, size: int = 500, seed: int = 12) -> list[bytes]:
    """Full ``size`` px canvases as a client that is not the page sends them, half RGB and half RGBA.

    The page's frames come from one 400 px canvas in one style; other clients send whole,
    bigger canvases, white-filled (RGB, dark pen) or transparent (RGBA, coloured pen), with
    the digit drawn big anywhere. MNIST test digits, re-drawn by the same helpers as
    ``model.training.realistic``'s canvases, seeded so every run sends the same bytes.
    """
    # Imported here: tests import this module for procfile_web and UNLIMITED only.
    import numpy as np
    from PIL import Image

    from model.training.data import load_mnist
    from model.training.realistic import encode, paint, place, stroke_shape

    digits = load_mnist().x_test
    rng = np.random.default_rng(seed)
    pngs = []
    for number, index in enumerate(rng.choice(len(digits), size=count, replace=False)):
        shape = stroke_shape(digits[index], int(rng.integers(size * 11 // 40, size * 33 // 40)), rng)
        coverage = place(shape, (size, size), rng)
        if number % 2 == 0:
            pngs.append(encode(Image.fromarray(paint(coverage, (10, 10, 30), (255, 255, 255)))))
        else:
            rgba = np.zeros((size, size, 4), dtype=np.uint8)
            rgba[..., :3] = [(0, 0, 0), (20, 40, 160), (200, 30, 30)][int(rng.integers(0, 3))]
            rgba[..., 3] = np.rint(coverage * 255).astype(np.uint8)
            pngs.append(encode(Image.fromarray(rgba, "RGBA")))
    return pngs


@dataclass(frozen=True)
class FrameSet:
    pngs: Callable[[], list[bytes]]
    binary: bool  # sent as PNG bytes (a binary attachment), else as a base64 data URL


# Each set goes to both servers as it is sent: the page's as bytes, as the page does; other
# clients' as data URLs (``--binary`` runs those as bytes too).
FRAME_SETS = {
    "page": FrameSet(page_pngs, binary=True),
    "uncropped": FrameSet(uncropped_pngs, binary=False),
    "canvas": FrameSet(canvas_pngs, binary=False),
}


def as_sent(pngs: list[bytes], binary: bool = False) -> list[str] | list[bytes]:
    """PNGs as a drawer sends them: data URLs, or the bytes themselves (binary frames)."""
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
    url: str, count: int, seconds: float, rate: float, images: list[str] | list[bytes], queue: multiprocessing.Queue
) -> None:
    """Several drawers as threads in one process; clients are spread over processes so they are not the bottleneck."""
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

    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds (user + system) per process, named for its role: each recognizer process
        (``recognizer 1``, ``recognizer 2``... by pid), ``template`` (the process they are forked from),
        ``web`` (the process that runs the event loop: the template's parent, or the only process), and
        ``other`` (gunicorn's master, a shell)."""
        seconds: dict[str, float] = {}
        processes = [self.root, *self.root.children(recursive=True)]
        roles = process_roles(processes)
        recognizers = sorted((process for process in processes if roles[process.pid] == RECOGNIZER), key=pid_of)
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                role = roles[process.pid]
                if role == RECOGNIZER:
                    role = f"recognizer {recognizers.index(process) + 1}"
                seconds[role] = seconds.get(role, 0.0) + sum(process.cpu_times()[:2])
        return seconds


RECOGNIZER, TEMPLATE, WEB, OTHER = "recognizer", "template", "web", "other"


def pid_of(process: psutil.Process) -> int:
    return process.pid


def process_roles(processes: list[psutil.Process]) -> dict[int, str]:
    """Each server process's role: the template (``model/runtime/template.py``), the recognizers forked from it
    (its children), the web process (the template's parent; else the first process) and the others."""
    template = next((process for process in processes if process.name() == TEMPLATE_NAME), None)
    roles = dict.fromkeys((process.pid for process in processes), OTHER)
    if template is None:
        roles[processes[0].pid] = WEB
        return roles
    roles[template.pid], roles[template.ppid()] = TEMPLATE, WEB
    for process in processes:
        if process.ppid() == template.pid:
            roles[process.pid] = RECOGNIZER
    return roles


def load(
    url: str,
    drawers: int,
    seconds: float,
    rate: float,
    server: ServerProcesses | None,
    images: list[str] | list[bytes] | None = None,
) -> dict:
    """``drawers`` drawers sending ``images`` (default: the page's frames, bytes) for ``seconds``: the run's figures."""
    images = images or as_sent(page_pngs(), binary=True)
    rss_start = server.rss_mb() if server else float("nan")
    cpu_start = server.cpu_seconds() if server else 0.0
    roles_start = server.cpu_by_role() if server else {}
    processes = min(drawers, 4)
    queue: multiprocessing.Queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(
            target=drawer_process,
            args=(url, drawers // processes + (i < drawers % processes), seconds, rate, images, queue),
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
    roles_end = server.cpu_by_role() if server else {}
    answers = max(1, len(latencies))
    finals = percentiles([latency for result in results for latency in result.final_latencies_ms])
    return {
        "latencies_ms": latencies,
        "final_p50": finals["p50"],
        "final_p99": finals["p99"],
        "answers_per_s": sum(result.answers for result in results) / seconds,
        "errors": sum(result.errors for result in results),
        **percentiles(latencies),
        "cpu_percent": cpu_seconds / elapsed * 100.0,
        "cpu_ms_per_answer": cpu_seconds * 1000.0 / answers,
        "cpu_ms_per_answer_by_role": {
            role: (roles_end[role] - roles_start.get(role, 0.0)) * 1000.0 / answers for role in roles_end
        },
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


def row(name: str, frame_set: str, drawers: int, figures: dict) -> str:
    return (
        f"| {name} | {frame_set} | {drawers} | {figures['answers_per_s']:.0f} | {figures['p50']:.1f} | "
        f"{figures['p95']:.1f} | {figures['p99']:.1f} | {figures['final_p50']:.1f} / {figures['final_p99']:.1f} | "
        f"{figures['errors']} | {figures['cpu_percent']:.0f}% ({figures['cpu_ms_per_answer']:.2f} ms/answer) | "
        f"{figures['rss_mb_start']:.0f} → {figures['rss_mb_end']:.0f} |"
    )


def throughput_ratio(ours: dict, baseline: dict) -> float:
    return ours["answers_per_s"] / max(baseline["answers_per_s"], 1e-9)


def ratio_row(mode: str, frame_set: str, drawers: int, ours: dict, baseline: dict) -> str:
    return (
        f"| **ratio** ({mode}) | {frame_set} | {drawers} | **{throughput_ratio(ours, baseline):.1f}x** throughput | "
        f"{baseline['p50'] / ours['p50']:.1f}x faster p50 | | {baseline['p99'] / ours['p99']:.1f}x faster p99 "
        "| | | | |"
    )


# A target's measure: the figure and whether it is met, from our run and the baseline's
# (None when the baseline was not run); None when the target needs a run that was not made.
Measure = Callable[[dict, dict | None], tuple[str, bool] | None]


def throughput_at_least(times: float) -> Measure:
    def measure(ours: dict, baseline: dict | None) -> tuple[str, bool] | None:
        if baseline is None:
            return None
        ratio = throughput_ratio(ours, baseline)
        return f"{ratio:.1f}x", ratio >= times

    return measure


def latency_at_most(percentile: str, ms: float) -> Measure:
    def measure(ours: dict, baseline: dict | None) -> tuple[str, bool]:
        return f"{ours[percentile]:.1f} ms", ours[percentile] <= ms  # NaN (no answers) is not met

    return measure


def no_errors(ours: dict, baseline: dict | None) -> tuple[str, bool]:
    """Ours must not fail; neither must the baseline, or the ratio beside it is not a fair one."""
    if baseline is None:
        return f"{ours['errors']}", ours["errors"] == 0
    return f"{ours['errors']} (baseline {baseline['errors']})", ours["errors"] == 0 == baseline["errors"]


@dataclass(frozen=True)
class Target:
    text: str
    frame_set: str
    drawers: int
    measure: Measure
    sent_as: str = "ours"  # which of our runs: "ours", or "ours, binary" (--binary)


TARGETS = [
    Target("20 drawers, page frames: throughput >= 35x the baseline", "page", 20, throughput_at_least(35)),
    Target("20 drawers, page frames: p99 <= 100 ms", "page", 20, latency_at_most("p99", 100)),
    Target("20 drawers, page frames: zero errors", "page", 20, no_errors),
    Target("20 drawers, uncropped 500 px: throughput >= 20x the baseline", "uncropped", 20, throughput_at_least(20)),
    Target("20 drawers, uncropped 500 px: p99 <= 100 ms", "uncropped", 20, latency_at_most("p99", 100)),
    Target("20 drawers, uncropped 500 px: zero errors", "uncropped", 20, no_errors),
    Target(
        "20 drawers, uncropped 500 px as bytes: throughput >= 20x the baseline (its data-URL run)",
        "uncropped",
        20,
        throughput_at_least(20),
        sent_as="ours, binary",
    ),
    Target("50 drawers, page frames: p99 <= 150 ms", "page", 50, latency_at_most("p99", 150)),
    Target("1 drawer, page frames: p50 <= 5 ms", "page", 1, latency_at_most("p50", 5)),
]


def targets_table(runs: dict[tuple[str, str, int], dict]) -> str:
    """Issues 12 and 23's targets against this invocation's runs, keyed (``ours``, ``ours, binary`` or
    ``baseline``, frame set, drawers)."""
    lines = ["| target | measured | met |", "|---|---:|---|"]
    for target in TARGETS:
        ours = runs.get((target.sent_as, target.frame_set, target.drawers))
        result = target.measure(ours, runs.get(("baseline", target.frame_set, target.drawers))) if ours else None
        measured, met = result if result else ("not run", "not run")
        lines.append(f"| {target.text} | {measured} | {met if result is None else 'yes' if met else '**no**'} |")
    return "\n".join(lines)


def recognizer_work_ms(frames: list[str] | list[bytes]) -> float:
    """Decode + preprocess + model call of one frame in this process (the recognizer's own work, one core):
    the median over the frame set, each frame timed 20 times."""
    from model.runtime.recognizer import Recognizer  # imported here: tests import this module without the model

    recognizer = Recognizer.load()
    return statistics.median(median_ms(lambda frame=frame: recognizer.recognize(frame), 20, 3) for frame in frames)


def cpu_table(runs: dict[tuple[str, str, int], dict], frames: dict[str, list[str] | list[bytes]]) -> str:
    """Our server's CPU per answer by process, beside the limit its parts set on this machine's cores.

    The limit: every answer costs the web process's framing (as measured in the run: the websocket,
    Socket.IO, the queue, the answer) plus the recognizer's own work (decode, preprocess, model, timed
    in-process on the same frames); with ``os.cpu_count()`` cores and nothing else running, no server
    built of these parts answers faster than cores / (framing + work)."""
    cores = os.cpu_count() or 1
    work = {name: recognizer_work_ms(sent) for name, sent in frames.items()}
    lines = [
        "| frames | drawers | web ms | recognizers ms | all processes ms | recognizer's own work ms "
        "| limit on these cores (answers/s) | measured answers/s | share of the limit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (server, frame_set, drawers), figures in runs.items():
        if server != "ours" or frame_set not in work:
            continue
        roles = figures["cpu_ms_per_answer_by_role"]
        web = roles.get("web", 0.0)
        recognizers = " + ".join(f"{ms:.2f}" for role, ms in roles.items() if role.startswith("recognizer"))
        limit = cores * 1000.0 / (web + work[frame_set])
        lines.append(
            f"| {frame_set} | {drawers} | {web:.2f} | {recognizers or '-'} | {figures['cpu_ms_per_answer']:.2f} | "
            f"{work[frame_set]:.2f} | {limit:.0f} | {figures['answers_per_s']:.0f} | "
            f"{figures['answers_per_s'] / limit:.0%} |"
        )
    return "\n".join(lines)


def frame_sizes(pngs: dict[str, list[bytes]]) -> str:
    """Bytes per frame of each set as sent, so a set's cost can be told from its size."""
    lines = []
    for name, files in pngs.items():
        binary = FRAME_SETS[name].binary
        sent = as_sent(files, binary)
        lines.append(
            f"Frames {name}: {len(files)} PNGs sent as {'bytes' if binary else 'data URLs'}, "
            f"{sum(map(len, sent)) / len(sent):,.0f} bytes on average (largest {max(map(len, sent)):,})"
        )
    return "\n".join(lines)


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


@dataclass(frozen=True)
class Servers:
    ours: dict[str, str]  # ASYNC_MODE -> URL; the last mode is the one compared with the baseline
    versus: str | None
    baseline: str | None


def run_frame_set(
    args: argparse.Namespace,
    servers: Servers,
    frame_set: str,
    pngs: list[bytes],
    drawers: int,
    runs: dict[tuple[str, str, int], dict],
) -> None:
    """Every server at one drawer count on one frame set, a row printed per run.

    Ours (the last mode) and the baseline are kept in ``runs`` for the targets.
    """
    seconds, urls = args.soak or args.seconds, as_sent(pngs, FRAME_SETS[frame_set].binary)
    for mode, server in servers.ours.items():
        figures = load(server, drawers, seconds, args.rate, ServerProcesses.find(server), urls)
        print(row(f"ours ({mode})", frame_set, drawers, figures), flush=True)
        if args.binary and not FRAME_SETS[frame_set].binary:
            binary = load(server, drawers, seconds, args.rate, ServerProcesses.find(server), as_sent(pngs, True))
            print(row(f"ours ({mode}), binary frames", frame_set, drawers, binary), flush=True)
            runs["ours, binary", frame_set, drawers] = binary
        if args.soak:
            curve = " → ".join(f"{mb:.0f}" for mb in figures["rss_curve"])
            print(f"\nRSS MB every tenth of the soak: {curve}")
    runs["ours", frame_set, drawers] = figures
    if servers.versus:
        again = load(servers.versus, drawers, seconds, args.rate, ServerProcesses.find(servers.versus), urls)
        print(row(f"{args.versus} ({args.versus_mode})", frame_set, drawers, again), flush=True)
    if servers.baseline:
        base = load(servers.baseline, drawers, seconds, args.rate, ServerProcesses.find(servers.baseline), urls)
        runs["baseline", frame_set, drawers] = base
        print(row("seed-style baseline", frame_set, drawers, base), flush=True)
        print(ratio_row(list(servers.ours)[-1], frame_set, drawers, figures, base), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drawers", default="1,20,50", help="comma-separated counts")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--frames", default="page,uncropped", help=f"comma-separated: {', '.join(FRAME_SETS)}")
    parser.add_argument("--url", help="measure a running server instead of starting both")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--binary", action="store_true", help="also run ours with data-URL sets sent as bytes")
    parser.add_argument("--versus", metavar="REVISION", help="also run our server at this git revision, side by side")
    parser.add_argument("--versus-mode", default="threading", help="ASYNC_MODE for --versus (threading before 12/2026)")
    parser.add_argument("--soak", type=float, help="run 20 drawers this many seconds (first frame set), report memory")
    parser.add_argument("--rate", type=float, default=0, help="frames per second per drawer (0: back to back)")
    parser.add_argument(
        "--mode",
        default="eventlet",
        help="the Procfile's web process with ASYNC_MODE=eventlet (its default) or threading (gthread); "
        "comma-separated modes each get a server, measured in the same run",
    )
    args = parser.parse_args()
    frame_sets = args.frames.split(",")
    if unknown := set(frame_sets) - FRAME_SETS.keys():
        parser.error(f"unknown frame sets {sorted(unknown)}; known: {', '.join(FRAME_SETS)}")
    counts = [20] if args.soak else [int(count) for count in args.drawers.split(",")]
    if args.soak:  # one soak is long enough
        frame_sets = frame_sets[:1]
    pngs = {name: FRAME_SETS[name].pngs() for name in frame_sets}
    pace = f"{args.rate:g} frames/s per drawer" if args.rate else "frames back to back"
    print(f"# Live load, {args.soak or args.seconds:.0f} s per run, {pace} ({machine()})\n")
    print(f"{frame_sizes(pngs)}\n")
    print(
        "| server | frames | drawers | answers/s | p50 ms | p95 ms | p99 ms | final p50 / p99 ms | errors | server CPU "
        "| RSS MB start → end |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    runs: dict[tuple[str, str, int], dict] = {}
    with ExitStack() as stack:
        ours = {mode: args.url or start_ours(stack, mode) for mode in args.mode.split(",")}
        versus = start_ours(stack, args.versus_mode, revision_tree(stack, args.versus)) if args.versus else None
        baseline = None if args.no_baseline or args.url or args.soak else start_baseline(stack)
        for server in (*ours.values(), versus, baseline):
            if server:  # first frames pay for loading (our recognizer processes, Keras' first predict): not measured
                load(server, WARM_UP_DRAWERS, WARM_UP_SECONDS, 0, None)
        for drawers in counts:
            for frame_set in frame_sets:
                run_frame_set(args, Servers(ours, versus, baseline), frame_set, pngs[frame_set], drawers, runs)
    if args.rate:
        print("\nIssue 12's targets are for frames back to back: not checked with --rate.")
    else:
        print(f"\n# Targets (issues 12 and 23), ours ({list(ours)[-1]})\n\n{targets_table(runs)}")
    if not args.url:
        sent = {name: as_sent(pngs[name], FRAME_SETS[name].binary) for name in frame_sets}
        print(f"\n# Where the CPU goes, per answer (ours, {list(ours)[-1]})\n\n{cpu_table(runs, sent)}")


if __name__ == "__main__":
    main()
