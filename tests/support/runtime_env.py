"""A virtual environment with ``requirements.txt`` alone, built by the Makefile's own runtime step.

``tests/system/test_runtime_env.py`` serves from it and ``bench/footprint.py`` measures it. It
is built once per content of ``requirements.txt`` into the cache folder (``DIGITS_CACHE``, else
``.cache``), under a lock, since worktrees share that folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from model.training.data import cache_dir

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements.txt"
BUILD_TIMEOUT_SECONDS = 1800


class BuildFailed(RuntimeError):
    """The Makefile's runtime step failed; the message ends with its output."""


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``: worktrees share the cache, so two builds would race."""
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build(home: Path) -> None:
    """Run the Makefile's runtime step (``make VENV=... .../runtime.stamp``) into a temporary folder, then rename
    it to ``home``.

    An interrupted build leaves only a ``.partial-`` folder, which the next build removes: it
    is never reused. The renamed environment is run as ``python -m ...`` only, which finds its
    packages from the interpreter's own place (its console scripts keep the temporary path).
    """
    for stale in home.parent.glob(f"{home.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{home.name}.partial-", dir=home.parent))
    try:
        command = ["make", f"VENV={partial}", f"{partial}/runtime.stamp"]
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS, check=False
        )
        if result.returncode != 0:
            raise BuildFailed(
                f"{' '.join(command)} exited {result.returncode}:\n{(result.stdout + result.stderr)[-4000:]}"
            )
        partial.rename(home)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def runtime_home() -> Path:
    """The environment's folder, built first if this content of requirements.txt has none yet."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    home = cache / f"runtime-env-{digest}"
    with locked(cache / f"runtime-env-{digest}.lock"):
        if not home.is_dir():
            build(home)
    return home


def runtime_python() -> Path:
    return runtime_home() / "bin" / "python"


def site_packages(home: Path) -> Path:
    """The environment's ``site-packages`` (same Python version as this one: the Makefile's ``python3``)."""
    found = sorted(home.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        raise FileNotFoundError(f"no single site-packages under {home}: {found}")
    return found[0]


def installed_megabytes(folder: Path) -> float:
    """What ``du -sm`` says of ``folder``: the disk space its files take, in MiB."""
    output = subprocess.run(["du", "-sk", str(folder)], capture_output=True, text=True, check=True).stdout
    return int(output.split()[0]) / 1024


def this_site_packages() -> Path:
    """The running interpreter's site-packages (the dev environment's, for comparison)."""
    return Path(sysconfig.get_paths()["purelib"])
