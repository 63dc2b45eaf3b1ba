"""The teacher's model routes: list versions, promote, roll back, discard, and retrain in the background.

Every route calls ``require_teacher()`` (``server/access/teacher.py``) first. Described in
``openapi.py`` like the rest of the API; errors are the same JSON shape.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from model.runtime.versions import RetrainRunning, UnknownVersion, VersionError
from server.access.teacher import require_teacher
from server.api.routes import service
from server.errors import error_response
from server.storage.label_export import store_accuracy_by_version
from server.storage.store import StoreUnavailable
from server.versions.retrain_job import RetrainJob, TrainingUnavailable
from server.versions.switch import describe

models_api = Blueprint("models_api", __name__, url_prefix="/api")


def retrain_job() -> RetrainJob:
    return current_app.extensions["retrain"]


def listing() -> dict:
    """The versions with their cards, the active one, labelled accuracy per version, the last retrain."""
    result = describe(service().models.versions)
    try:
        result["labelled_accuracy"] = store_accuracy_by_version(service().store)
    except StoreUnavailable:
        result["labelled_accuracy"] = None
    result["retrain"] = retrain_job().status()
    return result


@models_api.get("/models")
def models():
    require_teacher()
    return jsonify(listing())


@models_api.post("/models/<version>/activate")
def activate(version: str):
    require_teacher()
    files = service().models.promote(version)
    return jsonify({"active": files.version, "card": files.card()})


@models_api.post("/models/rollback")
def rollback():
    require_teacher()
    files = service().models.rollback()
    return jsonify({"active": files.version, "card": files.card()})


@models_api.delete("/models/<version>")
def discard(version: str):
    require_teacher()
    service().models.versions.discard(version)
    return jsonify({"discarded": version})


@models_api.get("/retrain")
def retrain_status():
    require_teacher()
    return jsonify(retrain_job().status())


@models_api.post("/retrain")
def retrain():
    require_teacher()
    try:
        return jsonify(retrain_job().start()), 202
    except TrainingUnavailable as error:  # a serving-only install (the container, a Procfile platform)
        return error_response(409, error.code, str(error))


@models_api.errorhandler(VersionError)
def version_error(error: VersionError):
    if isinstance(error, UnknownVersion):
        return error_response(404, "not_found", str(error))
    if isinstance(error, RetrainRunning):
        return error_response(409, "retrain_running", str(error))
    return error_response(409, "model_refused", f"{error} Nothing was changed.")
