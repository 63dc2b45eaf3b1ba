"""Model versions on disk: the committed built-in model, retrained candidates, and which one is active.

A retrain writes each candidate into its own folder, ``<models>/<version>/`` with
``digits.keras``, ``digits.tflite`` and the ``digits.json`` card (which records whether
it passed its gate). The ``active`` file in ``<models>`` names the version every server
process should serve and the versions before it, so ``rollback`` knows where to return;
it is replaced atomically, so a process reading it never sees half a write. Without an
``active`` file the built-in model in ``model/`` is active: a fresh checkout serves the
committed model and needs no data folder.

Nothing here knows about the web server: ``server/versions/switch.py`` follows the active
version live, ``model/training/retrain.py`` writes candidates.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.runtime import card as model_card
from model.runtime.litert import Classifier

log = logging.getLogger("digits.versions")

ACTIVE_FILE = "active"
LOCK_FILE = ".lock"
RETRAIN_LOCK_FILE = "retrain.lock"
RETRAIN_STATUS_FILE = "retrain.json"  # the last retrain's progress and result, for the dashboard
HISTORY_LIMIT = 20
VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


class VersionError(Exception):
    """A version that cannot be served or changed; the message says why, and nothing was changed."""


class UnknownVersion(VersionError):
    """No version of that name exists."""


class RetrainRunning(VersionError):
    """Another retrain holds the lock: two at once would race for the CPU and the candidate folder."""


@dataclass(frozen=True)
class ModelFiles:
    """One version's files: what a Recognizer (and a recognizer child process) loads."""

    version: str
    tflite: Path
    card_path: Path
    keras: Path
    builtin: bool = False

    def card(self) -> dict[str, Any]:
        return model_card.read_card(self.card_path)

    def passed_gate(self) -> bool:
        """The built-in model has no gate; a candidate is servable only if its retrain accepted it."""
        gate = self.card().get("gate")
        return gate is None or bool(gate.get("accepted"))


def builtin_files(tflite: Path = model_card.TFLITE_PATH, card_path: Path = model_card.CARD_PATH) -> ModelFiles:
    """The committed model in ``model/``: the first version, always there."""
    version = model_card.read_card(Path(card_path))["version"]
    return ModelFiles(version, Path(tflite), Path(card_path), Path(tflite).with_suffix(".keras"), builtin=True)


def folder_files(folder: Path) -> ModelFiles:
    """The files of a version folder (they may not exist yet, or be broken: see ``check``)."""
    return ModelFiles(
        folder.name, folder / model_card.TFLITE_PATH.name, folder / model_card.CARD_PATH.name, folder / "digits.keras"
    )


def check(files: ModelFiles) -> None:
    """Refuse anything this server cannot serve: a missing, corrupt or foreign model, or a mismatched card.

    Runs the model once on a blank input, so a flatbuffer that loads but is not a
    28x28 -> 10 classifier is caught here, before any frame meets it.
    """
    try:
        card = files.card()
    except (OSError, ValueError) as error:
        raise VersionError(f"Version {files.version}: its model card is missing or unreadable ({error}).") from None
    if card.get("version") != files.version:
        raise VersionError(f"Version {files.version}: its card names version {card.get('version')!r}.")
    if card.get("preprocessing") != model_card.PREPROCESSING_CONTRACT:
        raise VersionError(f"Version {files.version}: its card's preprocessing contract is not this server's.")
    try:
        probabilities = Classifier.load(files.tflite).predict(np.zeros((1, 28, 28, 1), np.float32))
    except Exception as error:  # LiteRT raises ValueError, RuntimeError or worse for a foreign file
        raise VersionError(f"Version {files.version}: {files.tflite.name} is not a usable model ({error}).") from None
    classes = len(card.get("classes") or range(10))  # ten digits, and "not a digit" for a model with a reject class
    if probabilities.shape != (1, classes) or not np.isclose(float(probabilities.sum()), 1.0, atol=1e-3):
        raise VersionError(f"Version {files.version}: the model does not answer its card's {classes} probabilities.")


