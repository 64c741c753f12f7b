from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "reminders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings

        from clinic import job_runs
        from reminders.sweep import JOB_NAME

        # On beat every REMINDER_SWEEP_SECONDS (clinic.settings CELERY_BEAT_SCHEDULE["sweep-reminders"]).
        job_runs.register(JOB_NAME, lambda: settings.REMINDER_SWEEP_SECONDS)
