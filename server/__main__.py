"""``python -m server`` (what ``make run`` calls): the production stack on HOST:PORT.

It runs gunicorn with ``gunicorn.conf.py``, exactly as the Procfile does, only with the
configured HOST (127.0.0.1 unless set) instead of every interface: one way to serve. First
it prints the teacher's dashboard link, the way Jupyter prints its token link: the key is
made now if there is none yet (``server/access/teacher.py``), and the server reads the same one.
"""

import os
import sys

from server.access.teacher import dashboard_link, ensure_teacher_token
from server.config import ROOT, load_config
from server.logs import redacted


def main() -> None:
    config = load_config()
    token, _ = ensure_teacher_token(config)
    print(f"Serving on http://{config['HOST']}:{config['PORT']} (store: {redacted(config['STORE_URL'])})")
    print(f"Teacher dashboard: {dashboard_link(config['HOST'], config['PORT'], token)}", flush=True)
    os.chdir(ROOT)  # gunicorn reads gunicorn.conf.py from here
    environment = {**os.environ, "HOST": config["HOST"], "PORT": str(config["PORT"])}
    os.execve(sys.executable, [sys.executable, "-m", "gunicorn", "server:create_app()"], environment)


if __name__ == "__main__":
    main()
