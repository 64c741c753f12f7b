"""worklist.services: claim, release, contact attempts and exceptions, race-safe and audited."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.db import connection, transaction

from tests.reminders_data import member, pump_in_status
from tests.worklist_data import NOW, TODAY, refill_item, synced
from worklist import services
from worklist.models import ContactAttempt, Item, ItemEvent


@pytest.fixture
def item(clinic):
    with time_machine.travel(NOW, tick=False):
        pump = pump_in_status(clinic, "overdue", TODAY)
        synced(clinic)
    return refill_item(pump)


def audit_changes(item):
    return [
        entry.changes_dict if hasattr(entry, "changes_dict") else entry.changes
        for entry in LogEntry.objects.filter(object_pk=str(item.pk), content_type__model="item").order_by("pk")
    ]


@pytest.mark.django_db
class TestClaim:
    def test_claim_takes_an_open_item_records_it_and_audits_it(self, item, staff):
        outcome = services.claim(item, staff, TODAY, NOW)
        assert outcome.ok
        item.refresh_from_db()
        assert (item.state, item.claimed_by, item.claimed_at) == ("claimed", staff, NOW)
        assert (item.first_claimed_by, item.first_claimed_at) == (staff, NOW)
        assert ItemEvent.objects.filter(item=item, action="claimed", by=staff).count() == 1
        entry = LogEntry.objects.get(object_pk=str(item.pk), content_type__model="item")
        assert entry.actor == staff and entry.additional_data["clinic_id"] == item.clinic_id

    def test_the_second_claimant_is_told_who_has_it_and_nothing_changes(self, item, staff, manager):
        services.claim(item, manager, TODAY, NOW)
        outcome = services.claim(item, staff, TODAY, NOW + timedelta(minutes=1))
        assert not outcome.ok
        assert outcome.message == f"{manager.get_full_name()} claimed this item first."
        item.refresh_from_db()
        assert item.claimed_by == manager

    def test_a_resolved_item_cannot_be_claimed(self, item, staff):
        Item.objects.filter(pk=item.pk).update(state="resolved", resolution="booked")
        outcome = services.claim(item, staff, TODAY, NOW)
        assert (outcome.ok, outcome.message) == (False, "This item has been resolved: booked on or before refill due.")

    def test_an_exception_past_its_date_can_be_claimed_before_the_sync_reopens_it(self, item, staff, manager):
        Item.objects.filter(pk=item.pk).update(
            state="excepted", excepted_until=TODAY - timedelta(days=1), excepted_by=manager
        )
        assert services.claim(item, staff, TODAY, NOW).ok
        item.refresh_from_db()
        assert (item.state, item.excepted_until) == ("claimed", None)

    def test_the_first_claim_is_kept_for_the_report_after_a_release(self, item, staff, manager):
        services.claim(item, staff, TODAY, NOW)
        item.refresh_from_db()
        services.release(item, staff, may_release_others=False, now=NOW + timedelta(minutes=5))
        item.refresh_from_db()
        services.claim(item, manager, TODAY, NOW + timedelta(minutes=9))
        item.refresh_from_db()
        assert (item.claimed_by, item.first_claimed_by, item.first_claimed_at) == (manager, staff, NOW)


@pytest.mark.django_db
class TestRelease:
    def test_the_claimant_releases_and_the_item_is_open_again_from_now(self, item, staff):
        services.claim(item, staff, TODAY, NOW)
        item.refresh_from_db()
        later = NOW + timedelta(hours=1)
        assert services.release(item, staff, may_release_others=False, now=later).ok
        item.refresh_from_db()
        assert (item.state, item.claimed_by, item.open_since) == ("open", None, later)
        assert [c["state"] for c in audit_changes(item)] == [["open", "claimed"], ["claimed", "open"]]

    def test_staff_cannot_release_someone_elses_claim_but_a_manager_can(self, item, staff, manager, admin_user):
        services.claim(item, staff, TODAY, NOW)
        item.refresh_from_db()
        other = member(item.clinic, username="other-staff")
        outcome = services.release(item, other, may_release_others=False)
        assert not outcome.ok and staff.get_full_name() in outcome.message
        assert services.release(item, manager, may_release_others=True).ok
        assert ItemEvent.objects.get(action="released").detail == f"Released {staff.get_full_name()}'s claim."


@pytest.mark.django_db
def test_a_contact_attempt_is_saved_audited_and_becomes_the_last_contact(item, staff):
    first = services.record_contact(
        item, staff, method="phone_no_answer", with_whom="patient", contacted_at=NOW - timedelta(hours=2), note=""
    )
    services.record_contact(
        item, staff, method="letter", with_whom="", contacted_at=NOW - timedelta(days=1), note="Sent."
    )  # recorded later, happened earlier: not the last contact
    item.refresh_from_db()
    assert item.last_contact == first
    assert ContactAttempt.objects.filter(item=item).count() == 2
    assert LogEntry.objects.filter(content_type__model="contactattempt", actor=staff).count() == 2
    assert ItemEvent.objects.filter(item=item, action="contact").count() == 2


@pytest.mark.django_db
class TestException:
    def test_an_exception_takes_the_item_off_the_open_list_until_its_date(self, item, staff):
        services.claim(item, staff, TODAY, NOW)
        item.refresh_from_db()
        outcome = services.record_exception(
            item, staff, reason="hospital", note="Ward 7", until=TODAY + timedelta(days=5), today=TODAY, now=NOW
        )
        assert outcome.ok and outcome.message == "Exception recorded until Mon 30 Nov 2026."
        item.refresh_from_db()
        assert (item.state, item.exception_reason, item.excepted_by, item.claimed_by) == (
            "excepted",
            "hospital",
            staff,
            None,
        )
        last = audit_changes(item)[-1]
        assert last["exception_reason"] == [None, "hospital"]
        assert last["excepted_until"] == [None, "2026-11-30"]

    @pytest.mark.parametrize("days", [0, -3])
    def test_the_until_date_must_be_in_the_future(self, item, staff, days):
        outcome = services.record_exception(
            item, staff, reason="declines", note="", until=TODAY + timedelta(days=days), today=TODAY, now=NOW
        )
        assert (outcome.ok, outcome.message) == (False, "Until: choose a date after today.")
        item.refresh_from_db()
        assert item.state == "open"
        assert not ItemEvent.objects.filter(action="excepted").exists()


# Two real database connections -------------------------------------------------------

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL for two concurrent writers: DATABASE_URL=postgres://postgres@127.0.0.1:5432/worklist",
)


def in_thread(function, results, key):
    """Run ``function`` on a connection of the thread's own, closing it afterwards."""
    from django.db import connections

    def run():
        try:
            results[key] = function()
        except Exception as error:  # reported by the test
            results[key] = error
        finally:
            connections.close_all()

    return threading.Thread(target=run)


