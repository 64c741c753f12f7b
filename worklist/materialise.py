"""Materialise worklist items from the pumps' state: open, reopen and resolve them.

The periodic sync (``worklist.sync.sync_clinic``, which adds escalation) brings a whole clinic
in line; ``sync_pump`` one pump, right after a page records a fill, a program change or an
appointment. This module does not know escalation or the outbox (reminders), so the record
pages may call it (pyproject.toml: records and reminders stay independent). Items it writes:

- a pump that needs an item and has none for its cycle: a new open item;
- an item whose condition cleared: resolved, with why (refilled, booked, acknowledged ...);
- a resolved item whose condition came back in the same cycle (a booking cancelled): open again;
- an exception whose until-date has passed: open again.

Concurrent runs are harmless: items are created against their unique key (pump, kind,
cycle) and every state change is a conditional UPDATE.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper
from django.utils import timezone

from clinic import caseload_cache
from clinic.models import Clinic
from patients.models import Pump
from refills.models import Refill
from worklist.conditions import (
    ESCALATED_RANK,
    NEED_RANK,
    OVER_DELIVERY,
    REPLACEMENT,
    UNDER_DELIVERY,
    followed_q,
    refill_need,
    refill_needed_q,
    refill_sort_date,
    replacement_booked,
    replacement_needed_q,
)
from worklist.models import Item, ItemEvent

logger = logging.getLogger(__name__)

Kind, State, Resolution = Item.Kind, Item.State, Item.Resolution


@dataclass(frozen=True)
class Need:
    """What an item needed now is about: its flagged refill (review items) and its stored order."""

    refill_id: int | None
    rank: int
    sort_date: date | None


def needed_keys(clinic: Clinic, today, pump_ids=None) -> dict[tuple, Need]:
    """Every (pump id, kind, cycle date) that needs an item on ``today``, with its order
    (of the pumps ``pump_ids`` only, when given)."""
    pumps = Pump.objects.filter(clinic=clinic).filter(followed_q())
    if pump_ids is not None:
        pumps = pumps.filter(pk__in=list(pump_ids))
    keys: dict[tuple, Need] = {}
    fields = ("pk", "last_refill_date", "empty_date", "alarm_date", "refill_due", "first_refill_booking")
    for pump_id, cycle, empty, alarm, due, booking in pumps.filter(refill_needed_q(today)).values_list(*fields):
        need = refill_need(today, empty, alarm, due, booking)
        keys[(pump_id, Kind.REFILL, cycle)] = Need(None, NEED_RANK[need], refill_sort_date(need, empty, due))
    flagged = Refill.objects.filter(needs_review=True, pump__in=pumps.values("pk"))
    for refill_id, pump_id, cycle, diff in flagged.values_list(
        "pk", "pump_id", "performed_on", "residual_discrepancy_ml"
    ):
        need = UNDER_DELIVERY if diff is not None and diff > 0 else OVER_DELIVERY
        keys[(pump_id, Kind.REVIEW, cycle)] = Need(refill_id, NEED_RANK[need], cycle)
    replacing = pumps.filter(replacement_needed_q(today)).values_list("pk", "implant_date", "replacement_due")
    for pump_id, cycle, due in replacing:
        keys[(pump_id, Kind.REPLACEMENT, cycle)] = Need(None, NEED_RANK[REPLACEMENT], due)
    return keys


def reorder(items: list[Item], needed: dict[tuple, Need], now: datetime) -> int:
    """Store each still-needed item's current order (escalated ones stay first)."""
    changed = []
    for item in items:
        need = needed[(item.pump_id, item.kind, item.cycle_date)]
        rank = ESCALATED_RANK if item.escalated_at is not None else need.rank
        if (item.sort_rank, item.sort_date) != (rank, need.sort_date):
            item.sort_rank, item.sort_date = rank, need.sort_date
            changed.append(item)
    Item.objects.bulk_update(changed, ["sort_rank", "sort_date"], batch_size=1000)
    return len(changed)


def resolution_for(item: Item, pump_state: dict) -> str:
    """Why an item's condition cleared, from its pump as it is now."""
    pump = pump_state.get(item.pump_id)
    if pump is None or not pump["followed"]:
        return Resolution.NOT_FOLLOWED
    if item.kind == Kind.REVIEW:
        return Resolution.ACKNOWLEDGED
    if item.kind == Kind.REPLACEMENT:
        return Resolution.REPLACEMENT_BOOKED if pump["replacement_booked"] else Resolution.NO_LONGER_NEEDED
    if pump["last_refill_date"] != item.cycle_date:
        return Resolution.REFILLED
    if pump["first_refill_booking"] is not None:
        return Resolution.BOOKED
    return Resolution.NO_LONGER_NEEDED


def pump_states(pump_ids, today) -> dict:
    rows = (
        Pump.objects.filter(pk__in=pump_ids)
        .annotate(followed=followed_q_expression(), replacement_is_booked=replacement_booked(today))
        .values("pk", "followed", "replacement_is_booked", "last_refill_date", "first_refill_booking")
    )
    return {
        row["pk"]: {
            "followed": row["followed"],
            "replacement_booked": row["replacement_is_booked"],
            "last_refill_date": row["last_refill_date"],
            "first_refill_booking": row["first_refill_booking"],
        }
        for row in rows
    }


def followed_q_expression():
    return ExpressionWrapper(followed_q(), output_field=BooleanField())


