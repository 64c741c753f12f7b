"""The environment of a production-like process, for tests that start one (settings checks)."""

import os


def production_env(**changes) -> dict:
    """Every variable clinic.settings_production requires, with ``changes`` (None removes one)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL", "DATABASE_CONN_MAX_AGE")}
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings_production",
        SECRET_KEY="q3Vt8-prod-like-secret-key-for-the-settings-tests-0123456789abcdef",
        ALLOWED_HOSTS="caseload.example.invalid",
        SITE_URL="https://caseload.example.invalid",
        DATABASE_URL="postgres://caseload@127.0.0.1:5432/caseload",  # never connected to by these checks
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        REDIS_URL="redis://redis.example.invalid:6379/1",
        EMAIL_HOST="smtp.example.invalid",
        VAR_DIR="/tmp/itb-settings-check",
    )
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
