#!/usr/bin/env bash
# `make run`: migrate, seed the demo clinic on first run, then serve the app and a
# Celery worker with beat on the embedded defaults (SQLite, SQLite broker, var/mail).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG="${DEBUG:-true}"
BIN=.venv/bin
mkdir -p var/mail
$BIN/python manage.py migrate --no-input
if ! $BIN/python manage.py seed_demo --check-only >/dev/null 2>&1; then
  $BIN/python manage.py seed_demo
fi

$BIN/celery -A clinic worker --beat --loglevel=INFO --concurrency=2 \
  --schedule=var/celerybeat-schedule >var/celery.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true; wait $WORKER 2>/dev/null || true' EXIT INT TERM

cat <<MSG

  ITB Caseload is starting at http://127.0.0.1:8000/
  Demo logins (password: demo-password-2026):
    demo-admin    clinic admin (and Django admin at /admin/)
    demo-manager  pump manager
    demo-staff    clinic staff
  Emails are written to var/mail/; the Celery worker logs to var/celery.log.

MSG
$BIN/python manage.py runserver 127.0.0.1:8000
