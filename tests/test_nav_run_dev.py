"""`make run` (scripts/run_dev.sh) serves on PORT (default 8000), and the emails its embedded
worker writes link to that server: SITE_URL follows PORT unless it is set.

The script runs in a copy of its folder layout whose .venv/bin/python and .venv/bin/celery
are stand-ins that record their arguments and the SITE_URL they were given.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "run_dev.sh"
STAND_IN = """#!/usr/bin/env bash
log="$(dirname "$0")/../../calls.log"
echo "$(basename "$0") $* SITE_URL=${SITE_URL:-}" >> "$log"
if [[ " $* " == *" runserver "* ]]; then  # wait (5 s at most) for the worker started in the background
  for _ in $(seq 50); do grep -q '^celery ' "$log" && break; sleep 0.1; done
fi
"""


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(SCRIPT, tmp_path / "scripts" / "run_dev.sh")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "celery"):
        (bin_dir / name).write_text(STAND_IN)
        (bin_dir / name).chmod(0o755)
    return tmp_path


def run(tree, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("PORT", "SITE_URL")}
    result = subprocess.run(
        ["bash", str(tree / "scripts" / "run_dev.sh")],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    calls = (tree / "calls.log").read_text().splitlines() if (tree / "calls.log").exists() else []
    return result, calls


def served_and_worker(calls):
    server = next(c for c in calls if " runserver " in c)
    worker = next(c for c in calls if c.startswith("celery "))
    return server, worker


def test_serves_on_8000_with_links_to_it_by_default(tree):
    result, calls = run(tree)
    assert result.returncode == 0, result.stderr
    server, worker = served_and_worker(calls)
    assert "runserver 127.0.0.1:8000 SITE_URL=http://127.0.0.1:8000" in server
    assert worker.endswith("SITE_URL=http://127.0.0.1:8000")
    assert "starting at http://127.0.0.1:8000/" in result.stdout


def test_port_moves_the_server_and_the_links_in_emails(tree):
    result, calls = run(tree, PORT="8123")
    assert result.returncode == 0, result.stderr
    server, worker = served_and_worker(calls)
    assert "runserver 127.0.0.1:8123 SITE_URL=http://127.0.0.1:8123" in server
    assert worker.endswith("SITE_URL=http://127.0.0.1:8123")  # the worker writes the emails
    assert "starting at http://127.0.0.1:8123/" in result.stdout


def test_a_site_url_that_is_set_is_kept(tree):
    result, calls = run(tree, PORT="8123", SITE_URL="http://caseload.test:9000")
    assert result.returncode == 0, result.stderr
    server, worker = served_and_worker(calls)
    assert "runserver 127.0.0.1:8123 SITE_URL=http://caseload.test:9000" in server
    assert worker.endswith("SITE_URL=http://caseload.test:9000")


@pytest.mark.parametrize("port", ["abc", "0", "65536", "80 81", "-1"])
def test_a_bad_port_stops_before_anything_runs(tree, port):
    result, calls = run(tree, PORT=port)
    assert result.returncode == 2
    assert "PORT must be a port number from 1 to 65535" in result.stderr
    assert calls == []  # no migrate, no worker, no server