def atomic_write(path: Path, text: str) -> None:
    """Write a file so readers see the old content or the new, never a part of it."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)


class ModelVersions:
    """The versions in a models folder plus the built-in one, and the ``active`` pointer."""

    def __init__(self, folder: Path | str, builtin: ModelFiles | None = None) -> None:
        self.folder = Path(folder)
        self.builtin = builtin or builtin_files()

    # Reading

    def all(self) -> list[ModelFiles]:
        """Every version, the built-in one first, then candidates oldest first (names start with their time)."""
        found = []
        if self.folder.is_dir():
            for child in sorted(self.folder.iterdir()):
                if child.is_dir() and not child.name.startswith(".") and child.name != self.builtin.version:
                    found.append(folder_files(child))
        return [self.builtin, *found]

    def get(self, version: str) -> ModelFiles:
        """One version by name; ``VersionError`` when there is none."""
        if version == self.builtin.version:
            return self.builtin
        if not VERSION_NAME.fullmatch(version) or not (self.folder / version).is_dir():
            raise UnknownVersion(f"There is no model version {version!r}; `flask --app server models` lists them.")
        return folder_files(self.folder / version)

    def pointer(self) -> dict[str, Any]:
        """The ``active`` file: ``{"version", "previous": [older versions, newest last]}``."""
        try:
            pointer = json.loads((self.folder / ACTIVE_FILE).read_text())
        except FileNotFoundError:
            return {"version": self.builtin.version, "previous": []}
        except (OSError, ValueError) as error:
            log.error("the active model pointer is unreadable (%s); serving the built-in model", error)
            return {"version": self.builtin.version, "previous": []}
        return {"version": str(pointer.get("version")), "previous": [str(v) for v in pointer.get("previous", [])]}

    def active(self) -> ModelFiles:
        """The version to serve; the built-in one when the pointer names something gone or broken."""
        version = self.pointer()["version"]
        try:
            files = self.get(version)
            check(files)
        except VersionError as error:
            log.error("the active model version cannot be served (%s); serving the built-in model", error)
            return self.builtin
        return files

    # Changing: each change holds the folder's lock, so two promotions cannot interleave.

    @contextlib.contextmanager
    def _locked(self, name: str = LOCK_FILE, wait: bool = True) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / name, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RetrainRunning("A retrain is already running; wait for its result.") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def activate(self, version: str) -> ModelFiles:
        """Make ``version`` the active one, after checking it can be served; the old one is remembered."""
        files = self.get(version)
        check(files)
        if not files.passed_gate():
            raise VersionError(f"Version {version} did not pass its gate; it cannot be promoted.")
        with self._locked():
            pointer = self.pointer()
            if pointer["version"] != version:
                previous = [*pointer["previous"], pointer["version"]][-HISTORY_LIMIT:]
                self._write_pointer(version, previous)
        return files

    def rollback(self) -> ModelFiles:
        """Return to the version active before the current one."""
        with self._locked():
            pointer = self.pointer()
            if not pointer["previous"]:
                raise VersionError("There is no earlier version to roll back to.")
            *older, version = pointer["previous"]
            files = self.get(version)
            check(files)
            self._write_pointer(version, older)
        return files

    def _write_pointer(self, version: str, previous: list[str]) -> None:
        atomic_write(self.folder / ACTIVE_FILE, json.dumps({"version": version, "previous": previous}) + "\n")

    def discard(self, version: str) -> None:
        """Delete a candidate; never the built-in model, the active one, or one rollback may return to."""
        files = self.get(version)
        pointer = self.pointer()
        if files.builtin or version == pointer["version"] or version in pointer["previous"]:
            raise VersionError(f"Version {version} is or was active; only a never-promoted candidate is discarded.")
        shutil.rmtree(self.folder / version)

    def retrain_lock(self) -> contextlib.AbstractContextManager[None]:
        """Held for a whole retrain; raises ``RetrainRunning`` at once when another holds it."""
        return self._locked(RETRAIN_LOCK_FILE, wait=False)

    @contextlib.contextmanager
    def staged(self, version: str) -> Iterator[Path]:
        """A hidden folder to write a new candidate into, renamed into place only once the block succeeds.

        A retrain that fails half-way leaves nothing behind: a half-written version is never listed.
        """
        if not VERSION_NAME.fullmatch(version) or version == self.builtin.version or (self.folder / version).exists():
            raise VersionError(f"{version!r} cannot name a new version (bad name, or it exists).")
        staging = self.folder / f".{version}.partial"
        staging.mkdir(parents=True)
        try:
            yield staging
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        os.replace(staging, self.folder / version)
