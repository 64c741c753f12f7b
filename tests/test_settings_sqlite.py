"""clinic/settings.py on SQLite (`make run`): concurrent writers wait instead of failing."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINT_OPTIONS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps(s.DATABASES['default'].get('OPTIONS', {})))"
)


def options_for(url: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings", "DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-c", PRINT_OPTIONS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_sqlite_waits_for_locks_and_begins_transactions_immediately():
    options = options_for("sqlite:////tmp/caseload-settings-test.sqlite3")
    assert options["timeout"] == 20
    assert options["transaction_mode"] == "IMMEDIATE"


def test_postgresql_gets_no_sqlite_options():
    options = options_for("postgres://postgres@127.0.0.1:5432/x")
    assert "timeout" not in options and "transaction_mode" not in options
