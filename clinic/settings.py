"""Settings for ITB Caseload, read from the environment through clinic.env.

With no environment at all this is the embedded default of `make run`: SQLite in
var/, a SQLite-backed Celery broker and emails written to var/mail/.
"""

import contextlib
from pathlib import Path

from clinic import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.string("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env.boolean("DEBUG", False)
# Unset with DEBUG off it stays empty: Django then refuses anything that signs, and the web
# server and the Celery worker read it at start-up (clinic.startup), so neither runs without
# one, while commands that sign nothing (makemigrations, check) still work.
SECRET_KEY = env.string("SECRET_KEY", "insecure-dev-key-for-make-run-only" if DEBUG else "")
# Old keys still accepted for sessions and signed links while rotating (comma-separated).
SECRET_KEY_FALLBACKS = env.string_list("SECRET_KEY_FALLBACKS", [])
ALLOWED_HOSTS = env.string_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.string_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # the built-in widget templates, for FORM_RENDERER below
    "django_tables2",
    "django_filters",
    "auditlog",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "clinic",
    "patients",
    "refills",
    "scheduling",
    "worklist",
    "screening",
    "reminders",
    "imports",
    "records",
    "dashboard",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "clinic.middleware.SessionRefreshMiddleware",  # the idle timeout without a write per request
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "clinic.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out logins
    "django.contrib.auth.backends.ModelBackend",
]

# Login throttling: five failures lock the username and the address for the cool-off.
AXES_FAILURE_LIMIT = env.integer("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env.integer("AXES_COOLOFF_MINUTES", 30, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Behind N reverse proxies the client's address is read from X-Forwarded-For (clinic/client_ip.py,
# README "Login throttling behind a reverse proxy"); 0: REMOTE_ADDR. (Not AXES_PROXY_COUNT: a
# deprecated django-axes setting that its system check warns about.)
TRUSTED_PROXY_COUNT = env.integer("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)
AXES_CLIENT_IP_CALLABLE = "clinic.client_ip.client_ip"

# Idle timeout: the session expires this many seconds after the last request.
SESSION_COOKIE_AGE = env.integer("SESSION_IDLE_TIMEOUT_MINUTES", 30, minimum=1) * 60
# The expiry slides with use: the session is saved (expiry moved) at most once a
# minute by clinic.middleware.SessionRefreshMiddleware, not on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
PASSWORD_RESET_TIMEOUT = env.integer("INVITE_LINK_HOURS", 72, minimum=1) * 3600  # invite and reset links

# Content security policy: everything from this server, nothing inline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_DISABLE_REMOTE_ADDR = False

OTP_TOTP_ISSUER = "ITB Caseload"

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

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
                "clinic.context_processors.clinic_nav",
            ],
        },
    },
]
# Form widgets render through TEMPLATES, so a widget of the project's own can have its
# template under templates/ (clinic/widgets.py); Django's own widget templates are not overridden.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {"default": env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'caseload.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Short web queries (bench/RESULTS.md): PostgreSQL's JIT compiled Today's counts for longer
    # than they ran (1.6 s at 100,000 pumps), and parallel workers for one request took the
    # cores other requests needed (load test p95 933 ms with them, 555 ms without, 2 cores);
    # random_page_cost for SSD lets the planner use the list pages' partial indexes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", "-c jit=off -c max_parallel_workers_per_gather=0 -c random_page_cost=1.1"
    )
elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # `make run`: the reminder sweep and the worklist sync start together on one worker.
    # A writer waits up to 20 s for the other's lock instead of failing at once with
    # "database is locked", and IMMEDIATE takes the write lock when a transaction begins,
    # so two transactions that read then write never deadlock upgrading their locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"} | DATABASES["default"].get("OPTIONS", {})
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Book the week posts up to six fields per pump for up to 500 pumps (scheduling.book_week.MAX_ROWS).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 4000

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"  # stored times are UTC; each clinic's local day comes from its own zone
USE_I18N = True
USE_TZ = True
# Dates on pages and in emails as "Wed 25 Nov 2026" (SPEC 8). A locale's format module wins
# over settings.DATE_FORMAT, so the project's own module sets them (clinic/formats/en/).
FORMAT_MODULE_PATH = ["clinic.formats"]
DATE_FORMAT = "D j M Y"
SHORT_DATE_FORMAT = "D j M Y"
DATETIME_FORMAT = "D j M Y H:i"
SHORT_DATETIME_FORMAT = "D j M Y H:i"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Celery: JSON only, acks late so a killed worker's task is redelivered.
CELERY_BROKER_URL = env.url(
    "CELERY_BROKER_URL",
    f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}",
    ("redis", "rediss", "sqla+sqlite", "sqla+postgresql", "memory"),
)
# The cache (clinic.caseload_cache: Today's counts, the caseload total). Shared by every
# process through Redis when REDIS_URL is set (required in production); else in this
# process's memory, which is right for `make run`'s single web process only.
REDIS_URL = env.url("REDIS_URL", "", ("redis", "rediss")) if env.string("REDIS_URL") else ""
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "itb"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 10000}}
    )
}
# How long cached caseload numbers may live; every change to a clinic's data already
# invalidates them (this bounds a change made outside the models' save and delete).
CASELOAD_CACHE_SECONDS = env.integer("CASELOAD_CACHE_SECONDS", 60, minimum=0, maximum=3600)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.integer("CELERY_TASK_TIME_LIMIT", 300, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")


def _local_folders() -> list[Path]:
    """The folders of the SQLite files this process opens (the database, the broker of
    `make run`, and then beat's schedule): SQLite creates a file but not its folder, so a
    worker, beat or manage.py started by hand on a fresh clone (no `make`, no var/) would
    stop with "unable to open database file". Nothing for PostgreSQL and Redis."""
    files = []
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        files.append(str(DATABASES["default"]["NAME"]))
    if CELERY_BROKER_URL.startswith("sqla+sqlite:///"):
        files += [CELERY_BROKER_URL.removeprefix("sqla+sqlite:///"), CELERY_BEAT_SCHEDULE_FILENAME]
    # In-memory databases (":memory:", "file:...?mode=memory") have no folder.
    return [Path(f).parent for f in files if f and ":memory:" not in f and not f.startswith("file:")]


for _folder in _local_folders():
    # On a read-only image SQLite (or production's own checks) then says what is wrong.
    with contextlib.suppress(OSError):
        _folder.mkdir(parents=True, exist_ok=True)
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Reminders (SPEC 5): a periodic sweep writes outbox rows; workers send them.
SITE_URL = env.url("SITE_URL", "http://127.0.0.1:8000", ("http", "https")).rstrip("/")  # links in emails
REMINDER_SWEEP_SECONDS = env.integer("REMINDER_SWEEP_SECONDS", 300, minimum=10)
REMINDER_BACKOFF_SECONDS = env.integer("REMINDER_BACKOFF_SECONDS", 60, minimum=1)  # doubles per failed attempt
REMINDER_BACKOFF_MAX_SECONDS = env.integer("REMINDER_BACKOFF_MAX_SECONDS", 3600, minimum=1)
REMINDER_MAX_ATTEMPTS = env.integer("REMINDER_MAX_ATTEMPTS", 5, minimum=1, maximum=20)
# A row still `sending` after this long belongs to a worker that died: send it again.
REMINDER_STUCK_SENDING_SECONDS = env.integer("REMINDER_STUCK_SENDING_SECONDS", CELERY_TASK_TIME_LIMIT + 60, minimum=1)
REMINDER_DIGEST_MAX_AGE_HOURS = env.integer("REMINDER_DIGEST_MAX_AGE_HOURS", 12, minimum=1, maximum=24)
REMINDER_LONGEST_BACKOFF_SECONDS = min(
    REMINDER_BACKOFF_SECONDS * 2 ** max(REMINDER_MAX_ATTEMPTS - 2, 0), REMINDER_BACKOFF_MAX_SECONDS
)
# Redis redelivers an unacknowledged task after the visibility timeout; a retry waiting
# for its ETA is unacknowledged too, so the timeout must outlast the longest backoff.
CELERY_VISIBILITY_TIMEOUT = env.integer(
    "CELERY_VISIBILITY_TIMEOUT", max(3600, 2 * REMINDER_LONGEST_BACKOFF_SECONDS), minimum=1
)
if CELERY_VISIBILITY_TIMEOUT <= REMINDER_LONGEST_BACKOFF_SECONDS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"Environment variable CELERY_VISIBILITY_TIMEOUT must be above the longest reminder backoff "
        f"({REMINDER_LONGEST_BACKOFF_SECONDS} s), got {CELERY_VISIBILITY_TIMEOUT}."
    )
# Redis only: the SQLAlchemy transport of `make run` hands its options to create_engine().
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT, "socket_connect_timeout": 5, "socket_timeout": 30}
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else {}
)
CELERY_BEAT_SCHEDULE["sweep-reminders"] = {
    "task": "refills.tasks.sweep_reminders",
    "schedule": float(REMINDER_SWEEP_SECONDS),  # a fixed interval in UTC, whatever the clinics' zones
    "options": {"expires": REMINDER_SWEEP_SECONDS - 5},  # a backlog of sweeps is pointless
}
# The worklist (issue 15): items derived from the pumps' state, on the sweep's interval.
CELERY_BEAT_SCHEDULE["sync-worklists"] = {
    "task": "worklist.tasks.sync_worklists",
    "schedule": float(REMINDER_SWEEP_SECONDS),
    "options": {"expires": REMINDER_SWEEP_SECONDS - 5},
}
CELERY_BEAT_SCHEDULE["purge-stale-imports"] = {
    "task": "refills.tasks.purge_stale_imports",
    "schedule": 3600.0,  # uploads not confirmed within PendingImport.LIFETIME hold patient data
    "options": {"expires": 3000},
}
# Browser imports run as jobs (imports.import_jobs): a job whose worker died is reported
# failed once its heartbeat is this old; jobs past their day are deleted.
IMPORT_JOB_STALE_SECONDS = env.integer("IMPORT_JOB_STALE_SECONDS", 300, minimum=30)
IMPORT_JOB_TIME_LIMIT = env.integer("IMPORT_JOB_TIME_LIMIT", 1800, minimum=60)
CELERY_BEAT_SCHEDULE["check-import-jobs"] = {
    "task": "refills.import_jobs.check_import_jobs",
    "schedule": 60.0,
    "options": {"expires": 55},
}

# Email: a file sink by default so `make run` needs no mail server.
EMAIL_HOST = env.string("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env.integer("EMAIL_PORT", 25, minimum=1, maximum=65535)
    EMAIL_HOST_USER = env.string("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "ITB Caseload <no-reply@itb-caseload.invalid>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"
