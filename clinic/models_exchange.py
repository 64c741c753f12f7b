"""Data moving in and out of a clinic: import uploads, remembered column mappings, calendar feeds.

Imported from clinic.models so Django sees these models as part of the clinic app.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

IGNORE = ""  # a mapped column of "" means: ignore this header


class ColumnMapping(models.Model):
    """A header of a clinic's own spreadsheet and the caseload column it means (or ignore)."""

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.CASCADE, related_name="column_mappings")
    header = models.CharField(_("header in the file"), max_length=200)  # stripped and lower-cased
    column = models.CharField(_("caseload column"), max_length=40, blank=True)  # "" = ignore
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["header"]
        constraints = [models.UniqueConstraint(fields=["clinic", "header"], name="column_mapping_one_per_header")]

    def __str__(self) -> str:
        return f"{self.header} -> {self.column or '(ignore)'}"

    @classmethod
    def for_clinic(cls, clinic) -> dict[str, str]:
        return dict(cls.objects.filter(clinic=clinic).values_list("header", "column"))

    @classmethod
    def remember(cls, clinic, mapping: dict[str, str]) -> None:
        for header, column in mapping.items():
            if len(header) > cls._meta.get_field("header").max_length:
                continue  # used for this upload, too long to remember
            cls.objects.update_or_create(clinic=clinic, header=header, defaults={"column": column})


class PendingImportQuerySet(models.QuerySet):
    def stale(self):
        return self.filter(created_at__lt=timezone.now() - PendingImport.LIFETIME)


class PendingImport(models.Model):
    """An uploaded file between the upload, mapping, preview and confirm steps.

    Kept server-side (never a client-sent path) and found through the key held in the
    uploader's session, checked against the clinic and user; deleted once imported,
    discarded or a day old.
    """

    LIFETIME = timedelta(days=1)
    # A 50,000-row file of the template's columns is about 8 MB; the import runs in the
    # background whatever its size (refills.import_jobs).
    MAX_MEGABYTES = 16
    MAX_BYTES = MAX_MEGABYTES * 1024 * 1024

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe)
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    column_map = models.JSONField(default=dict, blank=True)  # header -> column or "" (ignore)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PendingImportQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Pending import {self.filename} ({self.created_at:%Y-%m-%d %H:%M})"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CalendarFeed(models.Model):
    """A member's private iCalendar feed URL; only the token's hash is stored.

    The token is the feed's only credential (calendar clients cannot log in), so it is
    random (32 bytes), shown once, and replaced or revoked from the calendar feeds page.
    """

    class Scope(models.TextChoices):
        MINE = "mine", _("My appointments")
        CLINIC = "clinic", _("The whole clinic")

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.CASCADE, related_name="calendar_feeds")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_fetched_on = models.DateField(null=True, blank=True)  # clinic-local day of the last logged fetch

    class Meta:
        ordering = ["scope", "-created_at"]
        constraints = [
            # At most one live feed per member and scope: regenerating revokes the old one.
            models.UniqueConstraint(
                fields=["clinic", "user", "scope"],
                condition=models.Q(revoked_at__isnull=True),
                name="calendar_feed_one_live_per_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} feed of {self.user_id} @ {self.clinic_id}"

    @classmethod
    def issue(cls, clinic, user, scope: str) -> tuple["CalendarFeed", str]:
        """Revoke the member's live feed of this scope and make a new one; returns (feed, token).

        A concurrent issue for the same feed raises IntegrityError (one live feed per scope).
        """
        token = secrets.token_urlsafe(32)
        with transaction.atomic():
            cls.revoke_live(clinic, user, scope)
            feed = cls.objects.create(clinic=clinic, user=user, scope=scope, token_hash=hash_token(token))
        return feed, token

    @classmethod
    def revoke_live(cls, clinic, user, scope: str) -> int:
        """Revoke the member's live feed of this scope (at most one); returns how many.

        One save per feed rather than an update(), so the audit trail records it.
        """
        feeds = list(
            cls.objects.select_for_update().filter(clinic=clinic, user=user, scope=scope, revoked_at__isnull=True)
        )
        for feed in feeds:
            feed.revoked_at = timezone.now()
            feed.save(update_fields=["revoked_at"])
        return len(feeds)

    def get_additional_data(self) -> dict:
        """Scope for the audit trail: the clinic's history shows feeds made and revoked."""
        return {"clinic_id": self.clinic_id, "patient_id": None}

    @classmethod
    def live_for_token(cls, token: str) -> "CalendarFeed | None":
        """The live feed whose token this is; a lookup by hash, so timing tells nothing."""
        if not token or len(token) > 100:
            return None
        return (
            cls.objects.filter(token_hash=hash_token(token), revoked_at__isnull=True)
            .select_related("clinic", "user")
            .first()
        )
