"""The serving install's size and ``make run``'s idle memory, against issue 23's targets.

``python -m bench.footprint [--python PATH] [--settle SECONDS] [--no-install-size]``

* **Installed size**: the serving environment, ``requirements.txt`` alone, built by the
  Makefile's runtime step as the container and a Procfile platform install it
  (``tests/support/runtime_env.py``: cached per content of ``requirements.txt``):
  ``du`` of its ``site-packages``, with its largest packages. Target: at most 450 MB.
* **Idle memory**: the server started as ``make run`` starts it (``python -m server``:
  gunicorn's master, its eventlet worker and the worker's recognizer processes) on a free
  port with a temporary ``DATA_DIR`` and SQLite store, once ``/healthz`` says ok and it has
  settled; the proportional share (PSS, ``/proc/<pid>/smaps_rollup``: each shared page
  divided among the processes that map it) and the resident size (RSS, which counts shared
  libraries once per process) summed over its process tree. Target: at most 300 MB of
  proportional share. It is measured twice: served from the serving environment (what the
  container and a Procfile platform run; no other process on the machine maps its
  libraries, so its share is what a machine running only this server pays) and from this
  interpreter, ``.venv``'s, as ``make run`` serves (its share falls when other processes,
  say other test servers, map the same libraries). ``--python`` picks one interpreter.
* **After work**: then 20 drawers send the page's frames for ``--busy`` seconds (default 20), and
  the same table is taken again once they stop: the pages a recognizer process writes while it
  works become its own, so its share grows from what it shared with the template. No target;
  reported so that the idle figure is not the only one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

from bench.live import RECOGNIZER, TEMPLATE, UNLIMITED, WEB, load, process_roles
from bench.timing import machine
from tests.support.runtime_env import installed_megabytes, runtime_home, site_packages, this_site_packages
from tests.support.server_process import start_server, stop_server

INSTALLED_TARGET_MB = 450
PSS_TARGET_MB = 300
BUSY_DRAWERS = 20
MB = 1024 * 1024


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "NOT met"


def largest_packages(folder: Path, count: int = 8) -> list[tuple[str, float]]:
    """The biggest entries of ``site-packages``: a package's folder and its ``.libs`` folder together."""
    sizes: dict[str, float] = {}
    for entry in folder.iterdir():
        if entry.name.endswith((".dist-info", ".pth")) or entry.name == "__pycache__":
            continue
        name = entry.name.removesuffix(".libs").removesuffix(".py")
        name = {"pillow": "PIL"}.get(name, name)  # Pillow keeps its libraries in pillow.libs
        sizes[name] = sizes.get(name, 0.0) + installed_megabytes(entry)
    return sorted(sizes.items(), key=lambda item: -item[1])[:count]


def install_size(home: Path) -> None:
    packages = site_packages(home)
    size = installed_megabytes(packages)
    print("## Installed size\n")
    print(f"serving environment ({home.name}: requirements.txt alone), site-packages: **{size:.0f} MB**")
    print(f"target: at most {INSTALLED_TARGET_MB} MB: {verdict(size, INSTALLED_TARGET_MB)}\n")
    print("| package | MB |")
    print("|---|---:|")
    for name, megabytes in largest_packages(packages):
        print(f"| {name} | {megabytes:.0f} |")
    dev = installed_megabytes(this_site_packages())
    print(f"\nthis environment ({sys.prefix}, with training and dev): {dev:.0f} MB\n")


def proportional_share(pid: int) -> int:
    """The process's PSS in bytes, from ``/proc/<pid>/smaps_rollup``."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no Pss line for {pid}")


NAMES = {
    RECOGNIZER: "recognizer process",
    TEMPLATE: "recognizer template (the recognizers are forked from it)",
    WEB: "gunicorn worker (the web process)",
}


def describe(process: psutil.Process, root: psutil.Process, roles: dict[int, str]) -> str:
    if process.pid == root.pid:
        return "gunicorn master"
    return NAMES.get(roles[process.pid], " ".join(process.cmdline())[:60])


def wait_ok(base: str, timeout: float = 60) -> None:
    """Until ``/healthz`` says ok: every recognizer process is up and the store is reachable."""
    deadline = time.monotonic() + timeout
    while requests.get(f"{base}/healthz", timeout=5).json()["status"] != "ok":
        if time.monotonic() > deadline:
            raise RuntimeError("the server never said ok")
        time.sleep(0.2)


def memory_table(root: psutil.Process) -> list[tuple[str, int, int, int]]:
    """(role, pid, PSS, RSS) of every process of the server."""
    tree = [root, *root.children(recursive=True)]
    roles = process_roles(tree)
    return [(describe(p, root, roles), p.pid, proportional_share(p.pid), p.memory_info().rss) for p in tree]


def print_table(rows: list[tuple[str, int, int, int]], heading: str) -> None:
    pss, rss = sum(row[2] for row in rows), sum(row[3] for row in rows)
    print(f"## {heading}\n")
    print("| process | pid | PSS (MB) | RSS (MB) |")
    print("|---|---:|---:|---:|")
    for name, pid, share, resident in rows:
        print(f"| {name} | {pid} | {share / MB:.0f} | {resident / MB:.0f} |")
    print(f"| **all {len(rows)} processes** | | **{pss / MB:.0f}** | **{rss / MB:.0f}** |\n")
    print(
        f"proportional share: {pss / MB:.0f} MB; target at most {PSS_TARGET_MB} MB: {verdict(pss / MB, PSS_TARGET_MB)}"
    )
    print(f"resident sum (shared libraries counted per process): {rss / MB:.0f} MB\n")


def idle_memory(python: str, label: str, settle: float, busy: float) -> None:
    with tempfile.TemporaryDirectory(prefix="digits-footprint-") as folder:
        process, base = start_server(Path(folder), command=[python, "-m", "server"], **UNLIMITED)
        try:
            wait_ok(base)
            time.sleep(settle)
            root = psutil.Process(process.pid)
            idle = memory_table(root)
            if busy > 0:
                load(base, BUSY_DRAWERS, busy, 0, None)
                time.sleep(settle)
                after = memory_table(root)
        finally:
            stop_server(process)
    print_table(idle, f"Idle memory, {label}: `{python} -m server`, {settle:.0f} s after /healthz said ok")
    if busy > 0:
        print_table(after, f"After work, {label}: {BUSY_DRAWERS} drawers for {busy:.0f} s, then {settle:.0f} s idle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", help="serve from this interpreter only (default: the serving env's, then this one)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle after /healthz says ok")
    parser.add_argument("--no-install-size", action="store_true", help="skip the serving environment")
    parser.add_argument("--busy", type=float, default=20.0, help="seconds of 20 drawers before the second table")
    args = parser.parse_args()
    print(f"# Footprint ({machine()})\n")
    servers = [(args.python, "this interpreter")] if args.python else []
    if not args.no_install_size:
        home = runtime_home()
        install_size(home)
        servers = servers or [(str(home / "bin" / "python"), "the serving environment")]
    if not args.python:
        servers.append((sys.executable, "this interpreter (make run's .venv)"))
    for python, label in servers:
        idle_memory(python, label, args.settle, args.busy)


if __name__ == "__main__":
    main()
