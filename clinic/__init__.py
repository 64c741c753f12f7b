"""ITB Caseload Django project: settings, URLs, the Celery app, clinics and memberships."""

from clinic.celery import app as celery_app

__all__ = ["celery_app"]
