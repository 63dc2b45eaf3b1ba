"""A live model swap: every web process, and its recognizer processes, serve the active model version.

Promoting (or rolling back) writes the ``active`` pointer in the models folder
(``model/runtime/versions.py``) and then tells every process:

* with ``MESSAGE_QUEUE_URL`` set, through the message queue: a message on a Redis
  channel reaches every process at once, wherever it runs (each loads the version
  from its own ``MODELS_DIR``, so that folder must be shared or copied to every host);
* otherwise through the data folder: each process looks at the pointer every
  ``MODEL_POLL_SECONDS`` (processes on one host share ``data/``).

A process that follows loads and checks the new model first and only then swaps it
into its engines (``RecognitionService.use_model``), so frames in flight finish on the old model and
no frame fails; a version it cannot load leaves it on the model it has, with a log line.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from model.runtime.versions import ModelFiles, ModelVersions, VersionError, builtin_files, check

log = logging.getLogger("digits.models")
CHANNEL = "digits:model"


def describe(versions: ModelVersions) -> dict[str, Any]:
    """Every version with its card, whether it can be served, and which one is active (for the CLI and API)."""
    active = versions.active().version
    entries = []
    for files in versions.all():
        card, error = None, None
        try:
            card = files.card()
            check(files)
        except (OSError, ValueError, VersionError) as problem:
            error = str(problem)
        entries.append(
            {
                "version": files.version,
                "builtin": files.builtin,
                "active": files.version == active,
                "card": card,
                "error": error,
            }
        )
    return {"active": active, "previous": versions.pointer()["previous"], "versions": entries}


def model_versions(config: dict[str, Any]) -> ModelVersions:
    """The versions folder of this configuration, with its built-in model."""
    return ModelVersions(Path(config["MODELS_DIR"]), builtin_files(config["MODEL_PATH"], config["MODEL_CARD_PATH"]))


class ModelSwitch:
    """Keeps one process on the active version, and announces changes to the others."""

    def __init__(self, config: dict[str, Any], apply: Callable[[ModelFiles], None]) -> None:
        self.versions = model_versions(config)
        self.queue_url: str = config["MESSAGE_QUEUE_URL"]
        self.poll_seconds: float = config["MODEL_POLL_SECONDS"]
        self._apply = apply
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._refused: str | None = None  # a version this process could not load: not retried every poll

    @functools.cached_property
    def current(self) -> ModelFiles:
        """The version this process serves: the active one, found and checked (a model run) on first use, so
        making the switch costs nothing; ``follow`` replaces it."""
        return self.versions.active()

    def start(self) -> None:
        """Follow changes made by other processes, in a daemon thread."""
        target = self._listen if self.queue_url else self._poll
        threading.Thread(target=target, name="model-switch", daemon=True).start()

    def follow(self, version: str | None = None) -> bool:
        """Serve ``version`` (default: the pointer's); True when this process changed model.

        Cheap when nothing changed (one small file read), so it can run every poll; a
        version it cannot serve is logged once and this process keeps its model.
        """
        with self._lock:
            wanted = version or self.versions.pointer()["version"]
            if wanted == self.current.version or (version is None and wanted == self._refused):
                return False
            try:
                files = self.versions.get(wanted)
                check(files)
                self._apply(files)
            except VersionError as error:
                log.error("cannot switch to model version %s, keeping %s: %s", wanted, self.current.version, error)
                self._refused = wanted
                return False
            log.info("model version %s -> %s", self.current.version, files.version)
            self.current, self._refused = files, None
            return True

    def promote(self, version: str) -> ModelFiles:
        """Make ``version`` active here and everywhere; ``VersionError`` (and no change) when it cannot be."""
        files = self.versions.activate(version)
        self._announce(files)
        return files

    def rollback(self) -> ModelFiles:
        """Return every process to the version active before this one."""
        files = self.versions.rollback()
        self._announce(files)
        return files

    def _announce(self, files: ModelFiles) -> None:
        self.follow(files.version)
        if self.queue_url:
            import redis

            try:
                redis.Redis.from_url(self.queue_url).publish(CHANNEL, json.dumps({"version": files.version}))
            except redis.RedisError as error:  # the pointer is written: restarts and pollers still follow
                log.error("could not announce model version %s on the message queue: %s", files.version, error)

    def _poll(self) -> None:
        while not self._stopped.wait(self.poll_seconds):
            try:
                self.follow()
            except Exception:  # the watcher must outlive anything one look at the folder does
                log.exception("following the active model version failed")

    def _listen(self) -> None:
        """Subscribe to the channel; reconnect when Redis goes away (a missed message is caught up on reconnect)."""
        import redis

        while not self._stopped.is_set():
            try:
                pubsub = redis.Redis.from_url(self.queue_url).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self.follow()  # anything announced while this process was not listening
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self.follow(json.loads(message["data"])["version"])
                pubsub.close()
            except (redis.RedisError, ValueError, KeyError) as error:
                log.error("model channel on the message queue failed (%s); reconnecting", error)
                self._stopped.wait(1.0)

    def close(self) -> None:
        self._stopped.set()
