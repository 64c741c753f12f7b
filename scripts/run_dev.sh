#!/usr/bin/env bash
# `make run`: migrate, seed the demo clinic on first run, then serve the app and a
# Celery worker with beat on the embedded defaults (SQLite, SQLite broker, var/mail).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG="${DEBUG:-true}"
# PORT (default 8000) is where the app is served; links in the emails the worker writes use
# SITE_URL, which follows PORT unless it is set.
PORT="${PORT:-8000}"
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || (( 10#$PORT < 1 || 10#$PORT > 65535 )); then
  echo "Environment variable PORT must be a port number from 1 to 65535, got '$PORT'." >&2
  exit 2
fi
PORT=$((10#$PORT))
export SITE_URL="${SITE_URL:-http://127.0.0.1:$PORT}"
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

  ITB Caseload is starting at http://127.0.0.1:$PORT/ (links in emails: $SITE_URL)
  Demo logins (password: demo-password-2026):
    demo-admin    clinic admin (and Django admin at /admin/)
    demo-manager  pump manager
    demo-staff    clinic staff
  Emails are written to var/mail/; the Celery worker logs to var/celery.log.

MSG
$BIN/python manage.py runserver "127.0.0.1:$PORT"