@needs_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_members_claiming_at_once_on_two_connections_one_wins_and_the_other_is_told_who(clinic, staff, manager):
    pump = pump_in_status(clinic, "overdue", TODAY)
    synced(clinic)
    item = refill_item(pump)
    first_has_claimed, results = threading.Event(), {}

    def manager_claims_and_holds():
        # Claim inside a transaction kept open until the staff member's claim is waiting on the row.
        with transaction.atomic():
            outcome = services.claim(item, manager, TODAY, NOW)
            first_has_claimed.set()
            time.sleep(0.5)
        return outcome

    def staff_claims():
        first_has_claimed.wait(5)
        return services.claim(item, staff, TODAY, NOW)

    threads = [
        in_thread(manager_claims_and_holds, results, "manager"),
        in_thread(staff_claims, results, "staff"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results["manager"].ok, results
    assert not results["staff"].ok
    assert results["staff"].message == f"{manager.get_full_name()} claimed this item first."
    item.refresh_from_db()
    assert item.claimed_by == manager
    assert ItemEvent.objects.filter(action="claimed").count() == 1


@needs_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_eight_claims_released_at_the_same_moment_have_exactly_one_winner(clinic):
    pump = pump_in_status(clinic, "overdue", TODAY)
    synced(clinic)
    item = refill_item(pump)
    members = [member(clinic, username=f"claimant-{n}") for n in range(8)]
    start, results = threading.Barrier(len(members)), {}

    def claimant(user):
        def claim():
            start.wait(5)
            return services.claim(item, user, TODAY, NOW)

        return claim

    threads = [in_thread(claimant(user), results, user.pk) for user in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    winners = [pk for pk, outcome in results.items() if outcome.ok]
    assert len(winners) == 1, results
    item.refresh_from_db()
    assert item.claimed_by_id == winners[0]
    assert ItemEvent.objects.filter(action="claimed").count() == 1
