"""clinic.settings_production: a clear start-up error for each missing or malformed
setting, persistent checked database connections, and JSON logs that leak nothing."""

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from clinic.log_format import JsonFormatter
from tests.production_env import production_env

ROOT = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "d = s.DATABASES['default']; print(json.dumps({'age': d['CONN_MAX_AGE'], 'checks': d['CONN_HEALTH_CHECKS'], "
    "'exempt': s.SECURE_REDIRECT_EXEMPT, 'hijack': s.CELERY_WORKER_HIJACK_ROOT_LOGGER, "
    "'formatter': s.LOGGING['formatters']['json'], 'stream': s.LOGGING['handlers']['stdout']['stream']}))"
)


def start(code: str = PRINT_SETTINGS, **changes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=production_env(**changes),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_complete_environment_starts_with_checked_persistent_connections_and_json_logs():
    result = start()
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["age"] == 60
    assert values["checks"] is True
    assert values["exempt"] == [r"^health/$"]  # a load balancer's plain-HTTP probe is not redirected
    assert values["hijack"] is False  # Celery logs through the JSON handler too
    assert values["formatter"] == {"()": "clinic.log_format.JsonFormatter"}
    assert values["stream"] == "ext://sys.stdout"


def test_connection_age_can_be_set_and_zero_turns_persistence_off():
    result = start(DATABASE_CONN_MAX_AGE="0")
    assert json.loads(result.stdout)["age"] == 0, result.stderr


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"SITE_URL": None}, "Environment variable SITE_URL is required in production"),
        ({"SITE_URL": "http://caseload.example.invalid"}, "SITE_URL must be the https:// address"),
        ({"SITE_URL": "https://elsewhere.example.invalid"}, "SITE_URL's host 'elsewhere.example.invalid' is not in"),
        ({"DATABASE_URL": None}, "Environment variable DATABASE_URL is required in production"),
        ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "DATABASE_URL must name a PostgreSQL database"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"DATABASE_CONN_MAX_AGE": "a minute"}, "DATABASE_CONN_MAX_AGE must be an integer"),
        ({"CELERY_BROKER_URL": None}, "Environment variable CELERY_BROKER_URL is required"),
        ({"CELERY_BROKER_URL": "sqla+sqlite:////tmp/b.sqlite3"}, "CELERY_BROKER_URL must be a Redis URL"),
        ({"EMAIL_HOST": None}, "Environment variable EMAIL_HOST is required"),
        ({"REDIS_URL": None}, "Environment variable REDIS_URL is required"),
        ({"EMAIL_PORT": "25a"}, "EMAIL_PORT must be an integer"),
        ({"DEFAULT_FROM_EMAIL": "no address"}, "DEFAULT_FROM_EMAIL must be an address"),
        ({"ALLOWED_HOSTS": "https://caseload.example.invalid"}, "ALLOWED_HOSTS holds host names"),
        ({"CSRF_TRUSTED_ORIGINS": "caseload.example.invalid"}, "CSRF_TRUSTED_ORIGINS holds origins"),
        ({"SECRET_KEY_FALLBACKS": "short"}, "SECRET_KEY_FALLBACKS holds a key shorter"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got 'LOUD'"),
        ({"SECURE_SSL_REDIRECT": "maybe"}, "SECURE_SSL_REDIRECT must be a boolean"),
        ({"DEBUG": "true"}, "DEBUG must be off"),
    ],
)
def test_a_missing_or_malformed_setting_stops_start_up_naming_it(changes, expected):
    result = start(**changes)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert expected in result.stderr


def log_line(logger_name: str, message: str, *args, **extra) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        logger.warning(message, *args, extra=extra)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_json_log_line_has_the_message_and_only_safe_fields():
    class Request:  # Django passes the request in ``extra``; its POST data must never reach the log
        POST = {"first_name": "Rosalind"}

        def __repr__(self):
            return f"<Request {self.POST}>"

    entry = log_line("django.request", "Bad Request: %s", "/patients/7/", status_code=400, request=Request())
    assert entry["message"] == "Bad Request: /patients/7/"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "django.request"
    assert entry["status_code"] == 400
    assert entry["time"].endswith("+00:00")
    assert set(entry) == {"time", "level", "logger", "message", "process", "status_code"}
    assert "Rosalind" not in json.dumps(entry)


def test_json_log_line_keeps_the_traceback_on_one_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.json")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("reminder %s failed", 12)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["message"] == "reminder 12 failed"
    assert "ValueError: boom" in entry["exception"]


def test_gunicorn_config_logs_json_to_stdout_without_query_strings():
    code = (
        "import runpy; c = runpy.run_path('gunicorn.conf.py'); "
        "print(c['access_log_format']); print(c['logger_class'].__mro__[1].__module__)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    access_format, base_module = result.stdout.splitlines()
    assert "%(U)s" in access_format and "%(r)s" not in access_format and "%(q)s" not in access_format
    assert base_module == "gunicorn.glogging"
