# The web server image: slim Python, a non-root user, the committed model baked in, no TensorFlow.
# Three stages: `runtime` (requirements.txt and the code), `retrain` (adds requirements-train.txt,
# MNIST and the fonts; built only when asked for: `docker compose run --rm retrain`) and `web`,
# the last one, which `docker build .` builds.
# Debian bookworm, as on the machine the tests run on: the retrain stage's font packages and their paths
# (model/training/fonts.py) are that release's.
FROM python:3.11-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=8000 \
    SPOOL_PATH=/app/data/spool.db \
    MALLOC_ARENA_MAX=2 \
    NUMBA_CACHE_DIR=/app/numba-cache

RUN useradd --create-home --uid 10001 digits
WORKDIR /app

# Serving only: requirements-train.txt (TensorFlow, 1.3 GB) is the retrain stage's.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY model/ model/
COPY server/ server/
COPY frontend/ frontend/
COPY Procfile gunicorn.conf.py ./
RUN mkdir -p /app/data/models && chown -R digits:digits /app/data
# The PNG kernel (model/runtime/unfilter.py) compiled into the image, not by every container's first
# recognizer process; numba wants its cache folder writable, so it belongs to the server's user.
RUN python -c "from model.runtime import kernels; kernels.warm()" && chown -R digits:digits /app/numba-cache

# The retrain (`python -m model.training.retrain`, what `make retrain` runs): TensorFlow, MNIST (made into
# /app/.cache by `python -m model.training.data`) and the fonts its generated non-digits are drawn with
# (model/training/fonts.py). It writes a candidate into the models volume; a teacher promotes it.
FROM runtime AS retrain
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-breip fonts-bwht fonts-cabinsketch fonts-comic-neue \
        fonts-dancingscript fonts-dejavu-core fonts-dkg-handwriting fonts-ecolier-court fonts-havana \
        fonts-humor-sans fonts-kaushanscript fonts-kiloji fonts-klee fonts-kristi fonts-leckerli-one \
        fonts-liberation fonts-lobster fonts-opendyslexic fonts-rufscript fonts-seto fonts-sjfonts \
        fonts-tlwg-purisa-ttf fonts-tlwg-typist-ttf fonts-tomsontalks fonts-urw-base35 fonts-yozvox-yozfont \
        fonts-yusei-magic \
    && rm -rf /var/lib/apt/lists/*
COPY requirements-train.txt ./
RUN pip install --no-cache-dir -r requirements-train.txt
RUN python -m model.training.data && chown -R digits:digits /app/.cache
USER digits
CMD ["python", "-m", "model.training.retrain"]

# The web process: what `docker build .` builds and every web replica runs.
FROM runtime AS web
USER digits
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"

# The Procfile's web process (gunicorn reads gunicorn.conf.py: eventlet worker, ${PORT}).
CMD ["sh", "-c", "exec gunicorn 'server:create_app()'"]
