from django.apps import AppConfig


class WorklistConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "worklist"
    verbose_name = "Worklist"

    def ready(self):
        from worklist.audit import register_models

        register_models()
