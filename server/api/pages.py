"""The single-page front end and its two extra views, served from ``frontend/``."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, send_from_directory

pages = Blueprint("pages", __name__)


@pages.get("/")
def index():
    return send_from_directory(current_app.static_folder, "index.html")


@pages.get("/dashboard")
def dashboard():
    return send_from_directory(current_app.static_folder, "dashboard.html")


@pages.get("/history")
def history():
    return send_from_directory(current_app.static_folder, "history.html")


@pages.get("/wall")
def wall():
    """The projector's wall of a room's live drawings (``?room=``; its data needs the teacher key)."""
    return send_from_directory(current_app.static_folder, "wall.html")


@pages.get("/healthz")
def healthz():
    return jsonify(current_app.extensions["service"].health())
