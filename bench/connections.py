"""Many open connections on one web process: 20 drawers with and without a crowd of idle clients.

The crowd (``tests/support/crowd.py``) are Socket.IO websocket clients that only answer pings, as
kiosks and open tabs do. The server is the Procfile's web process. Reported: the drawers'
latency without and with the crowd, ``/healthz`` latency under the crowd and the drawers
(probed every 50 ms, as a platform's health check would, more often), and memory per idle
connection (all server processes' RSS before and after the crowd connects).

    python -m bench.connections                  # 1,000 idle clients, 20 drawers, 10 s
    python -m bench.connections --crowd 300 --mode threading   # the gthread worker, for comparison
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import requests

from bench.live import UNLIMITED, WARM_UP_DRAWERS, WARM_UP_SECONDS, ServerProcesses, load, procfile_web
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


def drawers_with_health(base: str, drawers: int, seconds: float) -> tuple[dict, HealthProbe]:
    probe = HealthProbe(base)
    probe.start()
    figures = load(base, drawers, seconds, 0, ServerProcesses.find(base))
    probe.stop()
    return figures, probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crowd", type=int, default=1000, help="idle clients")
    parser.add_argument("--drawers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--mode", default="eventlet", help="ASYNC_MODE of the Procfile's web process")
    args = parser.parse_args()
    print(f"# {args.crowd} idle connections and {args.drawers} drawers, {args.mode} worker ({machine()})\n")
    with ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        base = stack.enter_context(running_server(data, procfile_web(), ASYNC_MODE=args.mode, **UNLIMITED))
        port = int(base.rsplit(":", 1)[1])
        server = ServerProcesses.find(base)
        load(base, WARM_UP_DRAWERS, WARM_UP_SECONDS, 0, None)
        alone, alone_health = drawers_with_health(base, args.drawers, args.seconds)
        rss_before = server.rss_mb()
        crowd = Crowd("127.0.0.1", port, args.crowd)
        started = time.monotonic()
        crowd.start(timeout=300)
        connect_s = time.monotonic() - started
        time.sleep(2)  # let the last joins settle before measuring memory
        rss_after = server.rss_mb()
        crowded, crowded_health = drawers_with_health(base, args.drawers, args.seconds)
        connected = crowd.still_connected()
        crowd.stop()
    health_alone, health_crowded = percentiles(alone_health.latencies_ms), percentiles(crowded_health.latencies_ms)
    print("| | drawers' answers/s | drawers' p50 / p99 ms | /healthz p50 / p99 ms | health failures | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, figures, health, probe in (
        ("20 drawers alone", alone, health_alone, alone_health),
        (f"with {args.crowd} idle clients", crowded, health_crowded, crowded_health),
    ):
        print(
            f"| {name} | {figures['answers_per_s']:.0f} | {figures['p50']:.1f} / {figures['p99']:.1f} | "
            f"{health['p50']:.1f} / {health['p99']:.1f} | {probe.failures} | {figures['errors']} |"
        )
    print(
        f"\n{connected} of {args.crowd} idle clients still connected at the end; they connected in {connect_s:.1f} s."
        f"\nServer RSS {rss_before:.0f} → {rss_after:.0f} MB: {(rss_after - rss_before) * 1024 / args.crowd:.1f} KB "
        f"per idle connection.\nDrawers' p99 with the crowd is {crowded['p99'] / alone['p99']:.2f}x the p99 alone."
    )


if __name__ == "__main__":
    main()
