from django.apps import AppConfig


class RefillsConfig(AppConfig):
    name = "refills"
    default_auto_field = "django.db.models.BigAutoField"
