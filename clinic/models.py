"""Clinics (the tenants), who belongs to them with which role, and members' calendar feed tokens."""

import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.scoping import ClinicScope


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone such as Europe/London."), params={"value": value})


def default_lead_days() -> list[int]:
    return [7, 1]


# The days of the week as date.weekday() numbers, in the clinic's words: working days, sessions.
WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def default_working_days() -> list[int]:
    return [0, 1, 2, 3, 4]  # Monday to Friday, as date.weekday() numbers


def validate_lead_days(value) -> None:
    if not isinstance(value, list) or not all(isinstance(d, int) and 0 <= d <= 60 for d in value):
        raise ValidationError(_("Lead days must be a list of whole days between 0 and 60."))


def validate_working_days(value) -> None:
    if not isinstance(value, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in value):
        raise ValidationError(_("Working days must be weekday numbers 0 (Monday) to 6 (Sunday)."))


class Clinic(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/London", validators=[validate_time_zone]
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    buffer_days = models.PositiveSmallIntegerField(
        _("buffer days"),
        default=7,
        validators=[MaxValueValidator(30)],
        help_text=_("Refill this many days before the alarm date (0-30)."),
    )
    due_soon_days = models.PositiveSmallIntegerField(
        _("due soon days"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("A pump is due soon this many days before its refill due date (1-60)."),
    )
    replacement_window_days = models.PositiveSmallIntegerField(
        _("replacement window days"),
        default=180,
        validators=[MinValueValidator(30), MaxValueValidator(730)],
    )
    digest_hour = models.PositiveSmallIntegerField(
        _("digest hour"),
        default=7,
        validators=[MaxValueValidator(23)],
        help_text=_("Local hour at which the staff digest is sent."),
    )
    appointment_reminder_lead_days = models.JSONField(
        _("appointment reminder lead days"), default=default_lead_days, validators=[validate_lead_days]
    )
    working_days = models.JSONField(_("working days"), default=default_working_days, validators=[validate_working_days])
    reminders_enabled = models.BooleanField(_("reminders enabled"), default=True)
    escalation_delay_hours = models.PositiveSmallIntegerField(
        _("escalation delay (working hours)"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(45)],
        help_text=_(
            "An empty or alarming worklist item nobody claims within this many working hours "
            "(08:00-17:00 on the working days) is emailed to the clinic admins (1-45)."
        ),
    )
    screening_target_days = models.PositiveSmallIntegerField(
        _("screening target (days)"),
        default=42,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("A candidate should have a first screening trial within this many days of referral (1-365)."),
    )
    require_two_factor = models.BooleanField(
        _("require two-factor authentication"),
        default=False,
        help_text=_("Members must confirm sign-in with an authenticator app code."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    clinic_scope = ClinicScope(path=None, audit={"exclude_fields": ["created_at"]}, caseload=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("clinic")

    def get_additional_data(self) -> dict:
        """Scope for the audit trail."""
        return {"clinic_id": self.pk, "patient_id": None}

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def today(self):
        """Today's date in the clinic's time zone."""
        return timezone.localdate(timezone=self.zone)


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        MANAGER = "manager", _("Pump manager")
        STAFF = "staff", _("Staff")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.STAFF)
    digest_opt_in = models.BooleanField(_("receive the daily digest"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    clinic_scope = ClinicScope("clinic", audit={"exclude_fields": ["created_at"]}, caseload=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "clinic"], name="membership_one_per_user_clinic")]
        ordering = ["clinic", "user__username"]

    def get_additional_data(self) -> dict:
        return {"clinic_id": self.clinic_id, "patient_id": None}

    def __str__(self) -> str:
        return f"{self.user} @ {self.clinic} ({self.role})"


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

    # Feed URLs made and revoked (never the token's hash; fetches are logged as exports).
    clinic_scope = ClinicScope("clinic", audit={"include_fields": ["user", "scope", "revoked_at"]})

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


# Periodic jobs' last runs (the health view); the model lives beside its functions.
from clinic.job_runs import JobRun  # noqa: E402, F401
