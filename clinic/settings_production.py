"""Production settings: the defaults plus HTTPS-only cookies, HSTS, static files served
by whitenoise, persistent database connections and JSON logs on stdout.

Required: SECRET_KEY, ALLOWED_HOSTS, SITE_URL (https), DATABASE_URL (PostgreSQL),
CELERY_BROKER_URL (Redis) and EMAIL_HOST. A missing or malformed value stops start-up
(gunicorn, celery and manage.py alike) with an ImproperlyConfigured naming the variable.
"""

import os
from email.utils import parseaddr
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.http.request import validate_host

from clinic import env
from clinic.settings import *  # noqa: F403
from clinic.settings import MIDDLEWARE


def _refuse(message: str):
    raise ImproperlyConfigured(message)


def _required(name: str, example: str) -> None:
    if not os.environ.get(name, "").strip():
        _refuse(f"Environment variable {name} is required in production, e.g. {name}={example}")


if DEBUG:  # noqa: F405
    _refuse("Environment variable DEBUG must be off with clinic.settings_production.")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:  # noqa: F405
    _refuse(
        "Environment variable SECRET_KEY must be at least 50 random characters, "
        "e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
for _key in SECRET_KEY_FALLBACKS:  # noqa: F405
    if len(_key) < 50:
        _refuse("Environment variable SECRET_KEY_FALLBACKS holds a key shorter than 50 characters.")

if not ALLOWED_HOSTS:  # noqa: F405
    _refuse("Environment variable ALLOWED_HOSTS is required in production (comma-separated host names).")
for _host in ALLOWED_HOSTS:  # noqa: F405
    if "/" in _host or (":" in _host and not _host.startswith("[")):
        _refuse(f"Environment variable ALLOWED_HOSTS holds host names without scheme or port, got {_host!r}.")
for _origin in CSRF_TRUSTED_ORIGINS:  # noqa: F405
    if not _origin.startswith(("https://", "http://")) or not urlparse(_origin).hostname:
        _refuse(
            f"Environment variable CSRF_TRUSTED_ORIGINS holds origins such as https://caseload.clinic.example, "
            f"got {_origin!r}."
        )

# The address users open; every link in an email starts with it.
_required("SITE_URL", "https://caseload.clinic.example")
_site = urlparse(SITE_URL)  # noqa: F405
if _site.scheme != "https" or not _site.hostname or _site.path not in ("", "/") or _site.query:
    _refuse(f"Environment variable SITE_URL must be the https:// address of the site, got {SITE_URL!r}.")  # noqa: F405
if not validate_host(_site.hostname, ALLOWED_HOSTS):  # noqa: F405
    _refuse(f"Environment variable SITE_URL's host {_site.hostname!r} is not in ALLOWED_HOSTS.")

_required("DATABASE_URL", "postgres://caseload:PASSWORD@db.internal:5432/caseload")
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    _refuse("Environment variable DATABASE_URL must name a PostgreSQL database (postgres://...) in production.")
# Keep connections for a minute (each gunicorn/celery process holds at most one), and
# check a kept connection before use so a restarted PostgreSQL costs no failed request.
DATABASES["default"]["CONN_MAX_AGE"] = env.integer("DATABASE_CONN_MAX_AGE", 60, minimum=0)  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405

_required("CELERY_BROKER_URL", "redis://redis.internal:6379/0")
if not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):  # noqa: F405
    _refuse(
        "Environment variable CELERY_BROKER_URL must be a Redis URL (redis:// or rediss://) in production, "
        "shared by the web, worker and beat processes."
    )

# The caseload cache must be shared: a per-process cache would keep numbers that another
# process's change has made stale (clinic.caseload_cache).
_required("REDIS_URL", "redis://redis.internal:6379/1")

_required("EMAIL_HOST", "smtp.clinic.example")
_name, _address = parseaddr(DEFAULT_FROM_EMAIL)  # noqa: F405
try:
    validate_email(_address)
except ValidationError:
    _refuse(
        f"Environment variable DEFAULT_FROM_EMAIL must be an address such as "
        f"'ITB Caseload <no-reply@clinic.example>', got {DEFAULT_FROM_EMAIL!r}."  # noqa: F405
    )

SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", True)
# A load balancer probes the backend over plain HTTP: /health/ answers it, never redirects.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
# TLS ends at the proxy in front of gunicorn, which must set this header itself.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True

MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Logs: one JSON object per line on stdout (clinic.log_format), for web, worker and beat.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    _refuse(f"Environment variable LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {LOG_LEVEL!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "clinic.log_format.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # One line per 4xx/5xx from Django; gunicorn's access log already has every request.
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "WARNING"},  # SQL parameters hold patient data
    },
}
# Celery keeps Django's logging (JSON) instead of installing its own plain handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
