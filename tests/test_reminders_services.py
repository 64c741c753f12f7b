"""Reminders against the real parts: PostgreSQL, a Redis broker, a Celery worker started
as a subprocess and an SMTP sink (aiosmtpd). Nothing of Celery or Redis is mocked.

The worker tests commit their data (``transaction=True``) so that the worker, a separate
process, sees it in pytest-django's test database. They need PostgreSQL and Redis on
127.0.0.1:6379 and are skipped without them. The daylight-saving tests at the end call
the sweep directly under time-machine and run on any database.

To keep them quick the worker runs with a 1 s backoff, 3 attempts and a 3 s stuck-send
timeout. The clinic's zone is chosen so that it is early afternoon there whenever the
tests run, so "09:00 local" and the digest hour have passed today.
"""

import asyncio
import email
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import time_machine
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from kombu import pools as kombu_pools

from clinic.celery import app as celery_app
from clinic.models import Membership
from reminders import sweep as reminders
from reminders.models import Reminder
from tests.factories import ClinicFactory
from tests.reminders_data import appointment, member, pump_in_status, utc

REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own, flushed by every test
Status = Reminder.Status


def redis_reachable() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


needs_services = [
    pytest.mark.services,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test (as .ci/run does)",
    ),
    pytest.mark.skipif(not redis_reachable(), reason="needs a Redis server on 127.0.0.1:6379 (as .ci/run starts)"),
    # Committed data for the worker; the reference pump models are restored afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(60),
]


def wait_for(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The SMTP sink ------------------------------------------------------------------------


class Sink:
    """Accepts and keeps every message; can hold one DATA unanswered until released."""

    def __init__(self):
        self.messages = []
        self.hold_next = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if self.hold_next.is_set():
            self.hold_next.clear()
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Not accepted"  # never accepted: the client was killed meanwhile
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 2.0.0 Accepted"

    def copies(self, reminder: Reminder) -> int:
        return sum(1 for m in self.messages if m["Message-ID"] == f"<reminder-{reminder.pk}@127.0.0.1>")


@pytest.fixture
def sink():
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    handler.port = controller.port
    yield handler
    handler.release.set()
    controller.stop()


# The broker and the worker ------------------------------------------------------------


def reset_producer_pools():
    """Forget this process's broker connections so the next enqueue reads the broker URL again."""
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker(monkeypatch):
    """Redis for this process's enqueues (the suite otherwise uses an in-memory broker)."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    monkeypatch.setenv("CELERY_BROKER_URL", REDIS_URL)  # Celery reads this variable first
    reset_producer_pools()
    yield client
    monkeypatch.undo()
    reset_producer_pools()
    client.flushdb()


def queued(client) -> int:
    return client.llen("celery")


def database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`celery -A clinic worker` in its own process group, on the test database."""

    def __init__(self, tmp_path: Path, smtp_port: int):
        self.tmp_path, self.smtp_port, self.process, self.runs = tmp_path, smtp_port, None, 0

    def start(self):
        self.runs += 1
        self.log = self.tmp_path / f"worker-{self.runs}.log"
        celery = Path(django_settings.BASE_DIR) / ".venv" / "bin" / "celery"
        command = str(celery) if celery.exists() else shutil.which("celery")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": REDIS_URL,
            "SECRET_KEY": django_settings.SECRET_KEY,
            "DEBUG": "false",
            "VAR_DIR": str(self.tmp_path),
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.smtp_port),
            "EMAIL_TIMEOUT": "5",
            "REMINDER_BACKOFF_SECONDS": "1",
            "REMINDER_MAX_ATTEMPTS": "3",
            "REMINDER_STUCK_SENDING_SECONDS": "3",
            "CELERY_VISIBILITY_TIMEOUT": "10",
        }
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own venv's celery, fixed arguments)
                [command, "-A", "clinic", "worker", "--pool=solo", "--loglevel=INFO", "-n", f"test{self.runs}@%h"]
                + ["--without-heartbeat", "--without-mingle", "--without-gossip"],
                cwd=django_settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: b" ready." in self.log.read_bytes() or self.process.poll() is not None, 30, "the worker")
        assert self.process.poll() is None, self.log.read_text()
        return self

    def kill(self):
        """SIGKILL the worker's whole process group: no chance to ack, clean up or mark anything."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def worker(tmp_path, sink, broker):
    handle = Worker(tmp_path, sink.port)
    yield handle
    handle.stop()


# Data in a zone where it is early afternoon now ------------------------------------------


def afternoon_zone() -> str:
    """An Etc/GMT zone in which the local time is now between 14:00 and 15:00."""
    offset = 14 - timezone.now().hour  # hours ahead of UTC
    return "Etc/GMT" + (f"-{offset}" if offset >= 0 else f"+{-offset}")  # POSIX signs are inverted


@pytest.fixture
def afternoon_clinic():
    clinic = ClinicFactory(slug="afternoon", name="Afternoon Pump Clinic", time_zone=afternoon_zone())
    clinic.digest_hour = 12  # passed, and less than 12 hours ago, until 23:59
    clinic.working_days = list(range(7))
    clinic.save()
    assert 14 <= timezone.localtime(timezone.now(), clinic.zone).hour <= 15  # 15 if the hour just turned
    return clinic


def due_everything(clinic):
    """One reminder of each kind due now: nudge, appointment, escalations, digest."""
    today = clinic.today()
    admin = member(clinic, Membership.Role.ADMIN, digest=True, username="services-admin")
    pump_in_status(clinic, "due_soon", today)  # a refill nudge
    pump_in_status(clinic, "alarming", today)  # a refill nudge and an escalation to the admin
    visit = pump_in_status(clinic, "ok", today)
    appointment(visit.patient, today + timedelta(days=1))  # the day-before reminder (09:00 has passed)
    return admin


def send_all_and_wait(sink, expected: int):
    wait_for(lambda: Reminder.objects.filter(status=Status.SENT).count() == expected, 30, f"{expected} sent rows")
    time.sleep(1)  # a duplicate would arrive now
    rows = list(Reminder.objects.all())
    assert len(rows) == expected
    assert {r.status for r in rows} == {Status.SENT}
    assert [sink.copies(r) for r in rows] == [1] * expected
    assert len(sink.messages) == expected


# The tests --------------------------------------------------------------------------------


def services_test(function):
    """The marks of a real-services test (see needs_services)."""
    for mark in reversed(needs_services):
        function = mark(function)
    return function


@services_test
def test_due_while_the_worker_was_stopped_is_delivered_exactly_once(afternoon_clinic, worker, sink, broker):
    due_everything(afternoon_clinic)
    first = reminders.run_sweep(timezone.now())
    assert first.rows_created == 5
    assert queued(broker) == 5
    # Still down three minutes later: the next sweep sends the pending rows' tasks again.
    second = reminders.run_sweep(timezone.now() + timedelta(minutes=3))
    assert (second.rows_created, second.rows_requeued) == (0, 5)
    assert queued(broker) == 10
    worker.start()
    send_all_and_wait(sink, 5)
    kinds = sorted(Reminder.objects.values_list("kind", flat=True))
    assert kinds == ["appointment", "digest", "escalation", "refill_needed", "refill_needed"]
    assert set(Reminder.objects.values_list("attempts", flat=True)) == {1}


@services_test
def test_a_worker_killed_mid_send_loses_nothing_and_sends_once(afternoon_clinic, worker, sink, broker, settings):
    settings.REMINDER_STUCK_SENDING_SECONDS = 3
    pump = pump_in_status(afternoon_clinic, "due_soon", afternoon_clinic.today())
    worker.start()
    sink.hold_next.set()
    reminders.run_sweep(timezone.now())
    row = Reminder.objects.get(pump=pump)
    wait_for(sink.holding.is_set, 20, "the send to reach DATA")
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENDING, 1)
    worker.kill()  # before the server accepted the message
    sink.release.set()
    assert sink.messages == []
    worker.start()
    time.sleep(max(0.0, (row.claimed_at + timedelta(seconds=3.2) - timezone.now()).total_seconds()))
    assert reminders.run_sweep(timezone.now()).rows_requeued == 1
    wait_for(lambda: Reminder.objects.get(pk=row.pk).status == Status.SENT, 20, "the resend")
    time.sleep(1)
    row.refresh_from_db()
    assert (row.attempts, sink.copies(row), len(sink.messages)) == (2, 1, 1)


@services_test
def test_two_sweeps_at_the_same_time_write_and_send_each_reminder_once(afternoon_clinic, worker, sink, broker):
    today = afternoon_clinic.today()
    member(afternoon_clinic, Membership.Role.ADMIN, digest=True, username="services-admin")
    for _ in range(6):
        pump_in_status(afternoon_clinic, "due_soon", today)
    for _ in range(3):
        pump_in_status(afternoon_clinic, "empty", today)
    expected = 6 + 3 + 3 + 1  # nudges, nudges of the empty pumps, escalations, digest
    worker.start()
    start = threading.Barrier(2)
    runs, errors = [], []

    def sweep():
        try:
            start.wait(5)
            runs.append(reminders.run_sweep(timezone.now()))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sum(run.rows_created for run in runs) == expected  # each row written by one of them
    send_all_and_wait(sink, expected)


@services_test
def test_mail_server_down_retries_with_backoff_then_fails_visibly(afternoon_clinic, tmp_path, broker, client, settings):
    worker = Worker(tmp_path, free_port()).start()  # nothing listens on that port
    try:
        staff = member(afternoon_clinic, Membership.Role.STAFF, username="services-staff")
        pump = pump_in_status(afternoon_clinic, "due_soon", afternoon_clinic.today())
        started = time.monotonic()
        reminders.run_sweep(timezone.now())
        row = wait_for(lambda: Reminder.objects.filter(pump=pump, status=Status.FAILED).first(), 30, "the row to fail")
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
    assert row.attempts == 3
    assert "ConnectionRefusedError" in row.last_error
    assert elapsed >= 1 + 2  # waited 1 s, then 2 s, between the three attempts
    client.force_login(staff)
    html = client.get(reverse("outbox"), {"status": "failed"}).content.decode()
    assert "1 reminder failed" in html and "ConnectionRefusedError" in html
    assert reverse("outbox_retry", args=[row.pk]) in html


@services_test
def test_a_transaction_that_rolls_back_sends_nothing(afternoon_clinic, worker, sink, broker):
    today = afternoon_clinic.today()

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        pump_in_status(afternoon_clinic, "due_soon", today)
        assert reminders.sweep_clinic(afternoon_clinic, timezone.now()) == 1
        raise Abandon
    assert not Reminder.objects.exists()
    assert queued(broker) == 0  # enqueued on commit only: nothing reached the broker
    kept = pump_in_status(afternoon_clinic, "due_soon", today)
    assert reminders.sweep_clinic(afternoon_clinic, timezone.now()) == 1
    assert queued(broker) == 1
    worker.start()
    send_all_and_wait(sink, 1)
    assert Reminder.objects.get().pump == kept


# Daylight saving (the sweep called directly, time frozen) ----------------------------------

# (zone, local working day, digest hour 07:00 local in UTC): either side of each change.
DIGEST_DST_CASES = [
    # London: BST from Sunday 29 March, GMT from Sunday 25 October 2026.
    ("Europe/London", date(2026, 3, 27), utc(2026, 3, 27, 7, 0)),
    ("Europe/London", date(2026, 3, 30), utc(2026, 3, 30, 6, 0)),
    ("Europe/London", date(2026, 10, 23), utc(2026, 10, 23, 6, 0)),
    ("Europe/London", date(2026, 10, 26), utc(2026, 10, 26, 7, 0)),
    # New York: EDT from Sunday 8 March, EST from Sunday 1 November 2026.
    ("America/New_York", date(2026, 3, 6), utc(2026, 3, 6, 12, 0)),
    ("America/New_York", date(2026, 3, 9), utc(2026, 3, 9, 11, 0)),
    ("America/New_York", date(2026, 10, 30), utc(2026, 10, 30, 11, 0)),
    ("America/New_York", date(2026, 11, 2), utc(2026, 11, 2, 12, 0)),
]

# (zone, local day, 09:00 local in UTC) for a visit the next day, lead time 1 day:
# the days before, of and after each change.
APPOINTMENT_DST_CASES = [
    ("Europe/London", date(2026, 3, 28), utc(2026, 3, 28, 9, 0)),
    ("Europe/London", date(2026, 3, 29), utc(2026, 3, 29, 8, 0)),
    ("Europe/London", date(2026, 3, 30), utc(2026, 3, 30, 8, 0)),
    ("Europe/London", date(2026, 10, 24), utc(2026, 10, 24, 8, 0)),
    ("Europe/London", date(2026, 10, 25), utc(2026, 10, 25, 9, 0)),
    ("America/New_York", date(2026, 3, 7), utc(2026, 3, 7, 14, 0)),
    ("America/New_York", date(2026, 3, 8), utc(2026, 3, 8, 13, 0)),
    ("America/New_York", date(2026, 10, 31), utc(2026, 10, 31, 13, 0)),
    ("America/New_York", date(2026, 11, 1), utc(2026, 11, 1, 14, 0)),
    ("America/New_York", date(2026, 11, 2), utc(2026, 11, 2, 14, 0)),
]


def sweep_at(clinic, moment: datetime) -> list:
    with time_machine.travel(moment, tick=False):
        reminders.sweep_clinic(clinic, moment)
    return sorted(Reminder.objects.values_list("kind", "key_date"))


def case_id(value):
    return value.isoformat()[:16] if isinstance(value, date | datetime) else str(value)


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "day", "due_at"), DIGEST_DST_CASES, ids=case_id)
def test_digest_at_the_local_digest_hour_across_dst(zone, day, due_at):
    clinic = ClinicFactory(slug="dst", time_zone=zone, digest_hour=7)
    member(clinic, digest=True)
    assert sweep_at(clinic, due_at - timedelta(minutes=1)) == []
    assert sweep_at(clinic, due_at) == [("digest", day)]


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "day", "due_at"), APPOINTMENT_DST_CASES, ids=case_id)
def test_appointment_reminder_at_nine_local_across_dst(zone, day, due_at):
    clinic = ClinicFactory(slug="dst", time_zone=zone, appointment_reminder_lead_days=[1])
    pump = pump_in_status(clinic, "ok", day)
    appointment(pump.patient, day + timedelta(days=1))  # 14:00 local the next day
    assert sweep_at(clinic, due_at - timedelta(minutes=1)) == []
    assert sweep_at(clinic, due_at) == [("appointment", day)]


@pytest.mark.django_db
def test_no_digest_on_the_sunday_of_a_change():
    for zone, sunday in (("Europe/London", date(2026, 3, 29)), ("America/New_York", date(2026, 11, 1))):
        clinic = ClinicFactory(slug=f"sun-{zone[:3].lower()}", time_zone=zone, digest_hour=7)
        member(clinic, digest=True)
        assert sweep_at(clinic, utc(2026, sunday.month, sunday.day, 20, 0)) == []


@pytest.mark.django_db
def test_the_digest_follows_the_local_day_not_the_utc_day():
    clinic = ClinicFactory(slug="ny", time_zone="America/New_York", digest_hour=21)
    member(clinic, digest=True)
    # 01:30 UTC on Tuesday 10 March is 21:30 on Monday 9 March in New York.
    assert sweep_at(clinic, utc(2026, 3, 10, 1, 30)) == [("digest", date(2026, 3, 9))]
