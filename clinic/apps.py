from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from clinic import caseload_cache
        from clinic.audit import register_models

        register_models()
        caseload_cache.connect()
