"""``python -m server`` (what ``make run`` calls): serve the app on HOST:PORT.

With ``ASYNC_MODE=eventlet`` the process is monkey-patched before anything else is
imported, as eventlet requires. Production runs under gunicorn (see ``Procfile``).
"""

from server.config import load_config


def main() -> None:
    config = load_config()
    if config["ASYNC_MODE"] == "eventlet":
        import eventlet

        eventlet.monkey_patch()
    from server import create_app
    from server.extensions import socketio

    app = create_app()
    print(f"Serving on http://{config['HOST']}:{config['PORT']} (store: {config['STORE_URL'].split('?')[0]})")
    socketio.run(app, host=config["HOST"], port=config["PORT"], allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main()
