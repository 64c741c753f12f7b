from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "screening"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Screening"

    def ready(self):
        from screening.audit import register_models

        register_models()
