"""A fresh clone has no var/ (only `make` creates it): the settings create the folders of
the SQLite files they name, so a worker, beat or manage.py started by hand can open the
database and the broker instead of crash-looping on "unable to open database file"."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPEN_BOTH = (
    "import django; django.setup(); "
    "from django.db import connection; connection.ensure_connection(); "
    "from clinic.celery import app; conn = app.connection_for_write(); queue = conn.SimpleQueue('probe'); "
    "queue.put({'n': 1}); message = queue.get(timeout=10); message.ack(); queue.close(); conn.release(); "
    "print('ok', message.payload['n'])"
)


def run(code: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "VAR_DIR")}
    environment.update(DJANGO_SETTINGS_MODULE="clinic.settings", DEBUG="true", **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_the_default_sqlite_database_and_broker_open_without_var(tmp_path):
    var = tmp_path / "clone" / "var"  # neither it nor its parent exists
    result = run(OPEN_BOTH, VAR_DIR=str(var))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok 1")  # a message went through the broker
    assert (var / "caseload.sqlite3").exists() and (var / "celery-broker.sqlite3").exists()


def test_a_database_url_elsewhere_gets_its_folder_and_var_is_left_alone(tmp_path):
    database = tmp_path / "data" / "db.sqlite3"
    var = tmp_path / "unused-var"
    result = run(
        "import django; django.setup(); from django.db import connection; connection.ensure_connection(); print('ok')",
        VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{database}",
        CELERY_BROKER_URL="memory://",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert database.parent.is_dir() and not var.exists()
