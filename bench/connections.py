"""Many open connections on one web process: 20 drawers with and without a crowd of idle clients.

The crowd are idle Socket.IO clients that only answer pings, as kiosks and open tabs do, all
from one address: by default real python-socketio clients over websocket, spread over
several client processes (``--crowd-client socketio``), or this project's hand-written
asyncio clients (``raw``, ``tests/support/crowd.py``). The server is the Procfile's web
process. Each run is its own side-by-side comparison, in three windows: the drawers alone for
half the time, then with the crowd connected for the whole time, then alone again for the
other half after the crowd left (A-B-A). "Without the crowd" pools both alone windows, which
bracket the crowded one, so a machine that slows or speeds up steadily during a run (other
tenants, CPU boost) weighs on both sides alike instead of reading as the crowd's cost; it
once made the same tree's ratio swing from 0.83x to 1.16x between runs. Reported per run: the
drawers' latency without and with the crowd, ``/healthz`` latency under the crowd and the
drawers (probed every 50 ms, as a platform's health check would, more often), memory per
idle connection (all server processes' RSS before and after the crowd connects); and issue
23's targets over all runs.

    python -m bench.connections                  # 5 runs: 1,000 idle python-socketio clients, 20 drawers, 10 s
    python -m bench.connections --runs 1 --crowd-client raw
    python -m bench.connections --crowd 300 --mode threading   # the gthread worker, for comparison
    python -m bench.connections --gc-log         # and every full garbage collection's pause, per window
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import requests
import socketio

from bench.live import (
    UNLIMITED,
    WARM_UP_DRAWERS,
    WARM_UP_SECONDS,
    WEB,
    ServerProcesses,
    load,
    process_roles,
    procfile_web,
)
from bench.timing import machine, percentiles
from tests.support.crowd import Crowd
from tests.support.server_process import running_server


class HealthProbe(threading.Thread):
    """GET /healthz every ``interval`` seconds until stopped; latencies in ms, failures counted."""

    def __init__(self, base: str, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.base, self.interval = base, interval
        self.latencies_ms: list[float] = []
        self.failures = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        with requests.Session() as session:
            while not self._stopping.wait(self.interval):
                started = time.perf_counter()
                try:
                    session.get(f"{self.base}/healthz", timeout=5).raise_for_status()
                    self.latencies_ms.append((time.perf_counter() - started) * 1000.0)
                except requests.RequestException:
                    self.failures += 1

    def stop(self) -> None:
        self._stopping.set()
        self.join()


CROWD_PROCESSES = 8
P99_GROWTH_ALLOWED = 1.10  # the drawers' p99 with the crowd, against without it
HEALTH_P99_MS = 100.0


def idle_socketio_clients(url: str, count: int, counts: multiprocessing.Queue, leave: multiprocessing.Event) -> None:
    """``count`` python-socketio clients (websocket) that stay connected and answer pings until ``leave``."""
    clients = []
    for _ in range(count):
        client = socketio.Client(reconnection=False)
        try:
            client.connect(url, transports=["websocket"], wait_timeout=30)
            clients.append(client)
        except socketio.exceptions.ConnectionError:
            pass
    counts.put(len(clients))
    leave.wait()
    counts.put(sum(client.connected for client in clients))
    for client in clients:
        client.disconnect()


class SocketIOCrowd:
    """The crowd as python-socketio clients in ``CROWD_PROCESSES`` processes (its threads are the client's cost)."""

    def __init__(self, url: str, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.counts, self.leave = context.Queue(), context.Event()
        shares = [count // CROWD_PROCESSES + (i < count % CROWD_PROCESSES) for i in range(CROWD_PROCESSES)]
        self.processes = [
            context.Process(target=idle_socketio_clients, args=(url, share, self.counts, self.leave))
            for share in shares
        ]
        self.connected = 0

    def start(self, timeout: float = 300.0) -> None:
        for process in self.processes:
            process.start()
        self.connected = sum(self.counts.get(timeout=timeout) for _ in self.processes)

    def still_connected(self) -> int:
        """Asks every process (once, at the end): how many of its clients are still connected."""
        self.leave.set()
        return sum(self.counts.get(timeout=60) for _ in self.processes)

    def stop(self) -> None:
        self.leave.set()
        for process in self.processes:
            process.join(timeout=60)


class RawCrowd(Crowd):
    """``tests/support/crowd.py``'s asyncio clients, with the same face as ``SocketIOCrowd``."""

    def __init__(self, url: str, count: int) -> None:
        super().__init__("127.0.0.1", int(url.rsplit(":", 1)[1]), count)


CROWDS = {"socketio": SocketIOCrowd, "raw": RawCrowd}


def drawers_with_health(base: str, drawers: int, seconds: float) -> tuple[dict, HealthProbe]:
    probe = HealthProbe(base)
    probe.start()
    figures = load(base, drawers, seconds, 0, ServerProcesses.find(base))
    probe.stop()
    return figures, probe


GC_LOG = Path(__file__).resolve().parent / "gc_log"


def full_collections(folder: Path, start: float, end: float, pids: set[int]) -> dict:
    """The generation-2 collections of the processes ``pids`` between ``start`` and ``end`` (epoch s): count and
    pauses in ms."""
    collections = [
        (float(pause), int(freed))
        for log in folder.glob("gc-*.log")
        if int(log.stem.split("-")[1]) in pids
        for at, pause, freed in (line.split() for line in log.read_text().splitlines())
        if start <= float(at) <= end
    ]
    pauses = [pause for pause, _ in collections]
    return {
        "count": len(pauses),
        "max_ms": max(pauses, default=0.0),
        "total_ms": sum(pauses),
        "freed": sum(freed for _, freed in collections),
    }


def web_and_others(server: ServerProcesses) -> tuple[set[int], set[int]]:
    """The web process's pid (whose pauses stop every connection), and every other server process's."""
    processes = [server.root, *server.root.children(recursive=True)]
    roles = process_roles(processes)
    web = {pid for pid, role in roles.items() if role == WEB}
    return web, set(roles) - web


def timed(function, *args):
    """``function(*args)`` and the epoch times it started and ended."""
    start = time.time()
    result = function(*args)
    return result, (start, time.time())


def one_run(base: str, args: argparse.Namespace, server: ServerProcesses) -> dict:
    """The drawers alone, with the crowd, and alone again (A-B-A): both figures, the crowd's connections and
    memory. The two alone windows last half as long as the crowded one and are pooled."""
    (before, before_health), before_window = timed(drawers_with_health, base, args.drawers, args.seconds / 2)
    rss_before = server.rss_mb()
    crowd = CROWDS[args.crowd_client](base, args.crowd)
    started = time.monotonic()
    crowd.start(timeout=300)
    connect_s = time.monotonic() - started
    time.sleep(2)  # let the last joins settle before measuring memory
    rss_after = server.rss_mb()
    (crowded, crowded_health), crowded_window = timed(drawers_with_health, base, args.drawers, args.seconds)
    connected = crowd.still_connected()
    crowd.stop()
    time.sleep(2)  # the crowd's goodbyes, before the drawers draw alone again
    (after, after_health), after_window = timed(drawers_with_health, base, args.drawers, args.seconds / 2)
    return {
        "alone": pooled(before, after),
        "crowded": crowded,
        "health_alone": health_figures(before_health, after_health),
        "health_crowded": health_figures(crowded_health),
        "connected": connected,
        "connect_s": connect_s,
        "kb_per_connection": (rss_after - rss_before) * 1024 / args.crowd,
        "windows": {"alone, before": before_window, "crowded": crowded_window, "alone, after": after_window},
    }


def pooled(*windows: dict) -> dict:
    """The figures of windows of equal length as one: every latency together, the mean rate, all errors."""
    return {
        **percentiles([latency for window in windows for latency in window["latencies_ms"]]),
        "answers_per_s": sum(window["answers_per_s"] for window in windows) / len(windows),
        "errors": sum(window["errors"] for window in windows),
    }


def health_figures(*probes: HealthProbe) -> dict:
    return percentiles([latency for probe in probes for latency in probe.latencies_ms]) | {
        "failures": sum(probe.failures for probe in probes)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crowd", type=int, default=1000, help="idle clients")
    parser.add_argument("--crowd-client", choices=sorted(CROWDS), default="socketio")
    parser.add_argument("--drawers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", default="eventlet", help="ASYNC_MODE of the Procfile's web process")
    parser.add_argument("--gc-log", action="store_true", help="log the server's full garbage collections")
    args = parser.parse_args()
    print(
        f"# {args.crowd} idle {args.crowd_client} clients and {args.drawers} drawers, {args.mode} worker, "
        f"{args.runs} runs ({machine()})\n"
    )
    print(
        "| run | | drawers' answers/s | drawers' p50 / p99 ms | /healthz p50 / p99 ms | health failures | errors |"
        "\n|---|---|---:|---:|---:|---:|---:|"
    )
    runs = []
    with ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        gc_folder = data / "gc"
        gc_folder.mkdir()
        logging = {"PYTHONPATH": str(GC_LOG), "GC_LOG_DIR": str(gc_folder)} if args.gc_log else {}
        base = stack.enter_context(running_server(data, procfile_web(), ASYNC_MODE=args.mode, **UNLIMITED, **logging))
        server = ServerProcesses.find(base)
        load(base, WARM_UP_DRAWERS, WARM_UP_SECONDS, 0, None)
        for number in range(1, args.runs + 1):
            run = one_run(base, args, server)
            runs.append(run)
            for name, figures, health in (
                (f"{args.drawers} drawers alone (before and after)", run["alone"], run["health_alone"]),
                (f"with {args.crowd} idle clients", run["crowded"], run["health_crowded"]),
            ):
                print(
                    f"| {number} | {name} | {figures['answers_per_s']:.0f} | {figures['p50']:.1f} / "
                    f"{figures['p99']:.1f} | {health['p50']:.1f} / {health['p99']:.1f} | {health['failures']} | "
                    f"{figures['errors']} |",
                    flush=True,
                )
            if args.gc_log:
                web, others = web_and_others(server)
                for name, (start, end) in run["windows"].items():
                    for who, pids in (("the web process", web), ("the other processes", others)):
                        collections = full_collections(gc_folder, start, end, pids)
                        print(
                            f"| {number} | full GCs of {who} while the drawers drew {name}: {collections['count']}, "
                            f"longest {collections['max_ms']:.1f} ms, {collections['total_ms']:.0f} ms in all, "
                            f"{collections['freed']:,} objects freed | | | | | |"
                        )
            print(
                f"| {number} | p99 with / without the crowd: {run['crowded']['p99'] / run['alone']['p99']:.2f}x; "
                f"{run['connected']} of {args.crowd} still connected, joined in {run['connect_s']:.1f} s, "
                f"{run['kb_per_connection']:.0f} KB each | | | | | |",
                flush=True,
            )
    growths = [run["crowded"]["p99"] / run["alone"]["p99"] for run in runs]
    health_p99 = max(run["health_crowded"]["p99"] for run in runs)
    within = sum(growth <= P99_GROWTH_ALLOWED for growth in growths)
    print("\n| target | measured | met |\n|---|---:|---|")
    print(
        f"| the drawers' p99 with the crowd within 10 % of without, in every run | {within} of {len(runs)} runs "
        f"({', '.join(f'{growth:.2f}x' for growth in growths)}) | {'yes' if within == len(runs) else '**no**'} |"
    )
    print(
        f"| /healthz p99 <= {HEALTH_P99_MS:.0f} ms under the crowd | worst {health_p99:.1f} ms | "
        f"{'yes' if health_p99 <= HEALTH_P99_MS else '**no**'} |"
    )


if __name__ == "__main__":
    main()
