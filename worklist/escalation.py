"""Escalation: an empty or alarming item nobody claims within the clinic's delay goes to the admins.

The rule: a refill item whose pump is alarming or empty on the sync's date, open (neither
claimed nor under an exception), and unclaimed for ``Clinic.escalation_delay_hours``
working hours (worklist.working_hours: 08:00-17:00 local on its working days), counted from
the later of the moment the item was last opened or released and the start of the pump's
alarm date. It is escalated once per item: ``escalated_at`` is set by a conditional UPDATE
(only while still unset, never cleared).

The email is one digest per admin per escalation run, listing every item that run escalated
(a clinic adopting the app with a backlog gets one email, not one per pump): in the same
transaction, one outbox row per admin (kind ``unclaimed``, unique key (kind,
"worklist_escalation:<lowest item id of the run>:user:<id>", the clinic's date)). An item
escalates in one run only, so the key is the run's: a second sync can neither escalate again
nor send twice, nor lose the email. The items of a run share ``escalated_at`` (the run's
moment, the row's ``due_at``); the delivery renders them through ``email_context``,
registered with reminders.delivery by the app (reminders sits below the worklist).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, time

from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.models import Clinic, Membership
from patients.models import Pump
from refills import schedule
from reminders.models import Reminder
from reminders.sweep import Due, local_moment, write_rows
from worklist.conditions import ESCALATED_RANK, followed_q
from worklist.models import Item, ItemEvent
from worklist.working_hours import delay_ends_at

logger = logging.getLogger(__name__)


def escalation_start(item: Item, clinic: Clinic) -> datetime:
    """Unclaimed since the later of the item's last opening and the start of the alarm date."""
    alarm_start = local_moment(item.pump.alarm_date, time(0), clinic.zone)
    return max(item.open_since, alarm_start)


def candidates(clinic: Clinic, today: date):
    """Open refill items of the current fill cycle whose pump is alarming or empty today."""
    return (
        Item.objects.filter(
            clinic=clinic,
            kind=Item.Kind.REFILL,
            state=Item.State.OPEN,
            escalated_at__isnull=True,
            cycle_date=F("pump__last_refill_date"),
            pump__alarm_date__lte=today,
        )
        .filter(followed_q("pump__"))
        .select_related("pump")
        .order_by("pk")
    )


def admins(clinic: Clinic) -> list:
    memberships = Membership.objects.filter(clinic=clinic, role=Membership.Role.ADMIN, user__is_active=True)
    return [m.user for m in memberships.exclude(user__email="").select_related("user").order_by("user_id")]


def escalate_due(clinic: Clinic, today: date, now: datetime) -> int:
    """Escalate every item due now, then write one digest row per admin; call inside the
    sync's transaction. Returns how many items were escalated."""
    from reminders.tasks import enqueue_send

    due_items = [
        item
        for item in candidates(clinic, today)
        if now
        >= delay_ends_at(
            escalation_start(item, clinic), clinic.escalation_delay_hours, clinic.working_days, clinic.zone
        )
    ]
    if not due_items:
        return 0
    recipients = admins(clinic)
    hours = clinic.escalation_delay_hours
    detail = (
        f"Unclaimed for {hours} working hour{'s' if hours != 1 else ''}; "
        f"emailed {len(recipients)} admin{'s' if len(recipients) != 1 else ''}."
    )
    escalated = []
    for item in due_items:
        changed = Item.objects.filter(pk=item.pk, state=Item.State.OPEN, escalated_at__isnull=True).update(
            escalated_at=now, sort_rank=ESCALATED_RANK, updated_at=now
        )
        if not changed:
            continue  # claimed meanwhile, or another sync escalated it
        escalated.append(item)
        ItemEvent.objects.create(item=item, action=ItemEvent.Action.ESCALATED, at=now, detail=detail)
    if not escalated:
        return 0
    statuses = [schedule.EMPTY if item.pump.empty_date <= today else schedule.ALARMING for item in escalated]
    first = min(item.pk for item in escalated)
    rows = [
        Due(
            kind=Reminder.Kind.UNCLAIMED,
            target=f"{DIGEST_TARGET}:{first}:user:{user.pk}",
            key_date=today,
            due_at=now,
            recipient_email=user.email,
            recipient_user_id=user.pk,
            pump_status=min(statuses, key=schedule.STATUS_SEVERITY.__getitem__),  # the worst of the run
        )
        for user in recipients
    ]
    for reminder_id in write_rows(clinic, rows, now):
        enqueue_send(reminder_id)
    if not recipients:
        logger.warning(
            "%d worklist items escalated, but clinic %s has no admin with an email", len(escalated), clinic.pk
        )
    return len(escalated)


DIGEST_TARGET = "worklist_escalation"
ITEM_TARGET = "worklist_item"  # rows written before the digest: one item each


def run_items(reminder: Reminder) -> list[Item]:
    """The items an ``unclaimed`` row lists: those its escalation run escalated."""
    kind, item_id = (reminder.target.split(":") + ["", ""])[:2]
    items = Item.objects.filter(clinic=reminder.clinic_id)
    if kind == ITEM_TARGET and item_id.isdigit():
        return list(items.filter(pk=int(item_id)))
    return list(items.filter(escalated_at=reminder.due_at, kind=Item.Kind.REFILL))


def email_context(reminder: Reminder, now: datetime) -> tuple[str, dict]:
    """The digest of an escalation run: its items, most dangerous first (empty, alarming,
    overdue... by the pump's status now), then by alarm date and MRN; each with its pump's
    row (MRN, initials, status, dates, booking) and its worklist item's link."""
    from reminders.delivery import absolute, email_date
    from reminders.digest import pump_row

    clinic = reminder.clinic
    items = {item.pump_id: item for item in run_items(reminder)}
    pumps = Pump.objects.with_status(clinic.today()).select_related("patient__manager").filter(pk__in=list(items))
    entries = []
    for pump in pumps:
        manager = pump.patient.manager
        entries.append(
            {
                "row": pump_row(pump),
                "item_url": absolute(reverse("worklist_item", args=[items[pump.pk].pk])),
                "manager_name": (manager.get_full_name() or manager.username) if manager else "",
            }
        )
    entries.sort(
        key=lambda e: (
            schedule.STATUS_SEVERITY.get(e["row"]["status"], 99),
            e["row"]["alarm_date"] or date.max,
            e["row"]["mrn"],
        )
    )
    counts = Counter(entry["row"]["status_label"].upper() for entry in entries)
    hours = clinic.escalation_delay_hours
    values = {
        "hours": hours,
        "hour_word": "hour" if hours == 1 else "hours",
        "clinic": clinic.name,
        "count": len(entries),
        "pumps": "pump" if len(entries) == 1 else "pumps",
    }
    if len(entries) == 1:
        values["what"] = f"{entries[0]['row']['status_label'].upper()}: patient {entries[0]['row']['mrn']}"
    else:
        values["what"] = ", ".join(f"{n} {label}" for label, n in counts.items())
    # The clinic first, as the digest's subject: a trailing ", clinic" read as part of the list.
    subject = _("%(clinic)s: %(count)d %(pumps)s unclaimed for %(hours)d working %(hour_word)s (%(what)s)") % values
    return subject, {
        "entries": entries,
        "count": len(entries),
        "escalated_on": email_date(timezone.localtime(reminder.due_at, clinic.zone).date()),
        "worklist_url": absolute(reverse("worklist")),
    }
