# The app image: web (gunicorn), worker and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=clinic.settings_production VAR_DIR=/app/var

WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock \
    && useradd --system --uid 10001 --home /app caseload

COPY . .
# collectstatic needs settings but no real secret or database.
RUN SECRET_KEY=build-only-secret-key-not-used-at-run-time-0123456789abcdefgh ALLOWED_HOSTS=build \
    SITE_URL=https://build DATABASE_URL=postgres://build/build CELERY_BROKER_URL=redis://build REDIS_URL=redis://build EMAIL_HOST=build \
    python manage.py collectstatic --no-input \
    && mkdir -p /app/var && chown -R caseload /app/var

USER caseload
EXPOSE 8000
CMD ["gunicorn", "clinic.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
