"""``make run`` works with what ``requirements.txt`` alone installs.

The dev environment installs requirements-dev.txt on top of the runtime pins, so a module the
server imports but only a dev package brings (scipy, via scikit-learn, once) passes every
other test and still breaks ``make run`` on a fresh clone. This test builds the runtime
environment the way the Makefile does, in a virtual environment of its own, and serves from it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from model.training.data import cache_dir
from tests.support.images import big_digit, data_url, on_canvas, transparent_png
from tests.support.server_process import ROOT, running_server

pytestmark = pytest.mark.slow

REQUIREMENTS = ROOT / "requirements.txt"
BUILD_TIMEOUT_SECONDS = 1800
# Named in requirements-dev.txt only: finding one in the runtime environment would mean it leaks dev packages.
DEV_ONLY_MODULES = ("pytest", "sklearn")


def run_checked(command: list[str], timeout: float = 120) -> str:
    """Run a command from the repository root; fail the test with its output's tail if it fails."""
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{(result.stdout + result.stderr)[-4000:]}")
    return result.stdout


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``: worktrees share the cache, so two builds would race."""
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_runtime_env(home: Path) -> None:
    """Run the Makefile's runtime step into a temporary folder, then rename it to ``home``.

    An interrupted build leaves only a ``.partial-`` folder, which the next build removes: it
    is never reused. The renamed environment is run as ``python -m ...`` only, which finds its
    packages from the interpreter's own place (its console scripts keep the temporary path).
    """
    for stale in home.parent.glob(f"{home.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{home.name}.partial-", dir=home.parent))
    try:
        run_checked(["make", f"VENV={partial}", f"{partial}/runtime.stamp"], timeout=BUILD_TIMEOUT_SECONDS)
        partial.rename(home)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def runtime_python() -> Path:
    """The python of an environment with requirements.txt alone, built once per content of that file."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    home = cache / f"runtime-env-{digest}"
    with locked(cache / f"runtime-env-{digest}.lock"):
        if not home.is_dir():
            build_runtime_env(home)
    return home / "bin" / "python"


@pytest.fixture(scope="module")
def python() -> Path:
    return runtime_python()


def test_runtime_env_has_only_the_runtime_requirements(python):
    run_checked([str(python), "-m", "pip", "check"])
    for module in DEV_ONLY_MODULES:
        probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is not None)"
        assert subprocess.run([str(python), "-c", probe], check=False).returncode == 0, f"{module} is installed"


def test_make_run_serves_predictions_from_the_runtime_env(python, tmp_path, mnist):
    # As `make run` does: that environment's python, `-m server`, with its bin first on PATH.
    path = f"{python.parent}:{os.environ['PATH']}"
    with running_server(tmp_path, command=[str(python), "-m", "server"], PATH=path) as base:
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        for image, label in zip(mnist.x_test[:3], mnist.y_test[:3], strict=True):
            drawing = data_url(transparent_png(on_canvas(big_digit(image, 200))))
            response = requests.post(f"{base}/api/predict", json={"image": drawing}, timeout=30)
            assert response.status_code == 200, response.text
            assert response.json()["digit"] == label


def test_the_image_installs_the_same_requirements():
    """The Dockerfile's environment is this one: requirements.txt alone, nothing from requirements-dev.txt."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.findall(r"pip install .*-r (\S+)", dockerfile) == [REQUIREMENTS.name]
    assert "requirements-dev" not in dockerfile
