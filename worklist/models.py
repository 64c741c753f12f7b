"""Worklist items: a pump that needs action, who owns it, and what was done about it.

Items are derived from the pumps' state by worklist.sync (never typed in). One item per
need per cycle, so a claim survives the pump's status getting worse:

- ``refill``: one per pump per fill cycle (``cycle_date`` = the pump's last refill date),
  open while the pump is empty, alarming, overdue, due soon and not booked, or booked after
  refill due. Its severity is the pump's status read at display time.
- ``review``: one per refill flagged for review (``cycle_date`` = that refill's date;
  a pump has one refill per day), open until a manager acknowledges it.
- ``replacement``: one per pump (``cycle_date`` = its implant date), open while its
  replacement is due within 90 days and no replacement appointment is booked.

Every change of an item's state goes through worklist.services (audited there).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.models import Clinic
from clinic.scoping import ClinicScope
from patients.models import Pump


class Item(models.Model):
    class Kind(models.TextChoices):
        REFILL = "refill", _("Refill")
        REVIEW = "review", _("Refill awaiting review")
        REPLACEMENT = "replacement", _("Replacement within 90 days")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        CLAIMED = "claimed", _("Claimed")
        EXCEPTED = "excepted", _("Excepted")
        RESOLVED = "resolved", _("Resolved")

    class Reason(models.TextChoices):
        HOSPITAL = "hospital", _("Admitted to hospital")
        REFILLED_ELSEWHERE = "refilled_elsewhere", _("Refilled elsewhere")
        DECLINES = "declines", _("Patient declines")
        MOVED_AWAY = "moved_away", _("Moved away")
        OTHER = "other", _("Other")

    class Resolution(models.TextChoices):
        BOOKED = "booked", _("Booked on or before refill due")
        REFILLED = "refilled", _("Refilled")
        ACKNOWLEDGED = "acknowledged", _("Review acknowledged")
        REPLACEMENT_BOOKED = "replacement_booked", _("Replacement booked")
        NOT_FOLLOWED = "not_followed", _("Pump explanted or patient no longer followed")
        NO_LONGER_NEEDED = "no_longer_needed", _("No longer needed")

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="worklist_items")
    pump = models.ForeignKey(Pump, on_delete=models.CASCADE, related_name="worklist_items")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    # The cycle the item belongs to (see the module docstring): a new cycle is a new item.
    cycle_date = models.DateField(_("cycle"))
    refill = models.ForeignKey(
        "refills.Refill", null=True, blank=True, on_delete=models.CASCADE, related_name="worklist_items"
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)

    opened_at = models.DateTimeField(_("opened at"))  # first opened (time to claim counts from here)
    open_since = models.DateTimeField(_("unclaimed since"))  # last (re)opened or released: escalation counts from here
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    first_claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_claimed_at = models.DateTimeField(_("first claimed at"), null=True, blank=True)

    exception_reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    exception_note = models.TextField(_("note"), blank=True)
    excepted_until = models.DateField(_("until"), null=True, blank=True)  # opens again the day after
    excepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    excepted_at = models.DateTimeField(_("excepted at"), null=True, blank=True)

    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.CharField(_("resolution"), max_length=20, choices=Resolution.choices, blank=True)
    # Who owned the item when it resolved (the claimant, else whoever excepted it): the report's "resolved by".
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    last_contact = models.ForeignKey(
        "worklist.ContactAttempt", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The worklist's order as of the last sync (worklist.sync): escalated first (-1), then the
    # need's rank (worklist.conditions.NEED_RANK), then the date it is due. Stored so that a page
    # reads its 50 rows from an index instead of sorting every item; what a row shows is read live.
    sort_rank = models.SmallIntegerField(default=5, editable=False)
    sort_date = models.DateField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    clinic_scope = ClinicScope("clinic")  # audited by worklist/audit.py

    class Meta:
        ordering = ["opened_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["pump", "kind", "cycle_date"], name="worklist_item_one_per_cycle"),
        ]
        indexes = [
            # The worklist page and the sync: a clinic's items not yet resolved.
            models.Index(fields=["clinic", "state"], condition=~Q(state="resolved"), name="worklist_item_unresolved"),
            # The worklist page: the first rows in the stored order, without sorting every item.
            models.Index(
                fields=["clinic", "sort_rank", "sort_date", "id"],
                condition=~Q(state="resolved"),
                name="worklist_item_order",
            ),
            # The monthly report: items resolved in a month.
            models.Index(fields=["clinic", "resolved_at"], name="worklist_item_resolved_at"),
        ]

    def get_additional_data(self) -> dict:
        """Scope for the audit trail."""
        return {"clinic_id": self.clinic_id, "patient_id": self.pump.patient_id}

    def __str__(self) -> str:
        # The audit trail's words: no internal id (the entry names the patient).
        return f"Worklist: {self.get_kind_display()}"


class ContactAttempt(models.Model):
    class Method(models.TextChoices):
        PHONE_REACHED = "phone_reached", _("Phone: reached")
        PHONE_NO_ANSWER = "phone_no_answer", _("Phone: no answer")
        PHONE_MESSAGE = "phone_message", _("Phone: message left")
        LETTER = "letter", _("Letter")
        EMAIL = "email", _("Email")

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="contacts")
    method = models.CharField(_("how"), max_length=16, choices=Method.choices)
    with_whom = models.CharField(_("with whom"), max_length=100, blank=True, help_text=_("e.g. patient, carer"))
    contacted_at = models.DateTimeField(_("when"))
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    clinic_scope = ClinicScope("item__clinic")  # audited by worklist/audit.py

    class Meta:
        ordering = ["-contacted_at", "-pk"]

    def get_additional_data(self) -> dict:
        return {"clinic_id": self.item.clinic_id, "patient_id": self.item.pump.patient_id}

    def __str__(self) -> str:
        return f"{self.get_method_display()} ({self.contacted_at:%Y-%m-%d %H:%M})"


class ItemEvent(models.Model):
    """The item's history as the item page shows it: opened, claimed, released, excepted, escalated..."""

    class Action(models.TextChoices):
        OPENED = "opened", _("Opened")
        REOPENED = "reopened", _("Opened again")
        CLAIMED = "claimed", _("Claimed")
        RELEASED = "released", _("Released")
        CONTACT = "contact", _("Contact attempt")
        EXCEPTED = "excepted", _("Excepted")
        ESCALATED = "escalated", _("Escalated")
        RESOLVED = "resolved", _("Resolved")

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("what"), max_length=10, choices=Action.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("when"))
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            # The monthly report: claims per member in a month.
            models.Index(fields=["action", "at"], name="worklist_event_action_at"),
        ]

    def get_additional_data(self) -> dict:
        return {"clinic_id": self.item.clinic_id, "patient_id": self.item.pump.patient_id}

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.at:%Y-%m-%d %H:%M})"
