# Metalizer: one image for the web app (gunicorn), the Celery workers and Celery beat.
#   docker build -t metalizer .
#   web (default CMD):  gunicorn on :8000          worker: celery -A metalizer_site worker -Q heavy -c 1
#   beat:               celery -A metalizer_site beat
# Configuration comes from the environment only (see .env.example); /data holds runtime files.
FROM python:3.11-slim-bookworm

# ffmpeg decodes MP3/M4A/Opus uploads and encodes MP3 downloads; libsndfile1 backs soundfile.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg libsndfile1 \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# torch first, from the PyTorch CPU index: `torch==2.13.0` from PyPI is the CUDA build on Linux and pulls
# several GB of nvidia-* wheels this image never uses (no GPU). The CPU wheel is version 2.13.0+cpu,
# which satisfies requirements.txt's `torch==2.13.0`, so the second install keeps it.
COPY requirements.txt ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
    && pip install -r requirements.txt

# A non-root user owns /data (the volume: worker scratch, stem cache, beat schedule).
RUN groupadd --system --gid 10001 metalizer \
    && useradd --system --uid 10001 --gid metalizer --home-dir /home/metalizer --create-home metalizer \
    && mkdir -p /data \
    && chown metalizer:metalizer /data

COPY --chown=metalizer:metalizer . .

# Optional: bake the htdemucs checkpoint into the image (needs internet at build time; ~80 MB).
ARG FETCH_MODELS=0
RUN if [ "$FETCH_MODELS" = "1" ]; then python -m pipeline.fetch_models --models-dir models; fi

# Static files for WhiteNoise (DEBUG=0 serves the hashed manifest). Build-time values only, not secrets.
RUN METALIZER_DEBUG=0 METALIZER_SECRET_KEY=collectstatic-at-build-time-only \
    METALIZER_DATA_DIR=/tmp/build-data python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-data

# NUMBA_CACHE_DIR: librosa's numba caches compiled code, and site-packages is not writable by the app user.
ENV METALIZER_DATA_DIR=/data \
    METALIZER_MODELS_DIR=/app/models \
    METALIZER_ASSETS_DIR=/app/assets \
    NUMBA_CACHE_DIR=/tmp/numba-cache
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
req = u.Request('http://127.0.0.1:8000/healthz', headers={'Host': host, 'X-Forwarded-Proto': 'https'}); \
sys.exit(0 if u.urlopen(req, timeout=8).status == 200 else 1)"

# gthread: a slow client's 100 MB upload occupies one thread, not a whole worker, and the worker's heartbeat
# does not depend on the request finishing (so --timeout does not kill long uploads).
# --no-control-socket: gunicorn 27 otherwise opens ~/.gunicorn/gunicorn.ctl, shared by every gunicorn.
CMD ["gunicorn", "metalizer_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", \
     "--worker-class", "gthread", "--threads", "4", "--timeout", "120", "--graceful-timeout", "30", \
     "--access-logfile", "-", "--error-logfile", "-", "--no-control-socket"]
