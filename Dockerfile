# The web server image: slim Python, a non-root user, the committed model baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=8000 \
    SPOOL_PATH=/app/data/spool.db \
    MALLOC_ARENA_MAX=2 \
    NUMBA_CACHE_DIR=/app/numba-cache

RUN useradd --create-home --uid 10001 digits
WORKDIR /app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY model/ model/
COPY server/ server/
COPY frontend/ frontend/
COPY Procfile gunicorn.conf.py ./
RUN mkdir -p /app/data/models && chown -R digits:digits /app/data
# The PNG kernel (model/runtime/unfilter.py) compiled into the image, not by every container's first
# recognizer process; numba wants its cache folder writable, so it belongs to the server's user.
RUN python -c "from model.runtime import png; png.compiled_kernel()" && chown -R digits:digits /app/numba-cache

USER digits
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"

# The Procfile's web process (gunicorn reads gunicorn.conf.py: eventlet worker, ${PORT}).
CMD ["sh", "-c", "exec gunicorn 'server:create_app()'"]