def resolve(items: list[Item], today, now: datetime) -> int:
    """Resolve items whose condition cleared; each only if still unresolved (conditional UPDATE)."""
    states = pump_states({item.pump_id for item in items}, today)
    resolved = 0
    events = []
    for item in items:
        resolution = resolution_for(item, states)
        owner = item.claimed_by_id or item.excepted_by_id
        changed = Item.objects.filter(pk=item.pk, state=item.state).update(
            state=State.RESOLVED, resolution=resolution, resolved_at=now, resolved_by_id=owner, updated_at=now
        )
        if changed:
            resolved += 1
            label = Resolution(resolution).label
            events.append(ItemEvent(item=item, action=ItemEvent.Action.RESOLVED, at=now, detail=str(label)))
    ItemEvent.objects.bulk_create(events)
    return resolved


def reopen(items: list[Item], now: datetime, detail: str) -> int:
    """Open items again (a condition back in the same cycle, an exception past its date)."""
    reopened = 0
    events = []
    for item in items:
        changed = Item.objects.filter(pk=item.pk, state=item.state).update(
            state=State.OPEN,
            claimed_by=None,
            claimed_at=None,
            resolution="",
            resolved_at=None,
            resolved_by=None,
            open_since=now,
            updated_at=now,
        )
        if changed:
            reopened += 1
            events.append(ItemEvent(item=item, action=ItemEvent.Action.REOPENED, at=now, detail=detail))
    ItemEvent.objects.bulk_create(events)
    return reopened


def open_new(clinic: Clinic, keys: dict[tuple, Need], now: datetime) -> int:
    """Create the items that do not exist yet; a concurrent run's copy wins without error."""
    if not keys:
        return 0
    Item.objects.bulk_create(
        [
            Item(
                clinic=clinic,
                pump_id=pump_id,
                kind=kind,
                cycle_date=cycle,
                refill_id=need.refill_id,
                opened_at=now,
                open_since=now,
                sort_rank=need.rank,
                sort_date=need.sort_date,
            )
            for (pump_id, kind, cycle), need in sorted(keys.items(), key=lambda pair: str(pair[0]))
        ],
        ignore_conflicts=True,  # the unique key: another run created it first
        batch_size=1000,
    )
    # Ours are those opened at this very moment (a concurrent run has its own ``now``).
    created = list(Item.objects.filter(clinic=clinic, opened_at=now).values_list("pk", flat=True))
    ItemEvent.objects.bulk_create(
        [ItemEvent(item_id=pk, action=ItemEvent.Action.OPENED, at=now) for pk in created], batch_size=1000
    )
    return len(created)


def bring_in_line(clinic: Clinic, now: datetime | None = None, *, pump_ids=None, escalate=None) -> dict:
    """Bring the clinic's items (of the pumps ``pump_ids`` only, when given) in line with its
    pumps on the clinic's local date at ``now``, in one transaction; ``escalate(clinic, today,
    now)`` (worklist.sync) runs inside it and counts the items it escalated."""
    now = now or timezone.now()
    today = timezone.localtime(now, clinic.zone).date()
    with transaction.atomic():
        needed = needed_keys(clinic, today, pump_ids)
        # Only the columns the sync reads: a large caseload has tens of thousands of items.
        fields = ("pump", "kind", "cycle_date", "state", "excepted_until", "escalated_at", "sort_rank", "sort_date")
        unresolved = Item.objects.filter(clinic=clinic).exclude(state=State.RESOLVED)
        if pump_ids is not None:
            unresolved = unresolved.filter(pump_id__in=list(pump_ids))
        items = list(unresolved.only(*fields, "claimed_by", "excepted_by"))
        by_key = {(i.pump_id, i.kind, i.cycle_date): i for i in items}
        cleared = [i for key, i in by_key.items() if key not in needed]
        expired = [
            i for key, i in by_key.items() if key in needed and i.state == State.EXCEPTED and i.excepted_until < today
        ]
        missing = {key: need for key, need in needed.items() if key not in by_key}
        # A resolved item of the same cycle whose condition came back: the same item, open again.
        came_back = []
        if missing:
            pumps = {key[0] for key in missing}
            for item in Item.objects.filter(clinic=clinic, state=State.RESOLVED, pump_id__in=pumps):
                key = (item.pump_id, item.kind, item.cycle_date)
                if key in missing:
                    came_back.append(item)
                    del missing[key]
        still = [item for key, item in by_key.items() if key in needed]
        counts = {
            "reordered": reorder(still + came_back, needed, now),
            "resolved": resolve(cleared, today, now),
            "reopened": reopen(came_back, now, "The need came back in the same cycle.")
            + reopen(expired, now, "The exception's until-date has passed."),
            "opened": open_new(clinic, missing, now),
        }
        counts["escalated"] = escalate(clinic, today, now) if escalate is not None else 0
        if counts["resolved"] or counts["reopened"] or counts["opened"] or counts["escalated"]:
            caseload_cache.changed(clinic.pk)  # the worklist's cached counts (tabs, standing check)
    if any(counts.values()):
        logger.info("worklist sync: clinic %s, %s", clinic.pk, counts)
    return counts


def sync_pump(pump: Pump, now: datetime | None = None) -> dict:
    """One pump's items in line with it at once (the record pages call it after their service
    commits): a new danger (an empty pump, a flagged refill) is an item without waiting for the
    periodic sync, and a cleared one resolves. Escalation stays with the periodic sync."""
    return bring_in_line(pump.clinic, now, pump_ids=[pump.pk])
