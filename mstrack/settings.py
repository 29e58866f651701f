"""Settings, all from the environment (12-factor). Safe for production by default:
DEBUG is off unless `DEBUG=1`, and then a SECRET_KEY is required.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in the environment when DEBUG is off "
            "(for a local try-out: DEBUG=1, as `make run` does)."
        )
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "mstrack.admin.MstrackAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "patients",
    "monitoring",
    "outcomes",
    "alerts",
    "api",
    "clinic",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mstrack.urls"
WSGI_APPLICATION = "mstrack.wsgi.application"

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
                "mstrack.context_processors.sites",
            ],
        },
    },
]

# SQLite in the checkout by default so that `make run` needs nothing installed.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a seed or worker writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
# Clinical dates are the clinic's calendar dates; "today" is taken in this zone.
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security: production defaults, relaxed only for DEBUG on plain http ---
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 60 * 60  # one clinic day
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Email (console unless configured) ---
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "mstrack <mstrack@localhost>")

# --- Celery: eager (in-process) unless a broker is configured ---
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE

# --- Alerts (issue 4): thresholds, grouping and the nightly sweep; docs/alerts.md ---
# Defaults come from monitoring/clinical/thresholds.py; each can be set in the environment.
from celery.schedules import crontab  # noqa: E402

from monitoring.clinical import thresholds as _t  # noqa: E402

ALERT_PROGRESSION_DEFINITION = os.environ.get("ALERT_PROGRESSION_DEFINITION", "muller2023")
ALERT_PROGRESSION_SETTINGS: dict[str, object] = {}  # e.g. {"baseline": "fixed"}
ALERT_MRI_OVERDUE_MONTHS = int(os.environ.get("ALERT_MRI_OVERDUE_MONTHS", _t.MRI_OVERDUE_MONTHS))
ALERT_EDSS_OVERDUE_MONTHS = int(
    os.environ.get("ALERT_EDSS_OVERDUE_MONTHS", _t.EDSS_OVERDUE_MONTHS)
)
ALERT_LOOKBACK_MONTHS = int(os.environ.get("ALERT_LOOKBACK_MONTHS", _t.ALERT_LOOKBACK_MONTHS))
ALERT_MAGNIMS_POINTS = int(os.environ.get("ALERT_MAGNIMS_POINTS", _t.MAGNIMS_ALERT_POINTS))
ALERT_RIO_POINTS = int(os.environ.get("ALERT_RIO_POINTS", _t.RIO_ALERT_POINTS))
# One email per patient per this many minutes at most; later alerts wait and are grouped.
ALERT_EMAIL_GROUP_MINUTES = int(os.environ.get("ALERT_EMAIL_GROUP_MINUTES", "15"))
ALERT_SWEEP_BATCH = int(os.environ.get("ALERT_SWEEP_BATCH", "500"))  # patients per task
# The evaluation writes statuses and alerts with server-side prepared statements on
# PostgreSQL (half the server time of a row). Switch off behind a connection pooler that
# cannot keep them (PgBouncer in transaction mode before 1.21).
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
# A pending evaluation blocks further enqueues for the same patient at most this long.
ALERT_PENDING_SECONDS = int(os.environ.get("ALERT_PENDING_SECONDS", "600"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged task (its worker died) is delivered again after this many seconds;
    # evaluation is idempotent, so an early redelivery costs time, never a doubled alert.
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "900")),
}
CELERY_BEAT_SCHEDULE = {
    "alerts-nightly-sweep": {
        "task": "alerts.tasks.sweep",
        "schedule": crontab(hour=2, minute=30),
    },
    "alerts-send-notifications": {
        "task": "alerts.tasks.send_notifications",
        "schedule": 5 * 60,
    },
}

REST_FRAMEWORK = {
    # Token first: an anonymous call is told to authenticate (401 with WWW-Authenticate).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "api.exceptions.handle",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.IntegrationRateThrottle",
        "api.throttling.ClinicianRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "integration": os.environ.get("API_TOKEN_RATE", "1200/minute"),
        "user": os.environ.get("API_USER_RATE", "600/minute"),
    },
    # Numbers as JSON numbers (EDSS 3.5, not "3.50").
    "COERCE_DECIMAL_TO_STRING": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "mstrack API",
    "DESCRIPTION": "Treat-to-target care in multiple sclerosis: patients, visits, relapses, "
    "MRI scans, NfL samples and therapy courses of the caller's sites, their stored status, "
    "progression events and alerts.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Docs pages load their scripts from this server, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # NEDA-3 and NEDA-4 share one set of states: one enum, named once.
    "ENUM_NAME_OVERRIDES": {"NedaStateEnum": "outcomes.models.NedaState"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.fhir_operation_paths",
        "api.documents.document_components",
    ],
}

# Django's password check, locked for LOGIN_LOCKOUT_PERIOD after this many failures in a row.
AUTHENTICATION_BACKENDS = ["api.auth.LockoutModelBackend"]
LOGIN_LOCKOUT_FAILURES = int(os.environ.get("LOGIN_LOCKOUT_FAILURES", "5"))
LOGIN_LOCKOUT_PERIOD = dt.timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
