"""What members do to an item: claim, release, record a contact attempt, record an exception.

Each change is one conditional UPDATE (the row changes only from the state the member saw),
so two members acting at once cannot both win; the loser is told who has the item. Every
change is written to the audit trail and to the item's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from auditlog.models import LogEntry
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinic import caseload_cache
from clinic.audit import acting_as
from clinic.display import day, member_name
from worklist.models import ContactAttempt, Item, ItemEvent

State = Item.State


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


def audit(item: Item, user, changes: dict) -> None:
    """An audit entry for a change made by a conditional UPDATE (auditlog's signals see only save())."""
    LogEntry.objects.log_create(item, action=LogEntry.Action.UPDATE, changes=changes, actor=user)


def open_q(today: date) -> Q:
    """Open, or under an exception whose until-date has passed (the sync has not reopened it yet)."""
    return Q(state=State.OPEN) | Q(state=State.EXCEPTED, excepted_until__lt=today)


def patient_words(item: Item) -> str:
    """The item's patient as the lists name them: "Last, First (MRN)"."""
    patient = item.pump.patient
    return f"{patient.last_name}, {patient.first_name} ({patient.mrn})"


def why_not(item_id: int, today: date) -> str:
    """Why an item could not be changed, in words: who has it, or what became of it."""
    item = Item.objects.select_related("claimed_by", "excepted_by").get(pk=item_id)
    if item.state == State.CLAIMED:
        return f"{member_name(item.claimed_by)} claimed this item first."
    if item.state == State.EXCEPTED and item.excepted_until >= today:
        return f"{member_name(item.excepted_by)} recorded an exception until {day(item.excepted_until)}."
    if item.state == State.RESOLVED:
        return "This item has been resolved: " + str(Item.Resolution(item.resolution).label).lower() + "."
    return "This item changed meanwhile; try again."


def claim(item: Item, user, today: date, now: datetime | None = None) -> Outcome:
    """Claim an open item; only one of two members claiming at once wins."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = Item.objects.filter(open_q(today), pk=item.pk).update(
            state=State.CLAIMED,
            claimed_by=user,
            claimed_at=now,
            exception_reason="",
            exception_note="",
            excepted_until=None,
            updated_at=now,
        )
        if not changed:
            return Outcome(False, why_not(item.pk, today))
        # The first claim is kept for the report's time to claim.
        Item.objects.filter(pk=item.pk, first_claimed_at__isnull=True).update(
            first_claimed_at=now, first_claimed_by=user
        )
        ItemEvent.objects.create(item=item, action=ItemEvent.Action.CLAIMED, by=user, at=now)
        caseload_cache.changed(item.clinic_id)  # the tabs' cached counts
        audit(item, user, {"state": [item.state, State.CLAIMED], "claimed_by": [None, str(user.pk)]})
    return Outcome(True, f"You have claimed the item of {patient_words(item)}.")


def release(item: Item, user, *, may_release_others: bool, now: datetime | None = None) -> Outcome:
    """Give a claimed item back to the worklist: the claimant, or a manager or admin for anyone."""
    now = now or timezone.now()
    holder = item.claimed_by
    if item.state != State.CLAIMED:
        return Outcome(False, "This item is not claimed.")
    if item.claimed_by_id != user.pk and not may_release_others:
        return Outcome(False, f"Only {member_name(holder)} or a pump manager can release this item.")
    with transaction.atomic():
        changed = Item.objects.filter(pk=item.pk, state=State.CLAIMED, claimed_by=item.claimed_by_id).update(
            state=State.OPEN, claimed_by=None, claimed_at=None, open_since=now, updated_at=now
        )
        if not changed:
            return Outcome(False, "This item changed meanwhile; nothing was released.")
        detail = "" if holder is None or holder.pk == user.pk else f"Released {member_name(holder)}'s claim."
        ItemEvent.objects.create(item=item, action=ItemEvent.Action.RELEASED, by=user, at=now, detail=detail)
        caseload_cache.changed(item.clinic_id)
        audit(item, user, {"state": [State.CLAIMED, State.OPEN], "claimed_by": [str(item.claimed_by_id), None]})
    return Outcome(True, f"Released: the item of {patient_words(item)} is open again.")


def record_contact(
    item: Item, user, *, method: str, with_whom: str, contacted_at: datetime, note: str, now: datetime | None = None
) -> ContactAttempt:
    """A contact attempt on the item (saved through the model, so auditlog records it)."""
    now = now or timezone.now()
    with transaction.atomic(), acting_as(user):  # auditlog records the new row with its author
        contact = ContactAttempt.objects.create(
            item=item, method=method, with_whom=with_whom, contacted_at=contacted_at, note=note, recorded_by=user
        )
        latest = ContactAttempt.objects.filter(item=item).order_by("-contacted_at", "-pk").first()
        Item.objects.filter(pk=item.pk).update(last_contact=latest, updated_at=now)
        label = ContactAttempt.Method(method).label
        detail = f"{label}" + (f", with {with_whom}" if with_whom else "")
        ItemEvent.objects.create(item=item, action=ItemEvent.Action.CONTACT, by=user, at=contacted_at, detail=detail)
    return contact


def record_exception(
    item: Item, user, *, reason: str, note: str, until: date, today: date, now: datetime | None = None
) -> Outcome:
    """Why not now: the item leaves the open list until ``until`` (after today), then opens again."""
    now = now or timezone.now()
    if until <= today:
        return Outcome(False, "Until: choose a date after today.")
    with transaction.atomic():
        changed = (
            Item.objects.filter(pk=item.pk)
            .exclude(state=State.RESOLVED)
            .update(
                state=State.EXCEPTED,
                exception_reason=reason,
                exception_note=note,
                excepted_until=until,
                excepted_by=user,
                excepted_at=now,
                claimed_by=None,
                claimed_at=None,
                updated_at=now,
            )
        )
        if not changed:
            return Outcome(False, why_not(item.pk, today))
        caseload_cache.changed(item.clinic_id)  # the tabs' and the standing check's cached counts
        label = Item.Reason(reason).label
        ItemEvent.objects.create(
            item=item, action=ItemEvent.Action.EXCEPTED, by=user, at=now, detail=f"{label}, until {day(until)}"
        )
        audit(
            item,
            user,
            {
                "state": [item.state, State.EXCEPTED],
                # Raw values, as auditlog records a save: the audit trail shows them in words.
                "exception_reason": [item.exception_reason or None, reason],
                "exception_note": [item.exception_note or None, note],
                "excepted_until": [item.excepted_until.isoformat() if item.excepted_until else None, until.isoformat()],
            },
        )
    return Outcome(True, f"Exception recorded until {day(until)}.")


def end_exception(item: Item, user, today: date, now: datetime | None = None) -> Outcome:
    """End an exception before its until-date: the item is open again (unclaimed from now)."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = (
            Item.objects.filter(pk=item.pk, state=State.EXCEPTED)
            .exclude(excepted_until__lt=today)
            .update(state=State.OPEN, excepted_until=None, open_since=now, updated_at=now)
        )
        if not changed:
            return Outcome(False, "This item is not under an exception any more.")
        caseload_cache.changed(item.clinic_id)
        ItemEvent.objects.create(
            item=item, action=ItemEvent.Action.REOPENED, by=user, at=now, detail="Exception ended early"
        )
        audit(
            item,
            user,
            {
                "state": [State.EXCEPTED, State.OPEN],
                "excepted_until": [item.excepted_until.isoformat() if item.excepted_until else None, None],
            },
        )
    return Outcome(True, "Exception ended: the item is open again.")
