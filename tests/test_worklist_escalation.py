"""worklist.escalation: an empty or alarming item unclaimed past the clinic's delay of working
hours is escalated once; each escalation run writes one digest row per admin (listing every
item it escalated) in the same transaction, emailed by the existing delivery."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from clinic.models import Membership
from reminders import delivery
from reminders.models import Reminder
from tests.factories import PatientFactory, PumpFactory, RefillFactory
from tests.reminders_data import member, pump_in_status
from tests.worklist_data import NOW, TODAY, refill_item, synced
from worklist import services
from worklist.models import ItemEvent

pytestmark = pytest.mark.django_db

# NOW is Wednesday 25 Nov 2026 10:00 in London: the item opens then; two working hours end at 12:00.
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def alarming(clinic, admin_user):
    with at(NOW):
        pump = pump_in_status(clinic, "alarming", TODAY, mrn="ALARM9")
        synced(clinic)
    return pump


def unclaimed_rows():
    return list(Reminder.objects.filter(kind=Reminder.Kind.UNCLAIMED).order_by("pk"))


def test_not_before_the_delay_then_once_with_a_row_per_admin(clinic, alarming, admin_user):
    second_admin = member(clinic, Membership.Role.ADMIN, username="second-admin")
    member(clinic, Membership.Role.MANAGER, username="not-an-admin")
    with at(NOON - timedelta(minutes=1)):
        assert synced(clinic, NOON - timedelta(minutes=1))["escalated"] == 0
    with at(NOON):
        assert synced(clinic, NOON)["escalated"] == 1
    item = refill_item(alarming)
    assert item.escalated_at == NOON
    rows = unclaimed_rows()
    assert [(r.recipient_user, r.key_date, r.pump_status, r.status, r.due_at) for r in rows] == [
        (admin_user, TODAY, "alarming", "pending", NOON),
        (second_admin, TODAY, "alarming", "pending", NOON),
    ]
    assert {r.target for r in rows} == {
        f"worklist_escalation:{item.pk}:user:{u.pk}" for u in (admin_user, second_admin)
    }
    assert ItemEvent.objects.get(action="escalated").detail == "Unclaimed for 2 working hours; emailed 2 admins."
    # Later syncs neither escalate again nor write another row.
    later = NOON + timedelta(days=1)
    with at(later):
        assert synced(clinic, later)["escalated"] == 0
    assert len(unclaimed_rows()) == 2


def test_the_delay_is_the_clinics_setting(clinic, alarming):
    clinic.escalation_delay_hours = 4
    clinic.save()
    with at(NOON):
        assert synced(clinic, NOON)["escalated"] == 0
    fourteen = NOON + timedelta(hours=2)
    with at(fourteen):
        assert synced(clinic, fourteen)["escalated"] == 1


def test_a_claimed_or_excepted_item_is_not_escalated(clinic, alarming, staff):
    item = refill_item(alarming)
    services.claim(item, staff, TODAY, NOW)
    with at(NOON):
        assert synced(clinic, NOON)["escalated"] == 0
    item.refresh_from_db()
    services.record_exception(item, staff, reason="hospital", note="", until=TODAY + timedelta(days=3), today=TODAY)
    with at(NOON):
        assert synced(clinic, NOON)["escalated"] == 0
    assert unclaimed_rows() == []


def test_a_release_starts_the_clock_again(clinic, alarming, staff):
    item = refill_item(alarming)
    services.claim(item, staff, TODAY, NOW)
    item.refresh_from_db()
    released = datetime(2026, 11, 25, 11, 30, tzinfo=UTC)
    services.release(item, staff, may_release_others=False, now=released)
    with at(NOON):
        assert synced(clinic, NOON)["escalated"] == 0  # 30 minutes since the release
    with at(released + timedelta(hours=2)):
        assert synced(clinic, released + timedelta(hours=2))["escalated"] == 1


def test_an_overdue_item_is_not_escalated(clinic, admin_user):
    with at(NOW):
        pump_in_status(clinic, "overdue", TODAY)
        synced(clinic)
    later = NOW + timedelta(hours=6)
    with at(later):
        assert synced(clinic, later)["escalated"] == 0


def test_a_pump_turning_alarming_counts_from_the_start_of_its_alarm_date(clinic, admin_user):
    # Refilled 90 days ago: alarming from today. Its item has been open (overdue) for a week;
    # the delay counts from today's 00:00, so from 08:00, and ends at 10:00 today.
    week_ago = NOW - timedelta(days=7)
    with at(week_ago):
        pump = PumpFactory(patient=PatientFactory(clinic=clinic), implant_date=date(2024, 1, 10))
        RefillFactory(pump=pump, performed_on=TODAY - timedelta(days=90), is_initial_fill=True)
        synced(clinic, week_ago)
    pump.refresh_from_db()
    assert pump.alarm_date == TODAY
    before = NOW - timedelta(minutes=1)
    with at(before):
        assert synced(clinic, before)["escalated"] == 0
    with at(NOW):
        assert synced(clinic, NOW)["escalated"] == 1


def test_the_email_goes_to_the_admin_through_the_existing_delivery(clinic, alarming, admin_user, mailoutbox):
    with at(NOON):
        synced(clinic, NOON)
        [row] = unclaimed_rows()
        assert delivery.deliver(row.pk, NOON).result == delivery.SENT
    [message] = mailoutbox
    assert message.to == [admin_user.email]
    assert message.subject == "North Pump Clinic: 1 pump unclaimed for 2 working hours (ALARMING: patient ALARM9)"
    item = refill_item(alarming)
    assert f"/worklist/items/{item.pk}/" in message.body
    assert "nobody has claimed the worklist item for 2 working hours (escalated on Wed 25 Nov 2026)" in message.body
    assert "1. Patient ALARM9 " in message.body and "the pump is ALARMING" in message.body
    assert alarming.patient.last_name not in message.body and "mcg" not in message.body
    row.refresh_from_db()
    assert row.status == "sent"


def test_without_an_admin_email_the_item_is_still_escalated_and_shown(clinic, alarming, admin_user):
    admin_user.email = ""
    admin_user.save()
    with at(NOON):
        assert synced(clinic, NOON)["escalated"] == 1
    assert unclaimed_rows() == []
    assert refill_item(alarming).escalated_at == NOON


def test_a_backlog_of_30_items_is_one_digest_per_admin_most_dangerous_first(clinic, admin_user, mailoutbox):
    """A clinic adopting the app with a backlog: 30 items escalate in one run, each once, and
    each admin gets one email listing all of them (empty before alarming), not 30."""
    second_admin = member(clinic, Membership.Role.ADMIN, username="second-admin")
    with at(NOW):
        pumps = [
            pump_in_status(clinic, "empty" if n % 3 == 0 else "alarming", TODAY, mrn=f"BACK{n:02d}") for n in range(30)
        ]
        synced(clinic)
    with at(NOON):
        assert synced(clinic, NOON)["escalated"] == 30
        rows = unclaimed_rows()
        assert [r.recipient_user for r in rows] == [admin_user, second_admin]
        assert {r.pump_status for r in rows} == {"empty"}  # the worst of the run
        for row in rows:
            assert delivery.deliver(row.pk, NOON).result == delivery.SENT
    assert ItemEvent.objects.filter(action="escalated").count() == 30  # each item escalated once
    assert len(mailoutbox) == 2
    message = mailoutbox[0]
    assert message.subject == "North Pump Clinic: 30 pumps unclaimed for 2 working hours (10 EMPTY, 20 ALARMING)"
    body = message.body
    assert "nobody has claimed these 30 worklist items" in body
    for pump in pumps:
        assert f"/worklist/items/{refill_item(pump).pk}/" in body
    positions = {pump.patient.mrn: body.index(f"Patient {pump.patient.mrn} ") for pump in pumps}
    empties = [positions[f"BACK{n:02d}"] for n in range(30) if n % 3 == 0]
    alarmings = [positions[f"BACK{n:02d}"] for n in range(30) if n % 3]
    assert max(empties) < min(alarmings)  # empty first, then alarming
    # Dates in words (SPEC 8), never ISO, for each of the 30.
    assert len(re.findall(r"Alarm date: +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d{4}", body)) == 30
    assert not re.search(r"\d{4}-\d{2}-\d{2}", body.replace("/", " "))
    html = message.alternatives[0][0]
    assert html.count("Open the worklist item") == 30
    assert not any(pump.patient.last_name in body for pump in pumps)
    # Later syncs neither escalate again nor email again.
    later = NOON + timedelta(hours=3)
    with at(later):
        assert synced(clinic, later)["escalated"] == 0
    assert len(unclaimed_rows()) == 2


def test_a_later_run_sends_a_new_digest_with_only_its_own_items(clinic, alarming, admin_user):
    with at(NOON):
        synced(clinic, NOON)
    with at(NOON + timedelta(hours=1)):
        late = pump_in_status(clinic, "empty", TODAY, mrn="EMPTY2")
        synced(clinic, NOON + timedelta(hours=1))  # opens its item now: its delay starts
    evening = NOON + timedelta(hours=3)
    with at(evening):
        assert synced(clinic, evening)["escalated"] == 1
    first, second = unclaimed_rows()
    assert first.target != second.target
    from worklist.escalation import run_items

    assert run_items(first) == [refill_item(alarming)]
    assert run_items(second) == [refill_item(late)]


def test_rewriting_a_runs_rows_never_sends_twice(clinic, alarming, admin_user):
    """The row's key is the run's (its lowest item and the admin): written again (a retried
    transaction, a second writer), it is dropped by the unique key."""
    from reminders.sweep import Due, write_rows

    with at(NOON):
        synced(clinic, NOON)
        [row] = unclaimed_rows()
        again = Due(
            kind=row.kind,
            target=row.target,
            key_date=row.key_date,
            due_at=NOON,
            recipient_email=admin_user.email,
            recipient_user_id=admin_user.pk,
        )
        assert write_rows(clinic, [again], NOON) == []
    assert len(unclaimed_rows()) == 1


def test_a_row_written_before_the_digest_still_renders_its_one_item(clinic, alarming, admin_user, mailoutbox):
    with at(NOON):
        synced(clinic, NOON)
        item = refill_item(alarming)
        [row] = unclaimed_rows()
        Reminder.objects.filter(pk=row.pk).update(target=f"worklist_item:{item.pk}:user:{admin_user.pk}")
        assert delivery.deliver(row.pk, NOON).result == delivery.SENT
    assert "1. Patient ALARM9 " in mailoutbox[0].body
