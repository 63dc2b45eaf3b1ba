"""A retrain started from the dashboard: ``python -m model.training.retrain`` in its own process, and its progress.

Training must not run inside a web process (it would take the cores and the GIL from
live drawing), so the server starts the same command ``make retrain`` runs, in the
background, and reads the JSON status file that command keeps up to date. The models
folder's retrain lock (``model/runtime/versions.py``) makes sure only one runs at a time, across
every web process and the command line.

That command needs TensorFlow, which only the training requirements bring
(``requirements-train.txt``): ``make run`` installs them, the container and a Procfile platform
do not. Where TensorFlow is not installed, a retrain is refused at once (``TrainingUnavailable``)
with what to install, instead of starting a process that would fail on its first import.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from typing import Any

from model.runtime.versions import RETRAIN_STATUS_FILE, RetrainRunning
from server.config import ROOT
from server.versions.switch import model_versions

LOG_FILE = "retrain.log"
TRAINING_MODULE = "tensorflow"  # what model.training.retrain needs beyond the serving requirements
TRAINING_UNAVAILABLE = (
    "Retraining needs the training packages: run `pip install -r requirements-train.txt` "
    "(or `make run`, which installs them), or use the retrain service of docker-compose."
)


class TrainingUnavailable(Exception):
    """This server's environment has no TensorFlow (the serving requirements alone): nothing was started."""

    code = "training_unavailable"


def training_available() -> bool:
    """Whether this interpreter could run the retrain: TensorFlow is installed. Looked up, never imported (that
    would cost the web process seconds and hundreds of MB); asked at every start, so installing
    ``requirements-train.txt`` while the server runs is enough."""
    return importlib.util.find_spec(TRAINING_MODULE) is not None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RetrainJob:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.versions = model_versions(config)
        self.status_path = self.versions.folder / RETRAIN_STATUS_FILE
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def running(self) -> bool:
        """True while any retrain holds the models folder's lock (or ours is still starting)."""
        if self._process is not None and self._process.poll() is None:
            return True
        try:
            with self.versions.retrain_lock():
                return False
        except RetrainRunning:
            return True

    def start(self) -> dict[str, Any]:
        """Start a retrain in the background; nothing is started, and ``TrainingUnavailable`` is raised, when
        TensorFlow is not installed here, or ``RetrainRunning`` when a retrain runs."""
        if not training_available():
            raise TrainingUnavailable(TRAINING_UNAVAILABLE)
        with self._lock:
            if self.running():
                raise RetrainRunning("A retrain is already running; wait for its result.")
            self.versions.folder.mkdir(parents=True, exist_ok=True)
            command = [
                sys.executable,
                "-m",
                "model.training.retrain",
                "--models-dir",
                str(self.versions.folder),
                "--status",
                str(self.status_path),
                *(["--fast"] if self.config["RETRAIN_FAST"] else []),
            ]
            with open(self.versions.folder / LOG_FILE, "wb") as log:
                self._process = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    # In the environment, not argv: a STORE_URL with a password must not show in ps.
                    env={**os.environ, "STORE_URL": self.config["STORE_URL"]},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started = {"state": "running", "stage": "starting", "progress": 0.0, "pid": self._process.pid}
            self.status_path.write_text(json.dumps(started) + "\n")
            return started

    def status(self) -> dict[str, Any]:
        """The last retrain's state: idle, running (with progress), done (with the gate's result) or failed."""
        try:
            status = json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return {"state": "idle"}
        if status.get("state") == "running" and not self._still_running(status.get("pid")):
            status = {**status, "state": "failed", "error": "The retrain process ended without a result."}
        return status

    def _still_running(self, pid: Any) -> bool:
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None
        return isinstance(pid, int) and alive(pid)
