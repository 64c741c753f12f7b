"""The Celery app; tasks live in each app's tasks.py."""

import os

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="import_jobs")  # imports.import_jobs: the browser import's jobs


@worker_init.connect
@beat_init.connect
def refuse_to_start_without_a_secret_key(**kwargs):
    """Workers sign unsubscribe links: stop at start-up, not at the first email."""
    import sys

    from django.core.exceptions import ImproperlyConfigured

    from clinic.startup import require_secret_key

    try:
        require_secret_key()
    except ImproperlyConfigured as error:
        # Celery logs and ignores exceptions from signal handlers: exit instead.
        sys.exit(f"celery: {error}")
