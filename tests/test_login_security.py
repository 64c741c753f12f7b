"""Login throttling, password hashing, session timeout and production settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
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


# Issue 13 defect 3: a username longer than Django's 150 characters reached django-axes,
# which stores it in a 255-character column: a 500 (StringDataRightTruncation) on PostgreSQL.


def axes_rows() -> int:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    return AccessAttempt.objects.count() + AccessFailureLog.objects.count() + AccessLog.objects.count()


@pytest.mark.parametrize("length", [151, 256, 5000])
def test_an_overlong_username_is_a_form_error_and_never_reaches_axes(client, staff, length):
    response = login(client, "u" * length, "wrong-password")
    assert response.status_code == 200
    assert f"Username: at most 150 characters (this one has {length})." in response.content.decode()
    assert axes_rows() == 0, "the long username was looked up or recorded"
    assert "_auth_user_id" not in client.session


def test_a_150_character_username_is_still_throttled(client, db):
    from axes.models import AccessAttempt

    longest = "u" * 150
    response = login(client, longest, "wrong-password")
    assert response.status_code == 200
    assert "didn&#x27;t match" in response.content.decode() or "didn't match" in response.content.decode()
    assert AccessAttempt.objects.get().username == longest


# Login throttling behind a reverse proxy (README): the client's address, not the proxy's.
PROXY = "10.0.0.2"


def login_via_proxy(client, username, password, forwarded_for):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_one_address_cannot_lock_out_everyone(client, staff):
    for _ in range(5):
        response = login_via_proxy(client, staff.username, "wrong-password", "203.0.113.66")
    assert response.status_code == 429
    # The member, at another address behind the same proxy, still logs in.
    assert login_via_proxy(client, staff.username, "correct-horse-battery", "198.51.100.7").status_code == 302


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_a_forged_forwarded_address_does_not_dodge_the_lock(client, staff):
    """The client's own X-Forwarded-For entries are left of the proxy's: never trusted."""
    for n in range(5):
        login_via_proxy(client, staff.username, "wrong-password", f"192.0.2.{n}, 203.0.113.66")
    assert login_via_proxy(client, staff.username, "wrong-password", "192.0.2.99, 203.0.113.66").status_code == 429


def test_without_a_proxy_count_the_forwarded_header_is_ignored(rf, settings):
    from clinic.client_ip import client_ip

    settings.TRUSTED_PROXY_COUNT = 0
    request = rf.get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert client_ip(request) == "203.0.113.5"
    settings.TRUSTED_PROXY_COUNT = 2
    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.5, 10.0.0.9")
    assert client_ip(request) == "203.0.113.5"
    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="not-an-address, 10.0.0.9")
    assert client_ip(request) == PROXY
    assert client_ip(rf.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"  # the health check, not proxied


@pytest.mark.parametrize("value", ["two", "-1", "99"])
def test_a_bad_proxy_count_stops_start_up_naming_the_variable(value):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=production_env(TRUSTED_PROXY_COUNT=value),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT" in result.stderr


def test_a_proxy_count_from_the_environment_passes_the_deploy_check():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(TRUSTED_PROXY_COUNT="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
