"""A school behind one address: ``python -m bench.classroom [--runs 3] [--seconds 10]``.

Issue 26's measurement: 200 devices behind one address (127.0.0.7 is, to the server, a
school's NAT) join the class a teacher opened, and 40 of them draw at the page's pace (a
frame every 120 ms, every tenth final, each pupil at their own moment) with the page's own frames sent as the page sends
them (PNG bytes in a binary attachment). The server is the Procfile's web process with the
default limits: only the room's budget lets the class in. Its answers must come at
p99 <= 150 ms, with not one ``rate_limited``.

Side by side, in the same run, the baseline: the same 200 devices and 40 drawers, each
drawer from an address of its own and no class (the idle devices four to an address), so
the ratio shows what joining through one address and one room costs. The devices run in
two client processes on the same cores as the server, as the project's other benchmarks do.

    python -m bench.classroom                    # 3 runs of 10 s
    python -m bench.classroom --versus a8fd6ef   # and the school on another revision's server, same run
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.live import ServerProcesses, page_pngs, procfile_web, revision_tree
from bench.timing import machine, percentiles
from tests.support.flood import RawClient
from tests.support.server_process import TEACHER_HEADERS, running_server

SCHOOL = "127.0.0.7"
FRAME_INTERVAL = 0.12  # the page's pace while a stroke moves
FINAL_EVERY = 10
CLIENT_PROCESSES = 2
TARGET_P99_MS = 150.0
WARM_UP_SECONDS = 3.0


@dataclass
class Devices:
    """Who connects from where: ``(address, auth)`` for every device, the drawers first."""

    drawers: list[tuple[str, dict | None]]
    idle: list[tuple[str, dict | None]]


def one_school(code: str, devices: int, drawers: int) -> Devices:
    auth = {"room": code}
    return Devices([(SCHOOL, auth)] * drawers, [(SCHOOL, auth)] * (devices - drawers))


def own_addresses(devices: int, drawers: int) -> Devices:
    """The baseline: every drawer from its own address, the idle devices four to an address, no class."""
    return Devices(
        [(f"127.0.1.{1 + number}", None) for number in range(drawers)],
        [(f"127.0.2.{1 + number // 4}", None) for number in range(devices - drawers)],
    )


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    final_latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    refused: int = 0


async def draw(device: RawClient, frames: list[bytes], seconds: float, tally: Tally, rng: random.Random) -> None:
    """Frames at the page's pace for ``seconds``, each answer timed from its send.

    Pupils do not draw in step: each starts at a random moment of the first frame interval and
    in a random place of its first drawing, so neither frames nor finals arrive in lockstep.
    """
    sent_at: dict[tuple[str, int], tuple[float, bool]] = {}

    async def read() -> None:
        while True:
            name, payload = await device.event()
            if name == "error":
                tally.errors[payload["code"]] = tally.errors.get(payload["code"], 0) + 1
            elif name == "prediction":
                sent = sent_at.pop((payload["attempt_id"], payload["seq"]), None)
                if sent is not None:
                    latency = (time.perf_counter() - sent[0]) * 1000.0
                    tally.latencies_ms.append(latency)
                    if sent[1]:
                        tally.final_latencies_ms.append(latency)

    reader = asyncio.ensure_future(read())
    attempt_id, seq, number = str(uuid.uuid4()), rng.randrange(FINAL_EVERY), 0
    await asyncio.sleep(rng.uniform(0, FRAME_INTERVAL))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        final = seq == FINAL_EVERY - 1
        sent_at[(attempt_id, seq)] = (time.perf_counter(), final)
        payload = {"attempt_id": attempt_id, "seq": seq, "final": final}
        await device.emit_with_attachment("frame", payload, "image", frames[number % len(frames)])
        number += 1
        seq += 1
        if final:
            attempt_id, seq = str(uuid.uuid4()), 0
        await asyncio.sleep(FRAME_INTERVAL)
    await asyncio.sleep(2.0)  # the last answers
    reader.cancel()


async def client_share(port: int, drawers: list, idle: list, frames: list[bytes], seconds: float, ready, go) -> Tally:
    """This process's devices: join in waves, wait for every process, then draw."""
    tally = Tally()
    clients = [RawClient("127.0.0.1", port, address, auth=auth) for address, auth in drawers + idle]
    for start in range(0, len(clients), 50):
        wave = clients[start : start + 50]
        joined = await asyncio.gather(*(client.connect() for client in wave), return_exceptions=True)
        tally.refused += sum(isinstance(outcome, Exception) for outcome in joined)
    ready.wait()  # a multiprocessing.Barrier: every process has joined its devices
    go.wait()
    rng = random.Random(len(drawers))
    await asyncio.gather(*(draw(client, frames, seconds, tally, rng) for client in clients[: len(drawers)]))
    for client in clients:
        client.close()
    return tally


def client_process(port, drawers, idle, frames, seconds, ready, go, results) -> None:
    results.put(asyncio.run(client_share(port, drawers, idle, frames, seconds, ready, go)))


def measure(base: str, devices: Devices, frames: list[bytes], seconds: float) -> dict:
    """One arrangement for ``seconds``: latencies, errors by code, the server's CPU per answer."""
    port = int(base.rsplit(":", 1)[1])
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Barrier(CLIENT_PROCESSES + 1), context.Event(), context.Queue()
    workers = [
        context.Process(
            target=client_process,
            args=(
                port,
                devices.drawers[i::CLIENT_PROCESSES],
                devices.idle[i::CLIENT_PROCESSES],
                frames,
                seconds,
                ready,
                go,
                results,
            ),
        )
        for i in range(CLIENT_PROCESSES)
    ]
    for worker in workers:
        worker.start()
    ready.wait(timeout=120)
    server = ServerProcesses.find(base)
    cpu_start = server.cpu_seconds() if server else 0.0
    go.set()
    tallies = [results.get(timeout=seconds + 120) for _ in workers]
    for worker in workers:
        worker.join()
    cpu_seconds = (server.cpu_seconds() - cpu_start) if server else float("nan")
    latencies = [latency for tally in tallies for latency in tally.latencies_ms]
    errors: dict[str, int] = {}
    for tally in tallies:
        for code, count in tally.errors.items():
            errors[code] = errors.get(code, 0) + count
    return {
        "answers": len(latencies),
        **percentiles(latencies),
        "final_p99": percentiles([latency for tally in tallies for latency in tally.final_latencies_ms])["p99"],
        "errors": errors,
        "refused": sum(tally.refused for tally in tallies),
        "cpu_ms_per_answer": cpu_seconds * 1000.0 / max(1, len(latencies)),
    }


def row(run: int, name: str, figures: dict) -> str:
    errors = ", ".join(f"{code} {count}" for code, count in sorted(figures["errors"].items())) or "none"
    return (
        f"| {run} | {name} | {figures['answers']} | {figures['p50']:.0f} | {figures['p99']:.0f} | "
        f"{figures['final_p99']:.0f} | {figures['refused']} | {errors} | {figures['cpu_ms_per_answer']:.2f} |"
    )


def open_class(base: str) -> str:
    response = requests.post(f"{base}/api/rooms", json={"name": "Assembly"}, headers=TEACHER_HEADERS, timeout=10)
    response.raise_for_status()
    return response.json()["code"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--drawers", type=int, default=40)
    parser.add_argument("--versus", metavar="REVISION", help="also run the school on this revision's server")
    args = parser.parse_args()
    frames = page_pngs()
    print(
        f"# Classroom: {args.devices} devices, {args.drawers} drawing a page frame every "
        f"{FRAME_INTERVAL * 1000:.0f} ms for {args.seconds:.0f} s; {machine()}\n"
    )
    print("| run | devices | answers | p50 ms | p99 ms | final p99 ms | refused | errors | server CPU ms/answer |")
    print("|---|---|---:|---:|---:|---:|---:|---|---:|")
    school_runs = []
    with ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        base = stack.enter_context(running_server(data, command=procfile_web()))
        versus = None
        if args.versus:
            tree = revision_tree(stack, args.versus)
            other = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            versus = stack.enter_context(running_server(other, command=procfile_web(tree), cwd=tree))
        for server in filter(None, (base, versus)):  # first frames pay for loading and compiling: not measured
            measure(server, one_school(open_class(server), args.drawers, args.drawers), frames, WARM_UP_SECONDS)
        for run in range(1, args.runs + 1):
            school = measure(base, one_school(open_class(base), args.devices, args.drawers), frames, args.seconds)
            print(row(run, "one school address, one class", school), flush=True)
            if versus:
                devices = one_school(open_class(versus), args.devices, args.drawers)
                before = measure(versus, devices, frames, args.seconds)
                print(row(run, f"the same, at {args.versus}", before), flush=True)
            baseline = measure(base, own_addresses(args.devices, args.drawers), frames, args.seconds)
            print(row(run, "own addresses, no class (baseline)", baseline), flush=True)
            print(f"| {run} | p99 ratio, school / baseline | | | {school['p99'] / baseline['p99']:.2f}× | | | | |")
            school_runs.append(school)
    worst = max(run["p99"] for run in school_runs)
    limited = sum(run["errors"].get("rate_limited", 0) + run["refused"] for run in school_runs)
    print("\n| target | measured | met |\n|---|---:|---|")
    met = "yes" if worst <= TARGET_P99_MS else "**no**"
    print(
        f"| {args.drawers} drawers of a {args.devices}-device class behind one address: p99 <= "
        f"{TARGET_P99_MS:.0f} ms in every run | worst {worst:.0f} ms | {met} |"
    )
    print(f"| not one device refused nor one frame rate_limited | {limited} | {'yes' if limited == 0 else '**no**'} |")


if __name__ == "__main__":
    main()
