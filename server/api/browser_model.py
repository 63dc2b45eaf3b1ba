"""The active model for the browser's offline fallback, and the page's installable parts.

The page recognizes from the server's own files when the server cannot answer
(``frontend/js/offline.js``, ``docs/offline.md``): ``GET /api/model/card`` names the version this
process serves, its card (calibration, classes), the SHA-256 of its ``.tflite`` (the browser checks
the bytes against it) and the preprocessing contract (``model/runtime/preprocess.json``);
``GET /api/model/digits.tflite?version=`` is that file, byte for byte.

The service worker (``frontend/sw.js``) is served from the site root, so its scope covers every
page, with the deploy's build version and the served model version written into it: a new deploy
or a model switch changes its bytes, the browser installs the new worker, and the kiosk's cached
page and model are replaced (the cache is named after both versions). The manifest makes the page
installable.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request, send_file

from model.runtime.preprocess import CONTRACT
from model.runtime.versions import ModelFiles, UnknownVersion, VersionError
from server.api.routes import service
from server.config import ROOT
from server.errors import ApiError

browser_model = Blueprint("browser_model", __name__)
FRONTEND = ROOT / "frontend"
TFLITE = "digits.tflite"
IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.S)


def served() -> ModelFiles:
    """The version this process serves right now (it follows promotions: ``server/versions/switch.py``)."""
    return service().models.current


@functools.lru_cache(maxsize=16)
def file_sha256(path: str, size: int, modified: float) -> str:
    """A file's SHA-256, computed once per (path, size, time): a version's files never change in place."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tflite_sha256(files: ModelFiles) -> str:
    stat = files.tflite.stat()
    return file_sha256(str(files.tflite), stat.st_size, stat.st_mtime)


@browser_model.get("/api/model/card")
def card():
    files = served()
    card_fields: dict[str, Any] = files.card()
    return jsonify(
        {
            "version": files.version,
            "sha256": tflite_sha256(files),
            "tflite": f"/api/model/{TFLITE}?version={files.version}",
            "card": {key: card_fields.get(key) for key in ("version", "calibration", "classes", "preprocessing")},
            "preprocess": CONTRACT,
        }
    )


@browser_model.get(f"/api/model/{TFLITE}")
def tflite():
    version = request.args.get("version")
    files = served()
    if version is not None and version != files.version:
        try:
            files = service().models.versions.get(version)
        except (UnknownVersion, VersionError):
            raise ApiError(404, "not_found", "There is no model version of that name.") from None
    if not files.tflite.is_file():
        raise ApiError(404, "not_found", "There is no model version of that name.")
    response = send_file(files.tflite, mimetype="application/octet-stream", conditional=True, etag=True)
    response.headers["X-Model-Version"] = files.version
    return response


@functools.lru_cache(maxsize=1)
def build_version() -> str:
    """This deploy's front end, as a short hash of every file the page may load (and ``BUILD_VERSION``)."""
    digest = hashlib.sha256(os.environ.get("BUILD_VERSION", "").encode())
    for path in sorted(FRONTEND.rglob("*")):
        if path.is_file() and path.suffix != ".wasm":  # the runtime is pinned by frontend/vendor/VERSIONS
            digest.update(str(path.relative_to(FRONTEND)).encode())
            digest.update(path.read_bytes())
    digest.update((FRONTEND / "vendor" / "VERSIONS").read_bytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def shell_files() -> list[str]:
    """What the service worker caches at install, besides the pages, the runtime's one build and the model:
    every script, style, catalogue and icon the pages load (not the pages' own files, served at their routes)."""
    kept = {".js", ".css", ".json", ".png", ".svg"}
    files = [
        f"/static/{path.relative_to(FRONTEND).as_posix()}"
        for path in sorted(FRONTEND.rglob("*"))
        if path.is_file() and path.suffix in kept and path.name != "sw.js" and not path.name.startswith("litert_wasm")
    ]
    return [*files, "/manifest.webmanifest"]


def versions() -> dict[str, str]:
    """What the service worker's cache is keyed on: this deploy and the served model."""
    return {"build": build_version(), "model": served().version}


@browser_model.get("/sw.js")
def service_worker():
    source = (FRONTEND / "sw.js").read_text(encoding="utf-8")
    now = versions()
    source = source.replace("__BUILD_VERSION__", now["build"]).replace("__MODEL_VERSION__", now["model"])
    source = source.replace("__SHELL_FILES__", json.dumps(shell_files()))
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # the browser checks it on every navigation
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@browser_model.get("/manifest.webmanifest")
def manifest():
    return send_file(FRONTEND / "manifest.webmanifest", mimetype="application/manifest+json")


def import_map_hashes() -> str:
    """The CSP sources for the pages' inline import maps (they map ``@litertjs/core`` to the vendored
    module): each map's SHA-256, read from the pages themselves, so editing a map cannot break the page."""
    found = set()
    for page in sorted(FRONTEND.glob("*.html")):
        for body in IMPORT_MAP.findall(page.read_text(encoding="utf-8")):
            found.add("'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'")
    return " ".join(sorted(found))
