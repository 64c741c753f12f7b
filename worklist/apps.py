from django.apps import AppConfig


class WorklistConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "worklist"
    verbose_name = "Worklist"

    def ready(self):
        from django.conf import settings

        from clinic import job_runs
        from worklist.audit import register_models
        from worklist.sync import JOB_NAME

        register_models()
        # On beat every sweep interval (clinic.settings CELERY_BEAT_SCHEDULE["sync-worklists"]).
        job_runs.register(JOB_NAME, lambda: settings.REMINDER_SWEEP_SECONDS)

        # The escalation digest's content: its items live here, above the outbox's delivery.
        from reminders import delivery
        from reminders.models import Reminder
        from worklist import escalation

        delivery.CONTEXTS[Reminder.Kind.UNCLAIMED] = escalation.email_context
