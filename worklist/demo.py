"""The demo clinic's worklist: items in every state, made through the worklist's own services.

Called by the demo seeder once the caseload exists. The sync opens the items the pumps need;
then an empty or alarming item is left unclaimed long enough to be escalated (an email to the
admins in the outbox), one is claimed by staff after two calls, one by the manager who reached
the patient, one is excepted (admitted to hospital), and the rest stay open.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone

from clinic.audit import acting_as
from worklist import escalation, services, sync
from worklist.conditions import item_live_q
from worklist.models import ContactAttempt, Item


def demo_now(clinic, today):
    """Now, or 10:00 local on ``today`` when the demo is seeded as of another day."""
    if today == clinic.today():
        return timezone.now()
    return datetime.combine(today, time(10, 0), tzinfo=clinic.zone)


def seed_worklist(clinic, users: dict, today, admin: str, manager: str, staff: str) -> dict:
    """Items in every state for the demo clinic; returns how many of each were made."""
    now = demo_now(clinic, today)
    sync.sync_clinic(clinic, now)
    live = Item.objects.filter(clinic=clinic).filter(item_live_q(today)).select_related("pump").order_by("pk")
    urgent = list(live.filter(kind="refill", pump__alarm_date__lte=today).order_by("pump__empty_date", "pk"))
    overdue = list(live.filter(kind="refill", pump__refill_due__lt=today, pump__alarm_date__gt=today))
    soon = list(live.filter(kind="refill", pump__refill_due__gte=today))
    made = {"escalated": 0, "claimed": 0, "excepted": 0, "contacts": 0}

    # The most urgent item was opened yesterday morning and nobody claimed it: escalated.
    if urgent:
        first = urgent.pop(0)
        Item.objects.filter(pk=first.pk).update(open_since=now - timedelta(days=1))
        made["escalated"] = escalation.escalate_due(clinic, today, now)

    def contact(item, who, method, minutes_ago, with_whom="patient", note=""):
        services.record_contact(
            item,
            users[who],
            method=method,
            with_whom=with_whom,
            contacted_at=now - timedelta(minutes=minutes_ago),
            note=note,
            now=now,
        )
        made["contacts"] += 1

    with acting_as(users[staff]):
        for item in overdue[:1] or soon[:1]:
            services.claim(item, users[staff], today, now - timedelta(hours=3))
            contact(item, staff, ContactAttempt.Method.PHONE_NO_ANSWER, 170)
            contact(item, staff, ContactAttempt.Method.PHONE_MESSAGE, 60, note="Asked to call back to book.")
            made["claimed"] += 1
    with acting_as(users[manager]):
        for item in urgent[:1]:
            services.claim(item, users[manager], today, now - timedelta(hours=2))
            contact(item, manager, ContactAttempt.Method.PHONE_REACHED, 90, note="Coming in tomorrow morning.")
            made["claimed"] += 1
    with acting_as(users[admin]):
        for item in overdue[1:2] or soon[1:2]:
            services.record_exception(
                item,
                users[admin],
                reason=Item.Reason.HOSPITAL,
                note="Inpatient on the neuro ward; the ward team refills if needed.",
                until=today + timedelta(days=10),
                today=today,
                now=now - timedelta(hours=1),
            )
            made["excepted"] += 1
        for item in soon[2:3]:
            contact(
                item, admin, ContactAttempt.Method.LETTER, 60 * 24, with_whom="patient", note="Booking letter sent."
            )
    return made
