"""Escalation: an empty or alarming item nobody claims within the clinic's delay goes to the admins.

The rule: a refill item whose pump is alarming or empty on the sync's date, open (neither
claimed nor under an exception), and unclaimed for ``Clinic.escalation_delay_hours``
working hours (worklist.working_hours: 08:00-17:00 local on the working days), counted from
the later of the moment the item was last opened or released and the start of the pump's
alarm date. It is escalated once per item: ``escalated_at`` is set by a conditional UPDATE
(only while still unset), and in the same transaction one outbox row per clinic admin is
written (kind ``unclaimed``, unique key (kind, "worklist_item:<id>:user:<id>", alarm date)),
so a second sync can neither escalate it again nor lose the email; the existing delivery task
sends the rows.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time

from django.db.models import F

from clinic.models import Clinic, Membership
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
    """Escalate every item due now; call inside the sync's transaction. Returns how many."""
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
    escalated = 0
    for item in due_items:
        changed = Item.objects.filter(pk=item.pk, state=Item.State.OPEN, escalated_at__isnull=True).update(
            escalated_at=now, sort_rank=ESCALATED_RANK, updated_at=now
        )
        if not changed:
            continue  # claimed meanwhile, or another sync escalated it
        escalated += 1
        status = schedule.EMPTY if item.pump.empty_date <= today else schedule.ALARMING
        ItemEvent.objects.create(
            item=item,
            action=ItemEvent.Action.ESCALATED,
            at=now,
            detail=f"Unclaimed for {clinic.escalation_delay_hours} working hour{'s' if clinic.escalation_delay_hours != 1 else ''}; "
            f"emailed {len(recipients)} admin{'s' if len(recipients) != 1 else ''}.",
        )
        rows = [
            Due(
                kind=Reminder.Kind.UNCLAIMED,
                target=f"worklist_item:{item.pk}:user:{user.pk}",
                key_date=item.pump.alarm_date,
                due_at=now,
                recipient_email=user.email,
                recipient_user_id=user.pk,
                patient_id=item.pump.patient_id,
                pump_id=item.pump_id,
                pump_status=status,
            )
            for user in recipients
        ]
        for reminder_id in write_rows(clinic, rows, now):
            enqueue_send(reminder_id)
        if not recipients:
            logger.warning("worklist item %s escalated, but clinic %s has no admin with an email", item.pk, clinic.pk)
    return escalated


def item_id_from_target(target: str) -> int | None:
    """The item an ``unclaimed`` outbox row is about ("worklist_item:<id>:user:<id>")."""
    parts = target.split(":")
    if len(parts) >= 2 and parts[0] == "worklist_item" and parts[1].isdigit():
        return int(parts[1])
    return None
