"""Start-up checks for the processes that serve or send: refuse to run without a secret key."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_secret_key() -> None:
    """Raise at start-up, naming the variable, when SECRET_KEY is unset and DEBUG is off."""
    try:
        settings.SECRET_KEY  # noqa: B018  Django raises for an empty key
    except ImproperlyConfigured:
        raise ImproperlyConfigured("Environment variable SECRET_KEY is required when DEBUG is off.") from None
