#!/usr/bin/env python3
"""Run the app as production does and check a reminder goes out exactly once.

    .venv/bin/python scripts/prod_smoke.py        (run by .ci/run; loopback only)

On this machine's PostgreSQL (a database of its own, itb_smoke, dropped and created
again) and Redis (127.0.0.1:6379, database 11, flushed) it:

1. migrates, collects static files, runs `check --deploy`, creates a clinic with
   `create_clinic`, an admin, a pump manager and a patient (reminders on) whose pump
   was first filled five days ago;
2. starts gunicorn (3 workers, clinic.settings_production), two Celery workers, one
   beat sweeping every 10 s, and an SMTP sink (aiosmtpd) on free loopback ports;
3. over HTTP, acting as the TLS proxy (X-Forwarded-Proto: https): logs in as the
   manager and records a refill through the real form at a higher dose, which makes
   the pump due soon and unbooked, so a "time to book your refill" email is due now;
4. waits (at most 120 s) for the sweep to send it, checks exactly one email arrived,
   still one after two more sweeps, one outbox row marked sent, /health/ is 200 with
   its JSON keys, the logs are JSON lines and never name the patient;
5. stops everything (process groups, also on failure) and prints a summary.

Exit status 0 when all holds; otherwise 1 with the reason and the tails of the logs.
Override the services with SMOKE_PG_URL (server, no database name) and SMOKE_REDIS_URL.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_URL = os.environ.get("SMOKE_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = "itb_smoke"
REDIS_URL = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/11")
SWEEP_SECONDS = 10
EMAIL_WAIT_SECONDS = 120
SITE_HOST = "caseload.smoke.invalid"
PASSWORD = "smoke-" + secrets.token_urlsafe(12)
PATIENT = {"first_name": "Rosalind", "last_name": "Quillfeather", "email": "patient@smoke.invalid"}
HEALTH_KEYS = {
    "database",
    "broker",
    "sweep",
    "last_sweep_age_seconds",
    "reminders",
    "reminders_failing_now",
    "failed_reminders",
    "jobs",
    "jobs_failing",
    "status",
}


class SmokeFailure(Exception):
    pass


def step(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clinic_zone() -> str:
    """A fixed-offset zone where it is now about 13:00, so the 09:00 reminder is due and
    the local date cannot roll over during the run, whatever the hour of the CI run."""
    offset = 13 - datetime.now(UTC).hour  # -10 .. +13
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-5 is UTC+5


# Services --------------------------------------------------------------------------------


def reset_database() -> None:
    import psycopg

    try:
        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DB_NAME}")
    except psycopg.Error as error:
        raise SmokeFailure(f"PostgreSQL at {PG_URL} is not usable: {error}".strip()) from None


def query(sql: str, *params) -> list[tuple]:
    import psycopg

    with psycopg.connect(f"{PG_URL}/{DB_NAME}", connect_timeout=5) as conn:
        return conn.execute(sql, params).fetchall()


def reset_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).flushdb()
    except redis.RedisError as error:
        raise SmokeFailure(f"Redis at {REDIS_URL} is not usable: {error}") from None


class SmtpSink:
    """aiosmtpd on a loopback port; keeps (recipients, Message-ID, subject) of each message."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[dict] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        from email import message_from_bytes

        message = message_from_bytes(envelope.content)
        with self.lock:
            self.messages.append(
                {"to": list(envelope.rcpt_tos), "message_id": message["Message-ID"], "subject": message["Subject"]}
            )
        return "250 OK"

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.messages)


# Processes -------------------------------------------------------------------------------


