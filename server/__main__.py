"""``python -m server`` (what ``make run`` calls): serve the app on HOST:PORT.

With ``ASYNC_MODE=eventlet`` the package monkey-patches the process as its very first
import (see ``server/__init__.py``), as eventlet requires. Production runs under
gunicorn (see ``Procfile``).
"""

from server import create_app
from server.config import load_config
from server.extensions import socketio
from server.teacher import dashboard_link


def main() -> None:
    config = load_config()

    app = create_app()
    print(f"Serving on http://{config['HOST']}:{config['PORT']} (store: {config['STORE_URL'].split('?')[0]})")
    link = dashboard_link(config["HOST"], config["PORT"], app.config["TEACHER_TOKEN"])
    print(f"Teacher dashboard: {link}", flush=True)  # the key, like Jupyter's token: shown only here
    socketio.run(app, host=config["HOST"], port=config["PORT"], allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main()
