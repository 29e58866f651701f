"""Settings, all from the environment (12-factor). Safe for production by default:
DEBUG is off unless `DEBUG=1`, and then a SECRET_KEY is required.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
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
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "patients",
    "monitoring",
    "outcomes",
    "alerts",
    "api",
    "clinic",
    "registry",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "mstrack.middleware.refuse_nul_in_query",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "mstrack.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mstrack.middleware.NoStoreMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in with 429.
    "axes.middleware.AxesMiddleware",
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
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "mstrack.staticfinders.PlotlyFinder",
]
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
# Scripts, styles and images from this server only: no inline script or style, so an
# injected one does not run (templates load static/mstrack/). The API docs pages relax
# style-src for the styles their libraries inject (api/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # Plotly positions its legend and toolbar with style attributes and a <style> it
        # adds at run time; scripts stay files of this server only.
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
# No page needs a device or sensor; a script that asks is refused by the browser.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}
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
ALERT_EDSS_OVERDUE_MONTHS = int(os.environ.get("ALERT_EDSS_OVERDUE_MONTHS", _t.EDSS_OVERDUE_MONTHS))
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
# A write's evaluation request older than this, still undone, was missed by the broker: the
# periodic drain (every OUTBOX_DRAIN_SECONDS) queues it again.
ALERT_OUTBOX_GRACE_SECONDS = int(os.environ.get("ALERT_OUTBOX_GRACE_SECONDS", "30"))
ALERT_OUTBOX_DRAIN_SECONDS = int(os.environ.get("ALERT_OUTBOX_DRAIN_SECONDS", "30"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged task (its worker died) is delivered again after this many seconds;
    # evaluation is idempotent, so an early redelivery costs time, never a doubled alert.
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "900")),
}
# --- The clinic's outcomes (issue 17); docs/outcomes.md ---
# The therapy whose PIRA is tabulated by disease duration when no therapy is chosen (Graf 2021).
COHORT_PIRA_THERAPY = os.environ.get("COHORT_PIRA_THERAPY", "natalizumab")
# Reports of a filter set nobody asked for in this many days are no longer recomputed nightly.
COHORT_KEEP_DAYS = int(os.environ.get("COHORT_KEEP_DAYS", "30"))

CELERY_BEAT_SCHEDULE = {
    "alerts-nightly-sweep": {
        "task": "alerts.tasks.sweep",
        "schedule": crontab(hour=2, minute=30),
    },
    # The clinic's outcome reports for the new day, once the sweep's batches have run.
    "outcomes-nightly-reports": {
        "task": "outcomes.tasks.refresh_reports",
        "schedule": crontab(hour=4, minute=30),
    },
    "alerts-send-notifications": {
        "task": "alerts.tasks.send_notifications",
        "schedule": 5 * 60,
    },
    "alerts-drain-evaluation-requests": {
        "task": "alerts.tasks.drain_evaluation_requests",
        "schedule": ALERT_OUTBOX_DRAIN_SECONDS,
    },
}

# --- Registries (issue 16): imports and the pseudonymised research export; docs/import.md ---
# The key of the research pseudonyms (HMAC-SHA256): keep it secret and never change it, or
# every pseudonym changes. Exports refuse to run without it unless DEBUG (or under tests).
RESEARCH_PSEUDONYM_KEY = os.environ.get("RESEARCH_PSEUDONYM_KEY", "")
# Where finished exports are written; web and worker must share it.
RESEARCH_EXPORT_ROOT = Path(os.environ.get("RESEARCH_EXPORT_ROOT", BASE_DIR / "exports"))

REST_FRAMEWORK = {
    # Token first: an anonymous call is told to authenticate (401 with WWW-Authenticate).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "api.exceptions.handle",
    # JSON only: the one body the schema documents and hospital systems send (415
    # otherwise); too deep or holding NUL characters, a 400 (api.parsers), not a 500.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiSchema",
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
        "api.schema.query_strings_without_nul",
    ],
}

# FHIR bulk export (`$export`): the NDJSON files of each export, one directory per export.
FHIR_EXPORT_DIR = Path(os.environ.get("FHIR_EXPORT_DIR") or BASE_DIR / "data" / "fhir-exports")

# Sign-in lockout (django-axes): a user name at one address is refused for
# LOGIN_LOCKOUT_MINUTES after LOGIN_LOCKOUT_FAILURES failures (a success clears them), and
# an address after LOGIN_ADDRESS_FAILURES failures over any names (api.auth.SignInHandler).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "api.auth.SignInHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_LOCKOUT_FAILURES", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner on every manage.py command
LOGIN_ADDRESS_FAILURES = int(os.environ.get("LOGIN_ADDRESS_FAILURES", "30"))
# The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies the
# address they put in X-Forwarded-For (django-ipware); never a header a client could forge.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if TRUSTED_PROXY_COUNT else ["REMOTE_ADDR"]
)
# Two-factor sign-in (django-otp, TOTP) for the users of a site that requires it
# (Site.require_two_factor); the authenticator app shows this issuer name.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "mstrack")
# Single sign-on with the hospital's OpenID Connect provider (mozilla-django-oidc), on when
# OIDC_RP_CLIENT_ID is set; OIDC_GROUPS maps its groups to sites and roles
# ("group=SITE:role;..."), re-read at every sign-in (mstrack/oidc.py).
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_GROUPS_CLAIM = os.environ.get("OIDC_GROUPS_CLAIM", "groups")
OIDC_GROUPS = os.environ.get("OIDC_GROUPS", "")
if OIDC_RP_CLIENT_ID:
    AUTHENTICATION_BACKENDS.append("mstrack.oidc.HospitalBackend")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
