"""The class teaches the model, end to end on a running server: before and after a retrain.

A population the committed model finds hard (hollow "bubble" digits outlined from
handwriting fonts, ``model.training.realistic.outline_digit``: about 85 % read) is drawn by
``--drawers`` people, each on their own client address (127.0.0.x, so each is one
drawer to the split). Their drawings go through ``POST /api/predict`` and are labelled
through ``PUT /api/attempts/<id>/label``; then ``python -m model.training.retrain`` (what
``make retrain`` runs) trains on the server's store, the candidate is promoted through
``POST /api/models/<version>/activate`` while a drawer keeps predicting, and a held-out
part of the population (other drawings, never labelled) is scored through the API
before and after.

    python -m bench.retrain                       # 3,000 labelled drawings, 1,000 scored
    python -m bench.retrain --labelled 600 --scored 300 --fast

Prints accuracy before and after, MNIST before and after (from the gate), the retrain's
time, and prediction latency around the swap.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from bench.timing import machine, percentiles
from model.training.realistic import Sample, outline_samples
from tests.support.server_process import ROOT, TEACHER_HEADERS, running_server

SUBMITTERS = 4


class FromAddress(HTTPAdapter):
    """Connect from a given loopback address, so the server sees each drawer as its own client."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_for(drawer: int) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(f"127.0.0.{10 + drawer}"))
    return session


def predict(session: requests.Session, base: str, sample: Sample) -> dict:
    image = "data:image/png;base64," + base64.b64encode(sample.data).decode()
    response = session.post(f"{base}/api/predict", json={"image": image}, timeout=60)
    response.raise_for_status()
    return response.json()


def draw_and_label(base: str, samples: list[Sample], drawers: int) -> int:
    """Every drawer submits its share and corrects each answer; returns how many were read right."""
    sessions = [session_for(drawer) for drawer in range(drawers)]

    def one(index: int) -> bool:
        session, sample = sessions[index // 10 % drawers], samples[index]  # each drawer draws every digit
        answer = predict(session, base, sample)
        label = session.put(
            f"{base}/api/attempts/{answer['attempt_id']}/label",
            json={"label": sample.label},
            headers={"X-Owner-Token": answer["owner_token"]},  # a drawer corrects its own answer
        )
        label.raise_for_status()
        return answer["digit"] == sample.label

    with ThreadPoolExecutor(SUBMITTERS) as pool:
        return sum(pool.map(one, range(len(samples))))


def score(base: str, samples: list[Sample]) -> float:
    """Accuracy of the running server on drawings it was never taught (not labelled)."""
    session = session_for(200)  # an address no labelled drawer used
    with ThreadPoolExecutor(SUBMITTERS) as pool:
        right = pool.map(lambda sample: predict(session, base, sample)["digit"] == sample.label, samples)
        return sum(right) / len(samples)


def run_retrain(data: Path, fast: bool) -> tuple[dict, float, str]:
    """``python -m model.training.retrain`` on the server's store and models folder: its JSON line, seconds, table."""
    command = [sys.executable, "-m", "model.training.retrain", "--store-url", f"sqlite:///{data / 'attempts.db'}"]
    command += ["--models-dir", str(data / "models"), *(["--fast"] if fast else [])]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    lines = result.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"the retrain printed nothing: {result.stderr[-2000:]}")
    table = "\n".join(line for line in lines if not line.startswith(("MNIST test accuracy", "true", " ")))
    return json.loads(lines[-1]), seconds, table


class LatencyProbe:
    """One drawer predicting back to back in the background: (time, ms) of every answer, and errors."""

    def __init__(self, base: str, sample: Sample) -> None:
        self.base, self.sample = base, sample
        self.samples: list[tuple[float, float]] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        session = session_for(201)
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                predict(session, self.base, self.sample)
                self.samples.append((started, (time.perf_counter() - started) * 1000.0))
            except requests.RequestException:
                self.errors += 1

    def __enter__(self) -> LatencyProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def window(self, start: float, end: float) -> dict[str, float]:
        latencies = [ms for at, ms in self.samples if start <= at < end]
        return {**percentiles(latencies), "count": len(latencies)}


def swap(base: str, version: str, probe_sample: Sample) -> tuple[dict[str, dict[str, float]], int, float]:
    """Promote ``version`` while a drawer predicts: latency 3 s before, the 1 s after, and 1-4 s after."""
    with LatencyProbe(base, probe_sample) as probe:
        time.sleep(3.0)
        started = time.perf_counter()
        response = requests.post(f"{base}/api/models/{version}/activate", headers=TEACHER_HEADERS, timeout=60)
        response.raise_for_status()
        promote_ms = (time.perf_counter() - started) * 1000.0
        time.sleep(4.0)
    windows = {
        "before": probe.window(started - 3.0, started),
        "first second after": probe.window(started, started + 1.0),
        "1-4 s after": probe.window(started + 1.0, started + 4.0),
    }
    return windows, probe.errors, promote_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", type=int, default=3000, help="drawings submitted and labelled")
    parser.add_argument("--scored", type=int, default=1000, help="other drawings scored before and after")
    parser.add_argument("--drawers", type=int, default=30)
    parser.add_argument("--fast", action="store_true", help="the retrain's fast mode (a smoke run)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    taught = list(outline_samples(args.labelled, seed=args.seed))
    scored = list(outline_samples(args.scored, seed=args.seed + 1))
    print(f"# Retrain on the class's corrections ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()})")
    with tempfile.TemporaryDirectory() as folder, running_server(Path(folder)) as base:
        data = Path(folder)
        before = score(base, scored)
        started = time.perf_counter()
        right = draw_and_label(base, taught, args.drawers)
        submit_seconds = time.perf_counter() - started
        print(
            f"{args.labelled} drawings from {args.drawers} drawers submitted and labelled in {submit_seconds:.0f} s "
            f"({right / args.labelled:.1%} read right when drawn)"
        )
        verdict, retrain_seconds, table = run_retrain(data, args.fast)
        print(table)
        if not verdict.get("accepted"):
            print(f"the gate rejected the candidate: {verdict}")
            return
        windows, errors, promote_ms = swap(base, verdict["version"], scored[0])
        after = score(base, scored)

    print()
    print("| | before | after |")
    print("|---|---:|---:|")
    print(f"| held-out population, through the API ({args.scored} drawings) | {before:.1%} | {after:.1%} |")
    print(
        f"| MNIST test (10,000), from the gate | {verdict['baseline_mnist_accuracy']:.2%} "
        f"| {verdict['mnist_accuracy']:.2%} |"
    )
    print(
        f"| retrain's own held-out attempts ({verdict['holdout_attempts']}) | "
        f"{verdict['baseline_holdout_accuracy']:.1%} | {verdict['holdout_accuracy']:.1%} |"
    )
    print()
    print(f"retrain: {retrain_seconds:.0f} s for {args.labelled} labelled attempts (the command, start to end)")
    print(f"promote call: {promote_ms:.0f} ms; prediction errors during the swap: {errors}")
    print("| one drawer predicting | answers | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, figures in windows.items():
        print(
            f"| {name} | {figures.get('count', 0):.0f} | {figures.get('p50', 0):.1f} | "
            f"{figures.get('p95', 0):.1f} | {figures.get('p99', 0):.1f} |"
        )


if __name__ == "__main__":
    main()
