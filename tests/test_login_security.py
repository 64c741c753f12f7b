"""Login throttling, password hashing, session timeout and production settings."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from tests.production_env import production_env

ROOT = Path(__file__).resolve().parent.parent


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR="10.9.8.7")


def test_five_failed_logins_lock_the_account(client, staff):
    for _ in range(5):
        response = login(client, staff.username, "wrong-password")
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    # Even the right password is refused during the cool-off.
    response = login(client, staff.username, "correct-horse-battery")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_ends_after_the_cool_off(client, staff):
    import time_machine

    with time_machine.travel("2026-05-01 08:00Z", tick=False):
        for _ in range(5):
            login(client, staff.username, "wrong-password")
    with time_machine.travel("2026-05-01 08:31Z", tick=False):
        response = login(client, staff.username, "correct-horse-battery")
    assert response.status_code == 302


def test_four_failures_then_success_logs_in(client, staff):
    for _ in range(4):
        login(client, staff.username, "wrong-password")
    assert login(client, staff.username, "correct-horse-battery").status_code == 302


def test_session_idles_out_after_thirty_minutes_by_default():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert "clinic.middleware.SessionRefreshMiddleware" in settings.MIDDLEWARE


def test_use_slides_the_idle_timeout_with_at_most_one_write_a_minute(client, staff, db):
    """Each page no longer writes the session; a minute of use moves its expiry on, and
    thirty idle minutes still end it."""
    import time_machine
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def expiry():
        return Session.objects.get(session_key=client.session.session_key).expire_date

    with time_machine.travel("2026-04-01 09:00:00Z", tick=False) as clock:
        client.force_login(staff)
        client.get(reverse("home"))
        first = expiry()
        clock.shift(30)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("home")).status_code == 200
        assert not any("django_session" in q["sql"] and "UPDATE" in q["sql"] for q in captured.captured_queries)
        assert expiry() == first
        clock.shift(31)
        client.get(reverse("home"))
        assert (expiry() - first).total_seconds() == 61
        clock.shift(30 * 60 + 1)
        assert client.get(reverse("home")).status_code == 302  # idle too long: log in again


def test_check_deploy_is_clean_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_uses_argon2_first():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.PASSWORD_HASHERS[0])",
        ],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "django.contrib.auth.hashers.Argon2PasswordHasher", result.stderr


def test_production_refuses_a_missing_secret_key():
    env = production_env()
    env.pop("SECRET_KEY")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_bad_integer_setting_names_the_variable():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=production_env(EMAIL_TIMEOUT="soon"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "EMAIL_TIMEOUT" in result.stderr


def test_security_headers_are_sent(client, staff):
    client.force_login(staff)
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="clinic.settings", VAR_DIR="/tmp/itb-no-key-check", **extra)
    return env


def test_commands_that_sign_nothing_run_without_a_secret_key():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_the_web_server_refuses_to_start_without_a_secret_key():
    result = subprocess.run(
        [sys.executable, "-c", "import clinic.wsgi"],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_the_celery_worker_refuses_to_start_without_a_secret_key():
    celery = str(Path(sys.executable).parent / "celery")
    result = subprocess.run(
        [celery, "-A", "clinic", "worker", "--pool=solo", "-l", "WARNING"],
        cwd=ROOT,
        env=base_env(CELERY_BROKER_URL="memory://"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr
