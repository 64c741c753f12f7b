"""The upgrade from the code before issue 14 (commit ac0d166): `manage.py migrate` keeps everything.

The old tree is extracted from git (`git archive`) and run with this venv's python against a
database of its own (a file beside the test's temporary files on SQLite; a database named
after DATABASE_URL's with `_upgrade` on PostgreSQL, never the test database): it migrates,
seeds the demo clinic at a fixed moment, adds a row to every table of ours that the demo
leaves empty (outbox rows from a real sweep, an import job, a calendar feed ...), and prints
`caseload_report`. Then this tree's `migrate` runs on the same database, and the test asserts
that the reports are byte for byte the same, that every table that existed keeps every row
(its old columns, value for value), that every audit entry still names a model, and that
links already handed out (a calendar feed, an email's unsubscribe link) and the names of Celery
tasks the old code may have queued still work.

Skipped only outside a git checkout (an unpacked release has no old commit to compare with);
in a checkout a missing commit (a shallow clone) fails with what to do.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

OLD_COMMIT = "ac0d166"
NEW_ROOT = Path(__file__).resolve().parents[1]
FROZEN = "2026-11-25T10:00:00+00:00"  # the demo's "now" (10:00 in London): after 09:00, when reminders fall due
AS_OF = ("2026-11-25", "2027-03-01")  # the seeding day, and a later one where statuses have moved on
DEMO_SLUG = "demo"
# Tables a migration renamed on purpose: old name -> new name (compared under the new name).
RENAMED_TABLES: dict[str, str] = {}
# Tables whose rows migrate may add or rewrite by design; checked below through the models instead.
CHANGING_TABLES = {"django_migrations", "django_content_type", "auth_permission"}
OUR_APPS = ("clinic_", "patients_", "refills_")  # the old code's own tables: each must hold rows

# Run by the OLD code (`manage.py shell -c`), so it may use the old modules' paths: the demo,
# plus a row in each table the demo leaves empty, at a fixed moment so every run seeds alike.
OLD_SETUP = """
import json, datetime
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import get_resolver
from clinic.celery import app as celery_app

with time_machine.travel(datetime.datetime.fromisoformat(FROZEN), tick=False):
    call_command("seed_demo")
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from clinic.models import Clinic
    from clinic.models_exchange import CalendarFeed, ColumnMapping, PendingImport
    from refills.models_import_jobs import ImportJob
    from refills.outbox import Reminder, unsubscribe_token
    from refills.reminders import run_sweep

    clinic = Clinic.objects.get(slug=DEMO_SLUG)
    admin = get_user_model().objects.get(username="demo-admin")
    run = run_sweep()
    Reminder.objects.filter(pk__in=Reminder.objects.order_by("pk").values("pk")[:1]).update(
        status="failed", attempts=5, last_error="SMTP refused"
    )
    ColumnMapping.remember(clinic, {"hospital number": "mrn", "notes": ""})
    pending = PendingImport.objects.create(
        clinic=clinic, user=admin, filename="caseload.csv", content=b"mrn\\nDEMO-1\\n", column_map={"mrn": "mrn"}
    )
    ImportJob.objects.create(
        clinic=clinic, created_by=admin, kind="preview", status="done", pending=pending, pending_key=pending.key,
        filename="caseload.csv", rows_total=1, rows_checked=1, result={"rows": 1},
    )
    feed, feed_token = CalendarFeed.issue(clinic, admin, "clinic")
    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    session = SessionStore()
    session["upgrade-test"] = True
    session.create()
    feed_response = Client().get(f"/feeds/{feed_token}.ics")
    patient_reminder = Reminder.objects.filter(patient__isnull=False).order_by("pk").first()
    print(json.dumps({
        "sweep_rows": run.rows_created,
        "feed_token": feed_token,
        "feed_status": feed_response.status_code,
        "feed": feed_response.content.decode(),
        "unsubscribe_token": unsubscribe_token(patient_reminder) if patient_reminder else None,
        "tasks": registered_tasks(),
    }))
"""

# Run by the NEW code after its migrate: what tables alone cannot show.
NEW_CHECKS = """
import json, datetime, sys
import time_machine
from auditlog.models import LogEntry
from django.urls import get_resolver
from clinic.celery import app as celery_app
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.test import Client

given = json.loads(sys.stdin.read())
used = set(LogEntry.objects.values_list("content_type", flat=True).distinct())
used |= set(Permission.objects.filter(user__isnull=False).values_list("content_type", flat=True))
used |= set(Permission.objects.filter(group__isnull=False).values_list("content_type", flat=True))
orphans = sorted(
    f"{ct.app_label}.{ct.model} ({LogEntry.objects.filter(content_type=ct).count()} audit entries)"
    for ct in ContentType.objects.filter(pk__in=used)
    if ct.model_class() is None
)
with time_machine.travel(datetime.datetime.fromisoformat(FROZEN), tick=False):
    feed = Client().get(f"/feeds/{given['feed_token']}.ics")
    unsubscribe = Client().get(f"/unsubscribe/{given['unsubscribe_token']}/")
print(json.dumps({
    "orphans": orphans,
    "unknown_tasks": sorted(set(given["tasks"]) - set(registered_tasks())),
    "feed_status": feed.status_code,
    "feed": feed.content.decode(),
    "unsubscribe_status": unsubscribe.status_code,
}))
"""


# The Celery tasks a commit registers (as a worker does, plus the URLconf's imports): a task the
# old code queued just before the upgrade must still be known by name to the new workers.
REGISTERED_TASKS = """
def registered_tasks():
    celery_app.loader.import_default_modules()
    get_resolver().url_patterns
    return sorted(name for name in celery_app.tasks if not name.startswith("celery."))
"""


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(NEW_ROOT), *args], capture_output=True, text=True, check=False)


def _old_tree(target: Path) -> Path:
    """The old commit's files, from git; skipped only when this is not a git checkout at all."""
    if not (NEW_ROOT / ".git").exists():
        pytest.skip(f"not a git checkout ({NEW_ROOT} has no .git): the upgrade test needs commit {OLD_COMMIT}")
    if shutil.which("git") is None:
        pytest.fail(f"{NEW_ROOT} is a git checkout but git is not installed: the upgrade test needs it")
    found = _git("cat-file", "-e", f"{OLD_COMMIT}^{{commit}}")
    if found.returncode != 0:
        shallow = _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        pytest.fail(
            f"commit {OLD_COMMIT} (the code before issue 14) cannot be read from git, so the upgrade cannot be "
            + (
                "tested: this clone is shallow; clone with full history or run `git fetch --unshallow`."
                if shallow
                else f"tested: {found.stderr.strip()}"
            )
        )
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(NEW_ROOT), "archive", "--format=tar", OLD_COMMIT], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


@pytest.fixture
def upgrade_database(tmp_path):
    """(DATABASE_URL, connect) of a database for this test alone, on the suite's engine."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        path = tmp_path / "upgrade.sqlite3"
        yield f"sqlite:///{path}", lambda: sqlite3.connect(path)
        return
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_upgrade"
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    own = urlunsplit(parts._replace(path=f"/{name}"))

    def recreate(create: bool) -> None:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if create:
                connection.execute(f'CREATE DATABASE "{name}"')

    recreate(True)
    yield own, lambda: psycopg.connect(own)
    recreate(False)


def _manage(root: Path, database_url: str, var: Path, *args: str, stdin: str | None = None) -> str:
    """`manage.py ARGS` of the tree at ``root`` with this venv's python; its stdout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="clinic.settings_test",
        VAR_DIR=str(var),
        ALLOWED_HOSTS="testserver",
        CELERY_BROKER_URL="memory://",
        PYTHONDONTWRITEBYTECODE="1",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`manage.py {' '.join(args[:2])}` of {root} failed ({result.returncode}):\n{result.stderr[-4000:]}"
        )
    return result.stdout


def _shell(root: Path, database_url: str, var: Path, script: str, stdin: str | None = None) -> dict:
    code = f"FROZEN = {FROZEN!r}\nDEMO_SLUG = {DEMO_SLUG!r}\n{REGISTERED_TASKS}\n{script}"
    out = _manage(root, database_url, var, "shell", "-c", code, stdin=stdin)
    return json.loads(out.strip().splitlines()[-1])


def _reports(root: Path, database_url: str, var: Path) -> dict:
    return {
        (day, fmt): _manage(
            root, database_url, var, "caseload_report", "--clinic", DEMO_SLUG, "--as-of", day, "--format", fmt
        )
        for day in AS_OF
        for fmt in ("json", "csv")
    }


def _tables(connect) -> dict[str, dict]:
    """Every table: {"columns": [...], "rows": sorted reprs of each row's values}."""
    with connect() as connection:
        cursor = connection.cursor()
        if isinstance(connection, sqlite3.Connection):
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        else:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        names = sorted(row[0] for row in cursor.fetchall())
        tables = {}
        for name in names:
            cursor.execute(f'SELECT * FROM "{name}"')  # noqa: S608 (names read from the catalogue)
            columns = [column[0] for column in cursor.description]
            tables[name] = {"columns": columns, "rows": [dict(zip(columns, row, strict=True)) for row in cursor]}
        return tables


def _plain(value):
    return bytes(value) if isinstance(value, memoryview) else value


def _rows_on(rows: list[dict], columns: list[str]) -> list[str]:
    return sorted(repr(tuple(_plain(row[column]) for column in columns)) for row in rows)


@pytest.mark.timeout(600)
def test_migrate_from_the_code_before_issue_14_keeps_data_and_reports(tmp_path, upgrade_database):
    database_url, connect = upgrade_database
    old_root = _old_tree(tmp_path / "old")
    var = tmp_path / "var"
    var.mkdir()

    _manage(old_root, database_url, var, "migrate", "--noinput")
    given = _shell(old_root, database_url, var, OLD_SETUP)
    assert given["sweep_rows"] > 0 and given["unsubscribe_token"], "the old sweep wrote no patient reminder"
    assert given["feed_status"] == 200
    assert "refills.tasks.send_reminder" in given["tasks"], given["tasks"]
    reports_before = _reports(old_root, database_url, var)
    before = _tables(connect)
    empty_of_ours = sorted(name for name, table in before.items() if name.startswith(OUR_APPS) and not table["rows"])
    assert not empty_of_ours, f"the old database has no rows in {empty_of_ours}: the upgrade would not be tested there"
    assert json.loads(reports_before[(AS_OF[0], "json")]), "the old report is empty"

    _manage(NEW_ROOT, database_url, var, "migrate", "--noinput")
    after = _tables(connect)
    reports_after = _reports(NEW_ROOT, database_url, var)
    checks = _shell(NEW_ROOT, database_url, var, NEW_CHECKS, stdin=json.dumps(given))

    problems = []
    for name, old in before.items():
        if name in CHANGING_TABLES:
            continue
        new_name = RENAMED_TABLES.get(name, name)
        new = after.get(new_name)
        if new is None:
            problems.append(
                f"table {name} is gone after migrate ({len(old['rows'])} rows); renamed? see RENAMED_TABLES"
            )
            continue
        missing = [column for column in old["columns"] if column not in new["columns"]]
        if missing:
            problems.append(f"{new_name}: columns {missing} are gone after migrate")
            continue
        if len(new["rows"]) != len(old["rows"]):
            problems.append(f"{new_name}: {len(old['rows'])} rows before migrate, {len(new['rows'])} after")
        elif _rows_on(new["rows"], old["columns"]) != _rows_on(old["rows"], old["columns"]):
            changed = [c for c in old["columns"] if _rows_on(new["rows"], [c]) != _rows_on(old["rows"], [c])]
            problems.append(f"{new_name}: same number of rows ({len(old['rows'])}), different values in {changed}")
    for name in ("django_content_type", "auth_permission"):
        if len(after[name]["rows"]) < len(before[name]["rows"]):
            problems.append(
                f"{name}: {len(before[name]['rows'])} rows before migrate, {len(after[name]['rows'])} after"
            )
    if checks["orphans"]:
        problems.append(f"audit entries or permissions name content types with no model: {checks['orphans']}")
    assert not problems, "the upgrade lost or changed data:\n" + "\n".join(problems)

    for key, text in reports_before.items():
        assert reports_after[key] == text, f"caseload_report --as-of {key[0]} --format {key[1]} differs after migrate"
    assert checks["feed_status"] == 200 and checks["feed"] == given["feed"], "a calendar feed URL changed"
    assert not checks["unknown_tasks"], f"tasks the old code may have queued are unknown now: {checks['unknown_tasks']}"
    assert checks["unsubscribe_status"] == 200, "an unsubscribe link already emailed no longer works"