class Processes:
    """Long-running children, each in its own process group, logs in files."""

    def __init__(self, log_dir: Path, env: dict):
        self.log_dir, self.env = log_dir, env
        self.children: list[tuple[str, subprocess.Popen]] = []

    def run(self, name: str, *args: str, timeout: int = 300) -> str:
        result = subprocess.run(  # noqa: S603 (our own interpreter and fixed arguments)
            [PYTHON, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        (self.log_dir / f"{name}.log").write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            raise SmokeFailure(f"`{' '.join(args)}` failed:\n{(result.stdout + result.stderr)[-3000:]}")
        return result.stdout

    def start(self, name: str, *args: str) -> None:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and fixed arguments)
            [PYTHON, *args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.children.append((name, process))

    def assert_running(self) -> None:
        for name, process in self.children:
            if process.poll() is not None:
                raise SmokeFailure(f"{name} exited early with status {process.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> list[str]:
        """SIGTERM every group, wait up to 20 s, SIGKILL what is left. Returns the unclean ones."""
        for _name, process in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        unclean = []
        for name, process in self.children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                unclean.append(name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group, if any
            process.wait(timeout=10)
        return unclean


# HTTP --------------------------------------------------------------------------------------


class SecureCookiesOverLoopback(http.cookiejar.DefaultCookiePolicy):
    """The app's cookies are Secure; we are the TLS proxy here, so send them over http."""

    def return_ok_secure(self, cookie, request):
        return True


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """urllib with a cookie jar and CSRF, as a user behind the TLS-terminating proxy."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.origin = f"https://127.0.0.1:{port}"
        self.jar = http.cookiejar.CookieJar(policy=SecureCookiesOverLoopback())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def request(self, path: str, data: dict | None = None, *, proxy: bool = True, referer: str | None = None):
        request = urllib.request.Request(self.base + path, method="POST" if data is not None else "GET")  # noqa: S310
        if proxy:
            request.add_header("X-Forwarded-Proto", "https")
        if data is not None:
            request.data = urllib.parse.urlencode(data).encode()
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
            request.add_header("Referer", self.origin + (referer or path))  # CSRF checks it over HTTPS
            request.add_header("Origin", self.origin)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode(errors="replace")

    def form(self, path: str, fields: dict) -> tuple[int, dict, str]:
        """GET the page, take its CSRF token, POST the fields."""
        status, _headers, body = self.request(path)
        check(status == 200, f"GET {path} answered {status}")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        check(token is not None, f"no CSRF token on {path}")
        return self.request(path, {"csrfmiddlewaretoken": token.group(1), **fields})


def page_errors(body: str) -> str:
    found = re.findall(r'class="[^"]*error[^"]*"[^>]*>(.*?)</', body, flags=re.S)
    return "; ".join(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item)).strip() for item in found)[:1000]


# The run -------------------------------------------------------------------------------------

SETUP = """
import json
from datetime import timedelta
from decimal import Decimal
from django.contrib.auth import get_user_model
from clinic.models import Clinic, Membership
from patients.models import Patient, Pump, PumpModel
from refills.forms import RefillForm

clinic = Clinic.objects.get(slug="smoke")
today = clinic.today()
User = get_user_model()
for username, role in (("smoke-admin", "admin"), ("smoke-manager", "manager")):
    user = User.objects.create_user(username, password=PASSWORD, first_name="Smoke", last_name=role)
    Membership.objects.create(user=user, clinic=clinic, role=role)
patient = Patient.objects.create(
    clinic=clinic, mrn="SMOKE-1", email=PATIENT["email"], reminders_opt_in=True,
    first_name=PATIENT["first_name"], last_name=PATIENT["last_name"],
    manager=User.objects.get(username="smoke-manager"),
)
model = PumpModel.objects.get(code="synchromed-ii-20")
pump = Pump.objects.create(
    clinic=clinic, patient=patient, model=model, serial_number="SMOKE-PUMP-1",
    implant_date=today - timedelta(days=5), reservoir_ml=model.reservoir_ml, alarm_volume_ml=model.alarm_volume_ml,
)
# First fill at implant: 200 mcg/day at 2000 mcg/mL uses 0.1 mL/day, nowhere near due.
form = RefillForm(
    {"performed_on": pump.implant_date, "volume_added_ml": "20", "volume_after_ml": "20",
     "concentration_mcg_ml": "2000", "daily_dose_mcg": "200", "dosing_mode": "simple", "bolus_allowance_mcg": "0"},
    pump=pump, today=today, initial_fill=True,
)
assert form.is_valid(), form.errors.as_json()
form.save()
pump.refresh_from_db()
print(json.dumps({"pump": pump.pk, "patient": patient.pk, "today": today.isoformat()}))
"""


def production_env(tmp: Path, smtp_port: int, web_port: int) -> dict:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings_production",
        PYTHONUNBUFFERED="1",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=f"{SITE_HOST},127.0.0.1",
        CSRF_TRUSTED_ORIGINS=f"https://{SITE_HOST}",
        SITE_URL=f"https://{SITE_HOST}",
        DATABASE_URL=f"{PG_URL}/{DB_NAME}",
        DATABASE_CONN_MAX_AGE="60",
        CELERY_BROKER_URL=REDIS_URL,
        REDIS_URL=REDIS_URL,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_TIMEOUT="10",
        DEFAULT_FROM_EMAIL="ITB Caseload <no-reply@smoke.invalid>",
        REMINDER_SWEEP_SECONDS=str(SWEEP_SECONDS),
        VAR_DIR=str(tmp / "var"),
        LOG_LEVEL="INFO",
        WEB_PORT=str(web_port),
    )
    return env


def wait_for(what: str, seconds: float, probe, processes: Processes, interval: float = 0.5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        processes.assert_running()
        result = probe()
        if result:
            return result
        time.sleep(interval)
    raise SmokeFailure(f"timed out after {seconds:.0f} s waiting for {what}")


def finished_sweeps() -> int:
    return query("SELECT count(*) FROM refills_sweeprun WHERE finished_at IS NOT NULL")[0][0]


def run(tmp: Path, summary: dict) -> None:
    step(f"resetting PostgreSQL database {DB_NAME} and Redis {REDIS_URL}")
    reset_database()
    reset_redis()
    sink = SmtpSink()
    sink.controller.start()
    web_port = free_port()
    env = production_env(tmp, sink.port, web_port)
    (tmp / "var").mkdir()
    processes = Processes(tmp, env)
    summary["logs"] = str(tmp)
    try:
        zone = clinic_zone()
        step("migrate, collectstatic, check --deploy, create_clinic and the users and patient")
        processes.run("migrate", "manage.py", "migrate", "--no-input")
        processes.run("collectstatic", "manage.py", "collectstatic", "--no-input")
        processes.run("check", "manage.py", "check", "--deploy", "--fail-level", "WARNING")
        processes.run(
            "create_clinic",
            *("manage.py", "create_clinic", "smoke", "--name", "Smoke Test Clinic", "--timezone", zone),
            *("--buffer-days", "30", "--due-soon-days", "60"),
        )
        code = f"PASSWORD = {PASSWORD!r}\nPATIENT = {PATIENT!r}\n{SETUP}"
        setup = json.loads(processes.run("setup", "manage.py", "shell", "-c", code).strip().splitlines()[-1])
        summary["clinic zone"] = f"{zone} (today {setup['today']})"

        step(f"starting gunicorn on 127.0.0.1:{web_port}, two Celery workers, one beat, SMTP sink :{sink.port}")
        processes.start(
            "web",
            *("-m", "gunicorn", "clinic.wsgi:application", "--bind", f"127.0.0.1:{web_port}", "--workers", "3"),
            *("--access-logfile", "-", "--timeout", "30"),
        )
        for n in (1, 2):
            processes.start(
                f"worker{n}",
                *("-m", "celery", "-A", "clinic", "worker", "--hostname", f"smoke{n}@%h", "--concurrency", "2"),
                *("--loglevel", "INFO", "--without-mingle", "--without-gossip"),
            )
        processes.start(
            "beat",
            *("-m", "celery", "-A", "clinic", "beat", "--loglevel", "INFO", "--schedule", str(tmp / "beat-schedule")),
        )
        browser = Browser(web_port)

        def web_up():
            with contextlib.suppress(OSError):
                return browser.request("/health/", proxy=False)[0] in (200, 503)
            return False

        wait_for("gunicorn to answer /health/", 60, web_up, processes)
        status, headers, _ = browser.request("/accounts/login/", proxy=False)
        check(
            status == 301 and headers["Location"].startswith("https://"),
            f"plain HTTP without the proxy header should redirect to https, got {status}",
        )
        status, _, body = browser.request("/static/css/app.css")
        check(status == 200 and len(body) > 100, f"whitenoise did not serve /static/css/app.css ({status})")

        step("logging in as the pump manager over HTTP")
        status, headers, body = browser.form("/accounts/login/", {"username": "smoke-manager", "password": PASSWORD})
        check(status == 302, f"login failed ({status}): {page_errors(body) or body[:500]}")
        status, _, body = browser.request("/")
        check(status == 200 and "Pump manager" in body, f"the home page after login answered {status}")

        step("recording a refill through the form (500 mcg/day, 0.5 mL below the expected residual)")
        refill_path = f"/pumps/{setup['pump']}/refill/"
        status, headers, body = browser.form(
            refill_path,
            {
                "performed_on": setup["today"],
                "volume_removed_ml": "19.00",  # expected 19.50 after five days at 0.1 mL/day
                "volume_added_ml": "20",
                "volume_after_ml": "20",
                "concentration_mcg_ml": "2000",
                "daily_dose_mcg": "500",
                "dosing_mode": "simple",
                "bolus_allowance_mcg": "0",
                "notes": "",
                "action": "save",
            },
        )
        check(status == 302, f"the refill was not saved ({status}): {page_errors(body) or body[:800]}")
        status, _, body = browser.request(headers["Location"].replace(browser.origin, ""))
        check(status == 200 and "Refill of SMOKE-PUMP-1 saved" in body, "no 'Refill ... saved' message after saving")
        pump_state = query("SELECT refill_due, due_soon_from FROM patients_pump WHERE id = %s", setup["pump"])[0]
        summary["pump after refill"] = f"refill due {pump_state[0]}, due soon from {pump_state[1]}"
        refilled_at = time.monotonic()

        step(f"waiting up to {EMAIL_WAIT_SECONDS} s for the sweep (every {SWEEP_SECONDS} s) to send the reminder")
        wait_for(
            "the refill reminder email at the SMTP sink",
            EMAIL_WAIT_SECONDS,
            lambda: [m for m in sink.snapshot() if PATIENT["email"] in m["to"]],
            processes,
        )
        summary["reminder email after"] = f"{time.monotonic() - refilled_at:.1f} s"
        sweeps = finished_sweeps()
        step("email arrived; waiting for two more sweeps to see that no duplicate follows")
        wait_for("two more sweeps", 6 * SWEEP_SECONDS, lambda: finished_sweeps() >= sweeps + 2, processes)
        time.sleep(3)  # a duplicate, if any, would be sent right after its sweep

        messages = sink.snapshot()
        summary["emails"] = len(messages)
        check(len(messages) == 1, f"expected exactly one email, got {len(messages)}: {messages}")
        message = messages[0]
        check(message["to"] == [PATIENT["email"]], f"the email went to {message['to']}")
        check("time to book your pump refill" in (message["subject"] or ""), f"subject was {message['subject']!r}")
        rows = query("SELECT kind, status, attempts FROM refills_reminder")
        check(rows == [("refill_needed", "sent", 1)], f"outbox rows: {rows}")
        check(message["message_id"] == f"<reminder-{_row_id()}@{SITE_HOST}>", f"Message-ID {message['message_id']}")

        step("checking /health/")
        status, headers, body = browser.request("/health/", proxy=False)
        report = json.loads(body)
        summary["health"] = f"{status} {report}"
        check(status == 200, f"/health/ answered {status}: {body}")
        check(set(report) == HEALTH_KEYS, f"/health/ keys {sorted(report)}, expected {sorted(HEALTH_KEYS)}")
        check(
            report["status"] == report["database"] == report["broker"] == report["sweep"] == "ok",
            f"/health/ not all ok: {report}",
        )
        check(report["failed_reminders"] == 0, f"/health/ counts failed reminders: {report}")
        processes.assert_running()
        summary["sweeps"] = finished_sweeps()
    finally:
        step("stopping gunicorn, the workers and beat")
        unclean = processes.stop()
        sink.controller.stop()
        if unclean:
            summary["killed after 20 s"] = ", ".join(unclean)
    check_logs(processes, summary)


def _row_id() -> int:
    return query("SELECT id FROM refills_reminder")[0][0]


def check_logs(processes: Processes, summary: dict) -> None:
    """Web, worker and beat log JSON lines, and no log names the patient."""
    json_lines = 0
    for name, _process in processes.children:
        text = (processes.log_dir / f"{name}.log").read_text(errors="replace")
        for forbidden in (PATIENT["first_name"], PATIENT["last_name"]):
            check(forbidden not in text, f"the {name} log names the patient ({forbidden!r})")
        for line in text.splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                check({"time", "level", "logger", "message"} <= set(entry), f"{name}: log line without keys: {line}")
                json_lines += 1
    web_log = (processes.log_dir / "web.log").read_text(errors="replace")
    check('"logger": "gunicorn.access"' in web_log, "gunicorn's access log is not JSON on stdout")
    worker_logs = "".join((processes.log_dir / f"worker{n}.log").read_text(errors="replace") for n in (1, 2))
    check("sent (attempt 1)" in worker_logs, "no worker logged sending the reminder")
    summary["JSON log lines"] = json_lines


STARTED = time.monotonic()


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the children on the way out
    summary: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="itb-smoke-"))
    ok = False
    try:
        run(tmp, summary)
        ok = True
    except SmokeFailure as failure:
        print(f"\nPRODUCTION SMOKE FAILED: {failure}", file=sys.stderr)
        for name in ("web", "worker1", "worker2", "beat"):
            path = tmp / f"{name}.log"
            if path.exists():
                print(
                    f"--- last lines of {path} ---\n" + "\n".join(path.read_text().splitlines()[-15:]), file=sys.stderr
                )
    except Exception:  # an unexpected error is a failure too, with its traceback
        print("\nPRODUCTION SMOKE FAILED with an unexpected error:", file=sys.stderr)
        traceback.print_exc()
    print("\nProduction smoke summary:")
    for key, value in summary.items():
        print(f"  {key}: {value}")
    print(f"  total: {time.monotonic() - STARTED:.1f} s, {'PASSED' if ok else 'FAILED'}")
    if ok:
        with contextlib.suppress(Exception):
            import psycopg

            with psycopg.connect(f"{PG_URL}/postgres", autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
