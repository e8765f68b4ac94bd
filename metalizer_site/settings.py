"""Metalizer settings: one file, read from the environment through the typed helpers in ``env.py``.

With no environment at all this is the *embedded* mode: DEBUG on, SQLite and local media under
``data/``, a Celery broker on the filesystem (no server). Production sets ``METALIZER_DEBUG=0``,
``METALIZER_SECRET_KEY``, ``QUEUE_BACKEND=redis`` + ``REDIS_URL``, a PostgreSQL ``METALIZER_JOBS_DB_URL``
and ``METALIZER_STORAGE=s3``. Every variable is listed in ``.env.example``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from metalizer_site.env import QUEUE_BACKENDS, STORAGE_BACKENDS, Env, database_config, redis_url, weak_secret
from metalizer_site.s3_storage import BACKEND as S3_BACKEND
from metalizer_site.s3_storage import s3_storage_options
from pipeline.types import MIN_SONG_DURATION_S, SEPARATOR_METHODS

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()

# --- Core ------------------------------------------------------------------------------------------
DEBUG = env.bool("METALIZER_DEBUG", True)
SECRET_KEY = env.str("METALIZER_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("METALIZER_SECRET_KEY must be set when METALIZER_DEBUG=0.")
    SECRET_KEY = "dev-only-insecure-key-metalizer-embedded-mode-do-not-use-in-production"
elif not DEBUG and (_weak := weak_secret(SECRET_KEY, min_length=32)):
    raise ImproperlyConfigured(
        f"METALIZER_SECRET_KEY is not a usable secret ({_weak}). Set a long random string, e.g. "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
ALLOWED_HOSTS = env.list("METALIZER_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("METALIZER_CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if "://" not in _origin:
        raise ImproperlyConfigured(
            f"METALIZER_CSRF_TRUSTED_ORIGINS entries need a scheme (https://example.com); got {_origin!r}."
        )

DATA_DIR = env.path("METALIZER_DATA_DIR", BASE_DIR / "data", base=BASE_DIR)
# Every process writes here (beat's schedule, the worker's scratch, the embedded broker): make sure it exists.
DATA_DIR.mkdir(parents=True, exist_ok=True)
METALIZER_MODELS_DIR = env.path("METALIZER_MODELS_DIR", BASE_DIR / "models", base=BASE_DIR)
METALIZER_ASSETS_DIR = env.path("METALIZER_ASSETS_DIR", BASE_DIR / "assets", base=BASE_DIR)
# The separators listeners may choose (auto picks among them). htdemucs' weights are for research and personal
# use only: a commercial deployment sets spleeter,dsp.
METALIZER_SEPARATORS = env.subset("METALIZER_SEPARATORS", SEPARATOR_METHODS, SEPARATOR_METHODS)
METALIZER_ASSETS_API_KEY = env.str("METALIZER_ASSETS_API_KEY") or None
METALIZER_ASSET_MAX_BYTES = env.int("METALIZER_ASSET_MAX_BYTES", 52_428_800, minimum=1)
METALIZER_UPLOAD_MAX_BYTES = env.int("METALIZER_UPLOAD_MAX_BYTES", 104_857_600, minimum=1)
METALIZER_MAX_DURATION_S = env.int("METALIZER_MAX_DURATION_S", 600, minimum=3)
METALIZER_JOB_TTL_HOURS = env.int("METALIZER_JOB_TTL_HOURS", 24, minimum=1)
# Stem cache entries (in storage, under stem-cache/) no live job uses are purged this long after written.
METALIZER_STEM_CACHE_TTL_HOURS = env.int("METALIZER_STEM_CACHE_TTL_HOURS", METALIZER_JOB_TTL_HOURS, minimum=1)
# POST /api/remix without ?background=true (the seed contract) waits this long, then answers 202.
METALIZER_SEED_REMIX_WAIT_S = env.int("METALIZER_SEED_REMIX_WAIT_S", 100, minimum=1)
METALIZER_TASK_SOFT_TIME_LIMIT_S = env.int("METALIZER_TASK_SOFT_TIME_LIMIT_S", 1800, minimum=10)
METALIZER_TASK_TIME_LIMIT_S = env.int("METALIZER_TASK_TIME_LIMIT_S", 2100, minimum=11)
if METALIZER_TASK_TIME_LIMIT_S <= METALIZER_TASK_SOFT_TIME_LIMIT_S:
    raise ImproperlyConfigured(
        "METALIZER_TASK_TIME_LIMIT_S must be greater than METALIZER_TASK_SOFT_TIME_LIMIT_S "
        "so the task can record its failure before it is killed."
    )
# A running job whose heartbeat is older than this is considered orphaned by a dead worker.
METALIZER_STUCK_AFTER_S = env.int("METALIZER_STUCK_AFTER_S", 300, minimum=30)
# A job queued this long without a worker taking it has probably lost its message (a worker killed
# while holding it): it is sent again once. Long enough for a real backlog on one heavy worker.
METALIZER_QUEUED_STALE_S = env.int("METALIZER_QUEUED_STALE_S", 3600, minimum=60)
METALIZER_HEARTBEAT_S = 10
METALIZER_PROGRESS_MIN_INTERVAL_S = 2.0
METALIZER_UPLOAD_MIN_DURATION_S = MIN_SONG_DURATION_S  # the pipeline's knowledge, read here
# Where the worker unpacks inputs and the pipeline writes outputs before they go to storage.
METALIZER_WORK_DIR = DATA_DIR / "work"
METALIZER_STEM_CACHE_DIR = DATA_DIR / "stem-cache"  # `manage.py metalize`'s local cache; workers use storage
# The sound bank laid out as the pipeline reads it, shared by the jobs while no active pack changes.
METALIZER_ASSET_CACHE_DIR = DATA_DIR / "asset-cache"

# --- Apps ------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "metalizer_site",
    "jobs",
    "assets_bank",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "metalizer_site.api_errors.ApiErrorShapeMiddleware",  # every /api/ error in the one JSON shape
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "metalizer_site.urls"
CSRF_FAILURE_VIEW = "jobs.views.csrf_failure"
WSGI_APPLICATION = "metalizer_site.wsgi.application"
ASGI_APPLICATION = "metalizer_site.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "account-login"  # the API token page asks a visitor to sign in here
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------------
# Default: sqlite:///data/jobs.sqlite3, i.e. inside METALIZER_DATA_DIR (which follows that variable).
METALIZER_JOBS_DB_URL = env.str("METALIZER_JOBS_DB_URL", f"sqlite:///{DATA_DIR / 'jobs.sqlite3'}")
DATABASES = {"default": database_config(METALIZER_JOBS_DB_URL, base_dir=BASE_DIR)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default needs no setup step: the data folder appears on first start.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

# --- Storage ---------------------------------------------------------------------------------------
METALIZER_STORAGE = env.choice("METALIZER_STORAGE", STORAGE_BACKENDS, "local")
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = env.path("METALIZER_STATIC_ROOT", BASE_DIR / "staticfiles", base=BASE_DIR)
# collectstatic's manifest: without it (a server started without collectstatic) pages still render, with plain
# static names served from the app folders (metalizer_site.staticfiles; system check metalizer.W002).
STATIC_COLLECTED = (STATIC_ROOT / "staticfiles.json").is_file()
STATICFILES_DIRS = [BASE_DIR / "static"]
METALIZER_S3_SIGNED_URL_TTL_S = env.int("METALIZER_S3_SIGNED_URL_TTL_S", 300, minimum=1)
if METALIZER_STORAGE == "s3":
    _s3_missing = [
        name
        for name in ("METALIZER_S3_BUCKET", "METALIZER_S3_ACCESS_KEY", "METALIZER_S3_SECRET_KEY")
        if not env.str(name)
    ]
    if _s3_missing:
        raise ImproperlyConfigured(f"METALIZER_STORAGE=s3 needs {', '.join(_s3_missing)}.")
    if not DEBUG and (_weak := weak_secret(env.str("METALIZER_S3_SECRET_KEY"), min_length=16)):
        raise ImproperlyConfigured(
            f"METALIZER_S3_SECRET_KEY is not a usable credential ({_weak}): whoever reaches the store would "
            "read every song and rewrite the bank. Use the store's own generated secret."
        )
    _default_storage = {
        "BACKEND": S3_BACKEND,
        "OPTIONS": s3_storage_options(
            bucket=env.str("METALIZER_S3_BUCKET"),
            endpoint_url=env.str("METALIZER_S3_ENDPOINT_URL") or None,
            access_key=env.str("METALIZER_S3_ACCESS_KEY"),
            secret_key=env.str("METALIZER_S3_SECRET_KEY"),
            region=env.str("METALIZER_S3_REGION", "us-east-1"),
            signed_url_ttl_s=METALIZER_S3_SIGNED_URL_TTL_S,
        ),
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "metalizer_site.staticfiles.ForgivingManifestStorage"
        )
    },
}

# --- Uploads: stream every file to disk, cap its size while streaming (metalizer_site.uploads) -----
FILE_UPLOAD_HANDLERS = [
    "metalizer_site.uploads.SizeCapUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_TEMP_DIR = None
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Queue (Celery) --------------------------------------------------------------------------------
QUEUE_BACKEND = env.choice("QUEUE_BACKEND", QUEUE_BACKENDS, "embedded")
REDIS_URL = redis_url(env)
BROKER_DIR = DATA_DIR / "broker"
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = True
if QUEUE_BACKEND == "redis":
    if not REDIS_URL:
        raise ImproperlyConfigured(
            "QUEUE_BACKEND=redis needs REDIS_URL (or METALIZER_REDIS_URL), e.g. redis://127.0.0.1:6379/0."
        )
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"REDIS_URL must start with redis://, rediss:// or unix://; got {REDIS_URL!r}."
        )
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 3,
        "visibility_timeout": METALIZER_TASK_TIME_LIMIT_S + 600,
    }
    METALIZER_BROKER_VARIABLE = "REDIS_URL"
elif QUEUE_BACKEND == "embedded":
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    METALIZER_BROKER_VARIABLE = "METALIZER_DATA_DIR"
else:  # eager: tasks run inline in the caller; for unit tests only
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
    CELERY_TASK_ALWAYS_EAGER = True
    METALIZER_BROKER_VARIABLE = "QUEUE_BACKEND"

# --- Admission: how much work one caller may ask for (metalizer_site.rate_limits, jobs.admission) -------
# Proxies in front of the web app that each append the address they saw to X-Forwarded-For (Fly's proxy: 1).
# 0: the header is ignored and the connection's address is the client, so no client can choose who it is.
METALIZER_TRUSTED_PROXIES = env.int("METALIZER_TRUSTED_PROXIES", 0, minimum=0)
# (count, seconds) per caller: song uploads and re-styles together; asset uploads apart; failed admin logins.
METALIZER_UPLOAD_RATE = env.rate("METALIZER_THROTTLE_UPLOADS", "120/hour")
METALIZER_ASSET_UPLOAD_RATE = env.rate("METALIZER_THROTTLE_ASSET_UPLOADS", "600/hour")
METALIZER_ADMIN_LOGIN_RATE = env.rate("METALIZER_THROTTLE_ADMIN_LOGIN", "10/hour")
# What one caller may have waiting or running at once: remixes, and minutes of music in them.
METALIZER_MAX_UNFINISHED_JOBS = env.int("METALIZER_MAX_UNFINISHED_JOBS", 5, minimum=1)
METALIZER_MAX_QUEUED_AUDIO_MINUTES = env.int("METALIZER_MAX_QUEUED_AUDIO_MINUTES", 30, minimum=1)
# The counts live where every web process sees them: Redis beside the queue, else the database.
METALIZER_RATE_STORE = "redis" if QUEUE_BACKEND == "redis" else "database"

CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# process_job's options live here only (jobs.tasks sets none of its own): late acks, redelivery when a
# worker is lost, the heavy queue, the time limits.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"jobs.tasks.process_job": {"queue": "heavy"}}
CELERY_TASK_SOFT_TIME_LIMIT = METALIZER_TASK_SOFT_TIME_LIMIT_S
CELERY_TASK_TIME_LIMIT = METALIZER_TASK_TIME_LIMIT_S
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = False
CELERY_BROKER_CONNECTION_MAX_RETRIES = 2
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "purge-expired-jobs": {
        "task": "jobs.tasks.purge_expired_jobs",
        "schedule": crontab(minute=7),
        "options": {"queue": "default"},
    },
    "recover-stuck-jobs": {
        "task": "jobs.tasks.recover_stuck_jobs",
        "schedule": timedelta(minutes=3),
        "options": {"queue": "default"},
    },
}

# --- API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "metalizer_site.api_auth.BearerTokenAuthentication",  # first: a refused credential is a 401
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [
        "metalizer_site.throttles.SharedAnonRateThrottle",
        "metalizer_site.throttles.SharedUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("METALIZER_THROTTLE_ANON", "3000/hour"),
        "user": env.str("METALIZER_THROTTLE_USER", "6000/hour"),
    },
    # The client's address: the connection's, or X-Forwarded-For's as the trusted proxies wrote it.
    "NUM_PROXIES": METALIZER_TRUSTED_PROXIES,
    "DEFAULT_SCHEMA_CLASS": "metalizer_site.api_schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "metalizer_site.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": None,
    "URL_FORMAT_OVERRIDE": None,  # ?format= picks the audio format of a download, not a DRF renderer
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Metalizer API",
    "DESCRIPTION": "Upload a song, get it back as a heavy-metal remix.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components, so file fields are documented as binary uploads.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "metalizer_site.api_schema.add_links",
    ],
    # /api/docs/ runs Swagger UI from this app's static files (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"SeedJobStatusEnum": "jobs.api.seed_contract.SEED_STATUSES"},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Content-Security-Policy (django-csp) ----------------------------------------------------------
# Scripts only from this origin (no inline script anywhere: /api/docs/ loads its init script by URL);
# inline styles are allowed (Swagger UI's and the admin's style attributes; a style cannot run code).
# Signed S3 downloads are another origin: the players, the picture and the mixer fetch from it.
_storage_origins: list[str] = []
if METALIZER_STORAGE == "s3":
    from urllib.parse import urlsplit

    _endpoint = urlsplit(env.str("METALIZER_S3_ENDPOINT_URL"))
    _region = env.str("METALIZER_S3_REGION", "us-east-1")
    _storage_origins = (
        [f"{_endpoint.scheme}://{_endpoint.netloc}"]
        if _endpoint.netloc
        else ["https://s3.amazonaws.com", f"https://s3.{_region}.amazonaws.com"]
    )
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *_storage_origins],
        "media-src": ["'self'", "blob:", *_storage_origins],  # blob: the upload page reads a song's length
        "connect-src": ["'self'", *_storage_origins],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

env.rate("METALIZER_THROTTLE_ANON", "3000/hour")  # malformed rates stop start-up here, not at a request
env.rate("METALIZER_THROTTLE_USER", "6000/hour")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # The API's request throttles count here: in Redis, shared by every web process, in production.
    "throttles": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "throttle",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
        if QUEUE_BACKEND == "redis"
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttles"}
    ),
}

# --- Auth, i18n ------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30

# --- Production hardening (only when not DEBUG) ----------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("METALIZER_SECURE_SSL_REDIRECT", True)
    # Off only for plain HTTP on the loopback interface (scripts/run_embedded.sh, i.e. `make run`).
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("METALIZER_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = env.int("METALIZER_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = False
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    SILENCED_SYSTEM_CHECKS = ["security.W021"]  # HSTS preload is an opt-in decision for the operator.

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("METALIZER_LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# In development, and in production until collectstatic has run, static files come from the app folders.
WHITENOISE_USE_FINDERS = DEBUG or not STATIC_COLLECTED
WHITENOISE_MANIFEST_STRICT = False
