"""The live digit server: a Flask application factory with Flask-SocketIO.

``create_app()`` wires configuration, the service (``server/serving/service.py``, whose runtime
starts on first use), the REST API, the Socket.IO handlers and the front end. It is
cheap: ``flask init-db`` and the other commands start no recognizer, thread or process.
"""

from __future__ import annotations

import os

if os.environ.get("ASYNC_MODE") == "eventlet":  # before anything imports socket, threading or ssl
    import eventlet

    eventlet.monkey_patch()

    from server.live import fast_unmask

    fast_unmask.install()

import atexit
from typing import Any

import click
from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from server import cli
from server.access.limits import install_rest_limit
from server.access.teacher import announce, ensure_teacher_token
from server.api.browser_model import browser_model, import_map_hashes
from server.api.deliveries import deliveries
from server.api.kiosks import kiosks_api
from server.api.lesson_export import lesson_export
from server.api.model_routes import models_api
from server.api.moderation import moderation
from server.api.pages import pages
from server.api.rooms import rooms_api
from server.api.routes import api, register_error_handlers
from server.config import ROOT, load_config
from server.extensions import socketio
from server.live import handlers  # noqa: F401  (importing it registers the Socket.IO handlers)
from server.live.event_context import App
from server.live.websocket import NoCompression, limit_message_size
from server.logs import configure_logging, redacted
from server.serving.service import RecognitionService
from server.storage.store import StoreUnavailable
from server.versions.retrain_job import RetrainJob

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
    # The page draws with a pointer: no device, sensor or payment feature is ever needed.
    "Permissions-Policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
        "accelerometer=(), gyroscope=(), magnetometer=(), display-capture=(), interest-cohort=()"
    ),
}
# Answers about children's attempts must not linger in a shared kiosk's or a proxy's cache.
API_HEADERS = {"Cache-Control": "no-store"}
IMPORT_MAP_HASH = import_map_hashes()  # the pages' inline import maps, allowed by their hashes
# Sent only over HTTPS (as seen through PROXY_COUNT trusted proxies): browsers ignore it over HTTP anyway.
HSTS = {"Strict-Transport-Security": "max-age=31536000; includeSubDomains"}


def content_security_policy(host: str) -> str:
    """Only what the page needs: its own scripts and styles, data: images, its own websocket.

    'wasm-unsafe-eval' lets the page compile WebAssembly (the offline recognizer, LiteRT.js, vendored in
    frontend/vendor/litert/); it allows no JavaScript eval. Each page's import map is an inline script,
    allowed by its hash (``IMPORT_MAP_HASH``), and the service worker is a script of this origin.
    """
    return (
        f"default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {IMPORT_MAP_HASH}; style-src 'self'; "
        "img-src 'self' data: blob:; worker-src 'self'; manifest-src 'self'; "
        f"connect-src 'self' ws://{host} wss://{host}; font-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    config = load_config(test_config)
    configure_logging()
    app = App(__name__, static_folder=str(ROOT / "frontend"), static_url_path="/static")
    app.config.update(config)
    app.config["TEACHER_TOKEN"], new_token = ensure_teacher_token(config)
    if new_token:  # first start: the only time the link is logged (python -m server prints it every start)
        announce(config, app.config["TEACHER_TOKEN"])
    app.config["MAX_CONTENT_LENGTH"] = config["MAX_UPLOAD_BYTES"] * 4 // 3 + 64 * 1024

    service = RecognitionService(config)  # cheap: its runtime starts on first use, or in gunicorn's post_worker_init
    app.extensions["service"] = service
    app.before_request(service.start)
    if not config["TESTING"]:
        atexit.register(service.close)

    app.extensions["retrain"] = RetrainJob(config)
    install_rest_limit(app)
    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.register_blueprint(models_api)
    app.register_blueprint(browser_model)
    app.register_blueprint(deliveries)
    app.register_blueprint(kiosks_api)
    app.register_blueprint(rooms_api)
    app.register_blueprint(moderation)
    app.register_blueprint(lesson_export)
    cli.register(app, service)
    register_error_handlers(app)

    max_message = config["MAX_FRAME_BYTES"] * 4 // 3 + 4096  # a frame as base64 text, with its envelope
    origins = [origin.strip() for origin in config["CORS_ORIGINS"].split(",") if origin.strip()]
    socketio.init_app(
        app,
        async_mode=config["ASYNC_MODE"],
        cors_allowed_origins=("*" if origins == ["*"] else origins) or None,
        message_queue=config["MESSAGE_QUEUE_URL"] or None,
        max_http_buffer_size=max_message,
        # Engine.IO's default. Every open connection costs the web process a ping and its answer per
        # interval: 1,000 idle kiosks and tabs at 10 s took 3.6 % of a core, 2.2 % at 25 s (bench.connections).
        # The page does not wait on pings to notice a silent server: it answers by itself after 1.5 s
        # (frontend/js/fallback.js), so a longer interval only delays the reconnect, never an answer.
        ping_interval=25,
        ping_timeout=20,
        # Handlers never wait (a frame's answer is emitted by the results loop, server/serving/results.py),
        # so they run on the connection's own reader: no new thread per event.
        async_handlers=False,
    )
    limit_message_size(socketio, max_message)
    app.wsgi_app = NoCompression(app.wsgi_app)  # outside Socket.IO's middleware: runs before the handshake
    if config["PROXY_COUNT"] > 0:  # outermost: the handshake, the API and the headers all see the client's view
        proxies = config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    @app.after_request
    def secure(response):
        response.headers.update(SECURITY_HEADERS)
        if request.path.startswith("/api/"):
            response.headers.update(API_HEADERS)
        if request.is_secure:
            response.headers.update(HSTS)
        response.headers["Content-Security-Policy"] = content_security_policy(request.host)
        return response

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the keyspace and tables (or the SQLite file) if missing; safe to run again."""
        try:
            service.store.create_schema()
        except StoreUnavailable as error:
            raise click.ClickException(f"The store is unreachable, no schema created: {error}") from error
        click.echo(f"Schema ready in {redacted(config['STORE_URL'])}")

    return app
