"""Patients, the pump models we know, and the pumps implanted in patients.

A pump stores the dates its schedule engine computed (alarm, empty, refill due,
replacement due) so that lists filter and sort in SQL; status is derived per query.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.model_checks import SkipsExcludedConstraints
from clinic.models import Clinic
from clinic.scoping import ClinicScope
from patients.querysets import PumpQuerySet

ML = {"max_digits": 6, "decimal_places": 2}


class PumpModel(models.Model):
    """Reference data: the pump models on the market (loaded by a data migration)."""

    OTHER = "other"

    code = models.SlugField(_("code"), unique=True, max_length=40)
    name = models.CharField(_("name"), max_length=100)
    manufacturer = models.CharField(_("manufacturer"), max_length=100, blank=True)
    reservoir_ml = models.DecimalField(_("reservoir (mL)"), null=True, blank=True, **ML)
    alarm_volume_ml = models.DecimalField(_("default low-reservoir alarm (mL)"), null=True, blank=True, **ML)
    service_life_months = models.PositiveSmallIntegerField(_("expected service life (months)"), null=True, blank=True)
    max_refill_interval_days = models.PositiveSmallIntegerField(_("max refill interval (days)"), default=180)
    stops_after_eri_days = models.PositiveSmallIntegerField(
        _("stops this many days after ERI"),
        null=True,
        blank=True,
        help_text=_("SynchroMed II pumps stop 90 days after the elective replacement indicator."),
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Patient(SkipsExcludedConstraints, models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")
        DECEASED = "deceased", _("Deceased")
        TRANSFERRED = "transferred", _("Transferred")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField(_("MRN"), max_length=40, help_text=_("Medical record number, unique in the clinic."))
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    reminders_opt_in = models.BooleanField(_("email reminders"), default=False)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("pump manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_patients",
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    sci_t6_or_above = models.BooleanField(_("spinal cord injury at or above T6"), default=False)
    communication_difficulty = models.BooleanField(_("communication difficulty"), default=False)
    previous_withdrawal = models.BooleanField(_("previous baclofen withdrawal"), default=False)
    high_risk = models.GeneratedField(
        expression=models.Case(
            models.When(
                Q(sci_t6_or_above=True) | Q(communication_difficulty=True) | Q(previous_withdrawal=True), then=True
            ),
            default=False,
        ),
        output_field=models.BooleanField(),
        db_persist=True,
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    clinic_scope = ClinicScope(
        "clinic", audit={"exclude_fields": ["created_at", "updated_at", "high_risk"]}, caseload=True
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [models.UniqueConstraint(fields=["clinic", "mrn"], name="patient_mrn_unique_in_clinic")]
        indexes = [
            # The few patients no longer followed, excluded from every pump list (PumpQuerySet.active).
            models.Index(fields=["clinic", "id"], condition=~Q(status="active"), name="patient_not_followed"),
        ]

    def get_additional_data(self) -> dict:
        """Scope for the audit trail."""
        return {"clinic_id": self.clinic_id, "patient_id": self.pk}

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.mrn})"

    @property
    def initials(self) -> str:
        return f"{self.first_name[:1]}{self.last_name[:1]}".upper()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Pump(SkipsExcludedConstraints, models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPLANTED = "explanted", _("Explanted")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="pumps")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="pumps")
    model = models.ForeignKey(PumpModel, verbose_name=_("pump model"), on_delete=models.PROTECT, related_name="pumps")
    serial_number = models.CharField(_("serial number"), max_length=60)
    implant_date = models.DateField(_("implant date"))
    reservoir_ml = models.DecimalField(_("reservoir (mL)"), **ML)
    alarm_volume_ml = models.DecimalField(
        _("low-reservoir alarm volume (mL)"),
        **ML,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("10"))],
    )
    eri_date = models.DateField(
        _("ERI date"),
        null=True,
        blank=True,
        help_text=_("Elective replacement indicator, as read from the programmer."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    explant_date = models.DateField(_("explant date"), null=True, blank=True)

    # Computed by refills.services (the only writer) in the transaction of every change.
    last_refill_date = models.DateField(_("last refill"), null=True, editable=False)
    alarm_date = models.DateField(_("alarm date"), null=True, editable=False)
    empty_date = models.DateField(_("empty date"), null=True, editable=False)
    refill_due = models.DateField(_("refill due"), null=True, editable=False)
    due_soon_from = models.DateField(_("due soon from"), null=True, editable=False)
    replacement_due = models.DateField(_("replacement due"), null=True, editable=False)
    replacement_estimated = models.BooleanField(_("replacement date estimated"), default=True, editable=False)
    # The date of the earliest scheduled refill appointment: decides the booking state
    # (schedule.booking_state). Kept by refills.services with every appointment change.
    first_refill_booking = models.DateField(_("first refill booked"), null=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PumpQuerySet.as_manager()

    # The columns the schedule engine computes (refills.services.compute_schedule): their one list.
    SCHEDULE_FIELDS = (
        "last_refill_date",
        "alarm_date",
        "empty_date",
        "refill_due",
        "due_soon_from",
        "replacement_due",
        "replacement_estimated",
    )

    # The computed columns, the booking state and the timestamps are recomputed on every event,
    # so they are not audited as changes.
    clinic_scope = ClinicScope(
        "clinic",
        audit={"exclude_fields": [*SCHEDULE_FIELDS, "first_refill_booking", "updated_at", "created_at"]},
        caseload=True,
    )

    class Meta:
        ordering = ["serial_number"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "serial_number"], name="pump_serial_unique_in_clinic"),
            # One implanted pump per patient at a time.
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="active"), name="one_active_pump_per_patient"
            ),
        ]
        indexes = [
            # The caseload and overdue lists: active pumps of a clinic by refill due. The included
            # columns let the lists and Today count a large caseload from the index alone.
            models.Index(
                fields=["clinic", "refill_due"],
                include=[
                    "patient",
                    "empty_date",
                    "alarm_date",
                    "due_soon_from",
                    "replacement_due",
                    "first_refill_booking",
                ],
                condition=Q(status="active"),
                name="pump_caseload_refill_due",
            ),
            # The replacement pipeline.
            models.Index(
                fields=["clinic", "replacement_due"], condition=Q(status="active"), name="pump_replacement_due"
            ),
            # The most urgent first: empty and alarming pumps without reading the rest (dashboard.views.urgent_pages).
            models.Index(fields=["clinic", "empty_date"], condition=Q(status="active"), name="pump_empty_date"),
            models.Index(fields=["clinic", "alarm_date"], condition=Q(status="active"), name="pump_alarm_date"),
        ]

    def get_additional_data(self) -> dict:
        return {"clinic_id": self.clinic_id, "patient_id": self.patient_id}

    def __str__(self) -> str:
        return f"{self.model.code} {self.serial_number}"

    @property
    def stop_date_after_eri(self):
        """The one computation of when a pump whose model stops after ERI (SynchroMed II) stops:
        ERI + the model's ``stops_after_eri_days`` (90), the one source of that number."""
        if self.eri_date is None or not self.model.stops_after_eri_days:
            return None
        return self.eri_date + timedelta(days=self.model.stops_after_eri_days)

    def stop_date_on(self, today):
        """The stop date as the pages show it: only once ERI has been reached (else None)."""
        if self.eri_date is None or today < self.eri_date:
            return None
        return self.stop_date_after_eri
