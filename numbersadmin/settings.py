"""Settings, all from the environment (django-environ). Every variable is documented in README.md.

Two modes:
- embedded (nothing set): SQLite file under ./var, tasks run in a thread inside the web process,
  provider hosts 127.0.0.1/localhost allowed so the built-in simulators work;
- production: DATABASE_URL (PostgreSQL) and REDIS_URL set: Celery worker + beat do the syncing.
"""

from __future__ import annotations

import os
import secrets as _secrets
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

VAR_DIR = Path(env.str("NUMBERSADMIN_VAR_DIR", default=str(BASE_DIR / "var")))
EMBEDDED = not env.str("DATABASE_URL", default="")


def _local_secret(name: str, make) -> str:
    """Embedded mode only: create a secret once and keep it in ./var so restarts keep sessions
    and can still decrypt stored provider credentials."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (
    _local_secret("secret_key", lambda: _secrets.token_urlsafe(50)) if EMBEDDED else ""
)
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DATABASE_URL is set")

# Fernet keys for provider secrets at rest: comma-separated, newest first (MultiFernet rotation).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or (
    [_local_secret("fernet_key", lambda: Fernet.generate_key().decode())] if EMBEDDED else []
)
if not FIELD_ENCRYPTION_KEYS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DATABASE_URL is set")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "numbersadmin.inventory",
    "numbersadmin.reconcile",
    "numbersadmin.alerts",
    "numbersadmin.identity",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "numbersadmin.inventory.scopes.ScopeMiddleware",
    "numbersadmin.inventory.middleware.SiteSettingsMemoMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "numbersadmin.urls"
WSGI_APPLICATION = "numbersadmin.wsgi.application"

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
                "django.template.context_processors.csp",
            ],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'numbersadmin.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, for the test database: the in-process sync thread and the live
    # server must see the same data as the test.
    # Per process, so two test runs on one machine never share (and corrupt) one file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    # WAL lets the page read while the in-process sync thread writes; IMMEDIATE avoids
    # "database is locked" upgrades inside write transactions.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "transaction_mode": "IMMEDIATE", "timeout": 30}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # No JIT: pages run short queries whose estimated cost can still cross jit_above_cost (an "as
    # of" page's per-row history probes), and compiling then costs more than the query.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = (options.get("options", "") + " -c jit=off").strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Task runner: Celery when a broker is configured, else a thread pool in this process.
TASK_RUNNER = env.str("TASK_RUNNER", default="celery" if REDIS_URL else "thread")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # sync tasks are idempotent (lease + upsert keyed on provider id)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# soft_time_limit < time_limit < visibility_timeout, or a long sync is redelivered while running.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("SYNC_SOFT_TIME_LIMIT", default=50 * 60)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 5 * 60
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 10 * 60}
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 30
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # Per-account intervals live in the database; beat only wakes the dispatcher.
    "dispatch-due-syncs": {"task": "inventory.dispatch_due_syncs", "schedule": env.float("SYNC_DISPATCH_EVERY", default=60.0)},
    "reap-sync-runs": {"task": "inventory.reap_sync_runs", "schedule": env.float("SYNC_REAP_EVERY", default=30.0)},
    "cleanup-exports": {"task": "inventory.cleanup_exports", "schedule": 3600.0},
    # Evaluate alert rules and send what is due (digests, reports, delivery retries).
    "run-alerts": {"task": "alerts.run", "schedule": env.float("ALERTS_RUN_EVERY", default=300.0)},
}
CELERY_TIMEZONE = "UTC"

# Hosts a non-official provider base URL may point at (simulators, staging proxies).
PROVIDER_ALLOWED_HOSTS = env.list(
    "PROVIDER_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if EMBEDDED else []
)
# Sync liveness: a running sync renews its account lease every SYNC_HEARTBEAT_SECONDS; a lease not
# renewed for SYNC_LEASE_SECONDS means its worker died, and the reaper (every SYNC_REAP_EVERY s)
# marks the run lost and starts a fresh one. Queued runs whose task was not picked up within
# SYNC_QUEUED_STALE_SECONDS of being due are handed to the runner again (task lost with Redis).
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=90)
SYNC_HEARTBEAT_SECONDS = env.float("SYNC_HEARTBEAT_SECONDS", default=max(1.0, SYNC_LEASE_SECONDS / 6))
SYNC_REAP_EVERY = env.float("SYNC_REAP_EVERY", default=30.0)
SYNC_QUEUED_STALE_SECONDS = env.int("SYNC_QUEUED_STALE_SECONDS", default=120)
SYNC_FINISH_ATTEMPTS = env.int("SYNC_FINISH_ATTEMPTS", default=8)  # ~1 min of back-off for a restarting DB
SYNC_RATE_LIMIT_RETRIES = env.int("SYNC_RATE_LIMIT_RETRIES", default=5)  # consecutive, per sync
# Numbers absent from a listing are looked up one by one (evidence before removal) up to this many
# per run; above it they all become "missing" and the breaker decides later.
SYNC_MISSING_LOOKUP_MAX = env.int("SYNC_MISSING_LOOKUP_MAX", default=200)
DEFAULT_SYNC_INTERVAL_MINUTES = env.int("DEFAULT_SYNC_INTERVAL_MINUTES", default=60)
# Mass-removal breaker: hold removals for review above max(fraction * numbers, minimum).
SYNC_REMOVAL_GUARD_FRACTION = env.float("SYNC_REMOVAL_GUARD_FRACTION", default=0.25)
SYNC_REMOVAL_GUARD_MIN = env.int("SYNC_REMOVAL_GUARD_MIN", default=50)
PROVIDER_HTTP_TIMEOUT = env.float("PROVIDER_HTTP_TIMEOUT", default=30.0)
SYNC_DEFAULT_RETRY_AFTER = env.float("SYNC_DEFAULT_RETRY_AFTER", default=30.0)  # 429 without Retry-After

# Exports. CSV always streams; XLSX above this many rows is built by a background job (worker in
# production) with progress and a download link. Job files live here (shared by web and worker).
EXPORT_XLSX_SYNC_ROWS = env.int("EXPORT_XLSX_SYNC_ROWS", default=5000)
EXPORT_DIR = Path(env.str("EXPORT_DIR", default=str(VAR_DIR / "exports")))
EXPORT_CSV_COPY = env.bool("EXPORT_CSV_COPY", default=True)  # PostgreSQL: CSV via COPY (same cells)
EXPORT_RETENTION_HOURS = env.float("EXPORT_RETENTION_HOURS", default=24.0)  # then the file is deleted
EXPORT_JOBS_PER_USER = env.int("EXPORT_JOBS_PER_USER", default=2)  # queued or running at once
# Account scopes (inventory/scopes.py): True = a user in no scope sees every account (single-team
# installs keep working); False = a user in no scope sees nothing until an admin grants a scope.
SCOPES_DEFAULT_ALL = env.bool("SCOPES_DEFAULT_ALL", default=True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "numbers"
LOGOUT_REDIRECT_URL = "login"
LOGIN_THROTTLE_ATTEMPTS = env.int("LOGIN_THROTTLE_ATTEMPTS", default=10)
LOGIN_THROTTLE_WINDOW = env.int("LOGIN_THROTTLE_WINDOW", default=15 * 60)

# Password login (the login form, Django admin's login). False: the form is gone and password
# POSTs are refused everywhere (identity.backends.LocalBackend); users sign in with SSO only.
# Emergency access: `manage.py` (changepassword, createsuperuser) still works, and setting it back
# to True (restart) brings the form back.
LOCAL_LOGIN_ENABLED = env.bool("LOCAL_LOGIN_ENABLED", default=True)
# Invitation links (Django's password-reset tokens) stay valid this long, and work once.
PASSWORD_RESET_TIMEOUT = env.int("INVITE_LINK_SECONDS", default=3 * 24 * 3600)

# Single sign-on with OpenID Connect (mozilla-django-oidc; identity/ in README "Single sign-on").
# Switched on when OIDC_RP_CLIENT_ID is set and the provider is known: OIDC_OP_DISCOVERY_URL (its
# /.well-known/openid-configuration, fetched on first use) and/or the explicit endpoints, which win.
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_DISCOVERY_URL = env.str("OIDC_OP_DISCOVERY_URL", default="")
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=10.0)
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
# "idp-group=Django group,other=Other group" (or a JSON object {"idp-group": ["Group", ...]}).
OIDC_GROUP_MAP = env.str("OIDC_GROUP_MAP", default="")
OIDC_CREATE_USERS = env.bool("OIDC_CREATE_USERS", default=True)
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="SSO")  # the button reads "Sign in with SSO"
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID and (OIDC_OP_DISCOVERY_URL or (OIDC_OP_AUTHORIZATION_ENDPOINT and OIDC_OP_TOKEN_ENDPOINT)))
OIDC_CREATE_USER = False  # mozilla-django-oidc's own switch: identity.backends creates users itself
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "login"
AUTHENTICATION_BACKENDS = [
    "numbersadmin.identity.backends.LocalBackend",  # first: force_login and sessions default to it
    "numbersadmin.identity.backends.SsoBackend",  # does nothing unless OIDC is configured
]

# django-filter's blank choice: "Any" (no filter), not "---------" (filters.FastFilterSet sets it too).
FILTERS_EMPTY_CHOICE_LABEL = "Any"

LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["numbersadmin.formats"]  # one date format on every page (formats/en/formats.py)
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=not DEBUG and not EMBEDDED)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = EMBEDDED or DEBUG  # serve ./static without collectstatic in the quick start
if WHITENOISE_USE_FINDERS:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise

# Security headers. HTTPS-only settings switch on with DJANGO_HTTPS=1 (production behind TLS).
HTTPS = env.bool("DJANGO_HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
BEHIND_PROXY = env.bool("DJANGO_BEHIND_PROXY", default=False)
PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=1)  # proxies that append to X-Forwarded-For
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}


def _static_security_headers(headers, path, url):
    """WhiteNoise answers static files before the CSP and clickjacking middleware run: give them
    the same protections (a static file is never a page to frame or a script to run elsewhere)."""
    headers["X-Frame-Options"] = X_FRAME_OPTIONS
    headers["Content-Security-Policy"] = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = SECURE_REFERRER_POLICY
    headers["Cross-Origin-Resource-Policy"] = "same-origin"


WHITENOISE_ADD_HEADERS_FUNCTION = _static_security_headers

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # 403/404/400 are one warning line, never a traceback (Django attaches the PermissionDenied).
    "filters": {"client_error_without_traceback": {"()": "numbersadmin.logfilters.ClientErrorWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["client_error_without_traceback"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # On the logger too, so every handler (not only ours) sees the record without the traceback.
        "django.request": {"filters": ["client_error_without_traceback"]},
        "django.security": {"filters": ["client_error_without_traceback"]},
        "providers.http": {"level": env.str("PROVIDER_HTTP_LOG_LEVEL", default="WARNING")},
        "django.db.backends": {"level": "WARNING"},
        # httpx logs full request URLs at INFO; ours (providers.http) are redacted instead.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# REST API (/api/v1/): personal tokens or the browser session (with CSRF), JSON only, per-token rate.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "numbersadmin.inventory.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "numbersadmin.inventory.api.auth.TokenScope",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["numbersadmin.inventory.api.auth.PerTokenThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env.str("API_RATE", default="1200/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "numbersadmin API",
    "DESCRIPTION": "Every phone number, caller ID, owner, location and trunk across provider accounts.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
}

# Alerts. Email goes through EMAIL_URL (smtp://user:pass@host:port, smtp+tls://..., consolemail://);
# embedded default: each message is written as a file under ./var/mail so the demo sends nothing.
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                       "OPTIONS": {"file_path": str(VAR_DIR / "mail")}} if EMBEDDED
           else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
if env.str("EMAIL_URL", default=""):
    _email = env.email_url("EMAIL_URL")
    _options = {"host": _email.get("EMAIL_HOST"), "port": _email.get("EMAIL_PORT"),
                "username": _email.get("EMAIL_HOST_USER"), "password": _email.get("EMAIL_HOST_PASSWORD"),
                "use_tls": _email.get("EMAIL_USE_TLS"), "use_ssl": _email.get("EMAIL_USE_SSL"),
                "file_path": _email.get("EMAIL_FILE_PATH"),
                "timeout": env.float("EMAIL_TIMEOUT", default=15.0) if "smtp" in _email["EMAIL_BACKEND"] else None}
    MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"],
                           "OPTIONS": {k: v for k, v in _options.items() if v not in (None, "")}}}
# Users page invitations are emailed only when a mail server is configured; otherwise the admin
# sees the one-time link once and passes it on.
INVITE_EMAIL = env.bool("INVITE_EMAIL", default=bool(env.str("EMAIL_URL", default="")))
DEFAULT_FROM_EMAIL = env.str("ALERTS_FROM_EMAIL", default="numbersadmin@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in messages point here (the dashboard as users reach it).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Webhook and Slack targets must be on one of these hosts (SSRF: the server posts wherever a rule says).
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if EMBEDDED else [])
ALERT_HTTP_TIMEOUT = env.float("ALERT_HTTP_TIMEOUT", default=10.0)  # per webhook request: a slow receiver's cost
ALERT_DELIVERY_ATTEMPTS = env.int("ALERT_DELIVERY_ATTEMPTS", default=5)  # then the notification is "failed"
ALERT_RETRY_BASE_SECONDS = env.float("ALERT_RETRY_BASE_SECONDS", default=30.0)  # doubles per attempt
ALERTS_RUN_EVERY = env.float("ALERTS_RUN_EVERY", default=300.0)

# Prometheus /metrics without a token: these client addresses (loopback in the embedded demo).
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"] if EMBEDDED else [])
