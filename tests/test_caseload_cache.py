"""The cached caseload numbers (clinic.caseload_cache): counted once per change, never
stale after a committed change, per clinic, per day, and never a failed page."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache, caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic import caseload_cache
from clinic.models import Membership
from patients.models import Pump
from refills import schedule
from refills.models import Appointment
from tests.dashboard_data import FROZEN, TODAY, book_refill, flagged_refill, pump_with_status
from tests.factories import ProgramChangeFactory

pytestmark = pytest.mark.django_db

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "caseload-tests"}}


@pytest.fixture(autouse=True)
def real_cache(settings):
    settings.CACHES = LOCMEM  # the test settings use no cache (their transactions never commit)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def overdue(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return pump_with_status(clinic, schedule.OVERDUE)


def today_counts(client):
    return client.get(reverse("home")).context["counts"]


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    return len(queries)


def test_a_second_visit_reuses_the_counts(client, staff, overdue):
    client.force_login(staff)
    client.get(reverse("home"))  # the session's first request does more
    cache.clear()
    counting = count_queries(client)
    assert (
        count_queries(client) == counting - 2
    )  # the pump counts, the review counts with the worklist's standing check
    assert today_counts(client)["overdue"] == 1


def test_a_committed_refill_booking_shows_at_once(client, staff, clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pump = pump_with_status(clinic, schedule.DUE_SOON)
    client.force_login(staff)
    assert today_counts(client)["due_soon_unbooked"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("appointment_create", args=[pump.patient.pk]),
            {"kind": "refill", "local_date": str(pump.refill_due), "local_time": "09:00"},
        )
    assert response.status_code == 302
    assert today_counts(client)["due_soon_unbooked"] == 0


def _book(pump):
    book_refill(pump, TODAY + timedelta(days=3))


def _cancel(pump):
    appointment = book_refill(pump, TODAY + timedelta(days=3))
    appointment.status = Appointment.Status.CANCELLED
    appointment.save()


def _refill(pump):
    flagged_refill(pump.clinic)


def _program_change(pump):
    ProgramChangeFactory(pump=pump, performed_on=TODAY)


def _pump_edit(pump):
    pump.status = Pump.Status.EXPLANTED
    pump.explant_date = TODAY
    pump.save()


def _patient_edit(pump):
    pump.patient.status = "transferred"
    pump.patient.save()


def _clinic_settings(pump):
    pump.clinic.buffer_days = 0
    pump.clinic.save()


def _membership(pump):
    Membership.objects.filter(clinic=pump.clinic).first().delete()


@pytest.mark.parametrize(
    "change",
    [
        _book,
        _cancel,
        _refill,
        _program_change,
        _pump_edit,
        _patient_edit,
        _clinic_settings,
        _membership,
    ],
)
def test_every_kind_of_change_invalidates_after_commit(
    client, staff, overdue, change, django_capture_on_commit_callbacks
):
    before = caseload_cache.version(overdue.clinic_id)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        change(overdue)
    assert caseload_cache.version(overdue.clinic_id) == before  # not before the commit
    assert callbacks
    for callback in callbacks:
        callback()
    assert caseload_cache.version(overdue.clinic_id) != before


def test_deleting_an_appointment_invalidates_after_commit(overdue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _book(overdue)
    before = caseload_cache.version(overdue.clinic_id)
    with django_capture_on_commit_callbacks(execute=True):
        Appointment.objects.filter(pump=overdue).delete()
    assert caseload_cache.version(overdue.clinic_id) != before


def test_a_rolled_back_change_keeps_the_cache(overdue):
    before = caseload_cache.version(overdue.clinic_id)
    with pytest.raises(RuntimeError), transaction.atomic():
        _book(overdue)
        raise RuntimeError
    # The callbacks of the rolled-back block were discarded with it.
    assert caseload_cache.version(overdue.clinic_id) == before


def test_another_clinics_change_keeps_this_clinics_cache(overdue, other_clinic, django_capture_on_commit_callbacks):
    before = caseload_cache.version(overdue.clinic_id)
    with django_capture_on_commit_callbacks(execute=True):
        pump_with_status(other_clinic, schedule.EMPTY)
    assert caseload_cache.version(overdue.clinic_id) == before


def test_the_next_day_counts_again(client, staff, clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pump = pump_with_status(clinic, schedule.DUE_SOON)
    client.force_login(staff)
    assert today_counts(client)["overdue"] == 0
    days = (pump.refill_due - TODAY).days + 1
    with time_machine.travel(datetime(2026, 4, 1, 12, tzinfo=UTC) + timedelta(days=days), tick=False):
        client.force_login(staff)  # the session has expired
        assert today_counts(client)["overdue"] == 1


def test_each_user_has_their_own_counts(client, staff, manager, clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pump_with_status(clinic, schedule.OVERDUE, manager=manager)
    client.force_login(manager)
    assert today_counts(client)["my_overdue"] == 1
    client.force_login(staff)
    assert today_counts(client)["my_overdue"] == 0


def test_a_lost_version_never_brings_back_older_counts(client, staff, overdue):
    client.force_login(staff)
    assert today_counts(client)["overdue"] == 1
    # A change the signals did not see (a queryset update), then the version is evicted.
    Pump.objects.filter(pk=overdue.pk).update(status=Pump.Status.EXPLANTED)
    cache.delete(f"caseload-version:{overdue.clinic_id}")
    assert today_counts(client)["overdue"] == 0


def test_counts_expire_even_without_a_signal(client, staff, overdue, settings):
    settings.CASELOAD_CACHE_SECONDS = 60
    client.force_login(staff)
    assert today_counts(client)["overdue"] == 1
    Pump.objects.filter(pk=overdue.pk).update(status=Pump.Status.EXPLANTED)  # sends no signal
    assert today_counts(client)["overdue"] == 1  # within the bound
    with time_machine.travel(datetime(2026, 4, 1, 10, 1, 1, tzinfo=UTC), tick=False):  # FROZEN + 61 s
        assert today_counts(client)["overdue"] == 0


def test_a_broken_cache_still_serves_the_page(client, staff, overdue, monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    backend = caches["default"]
    monkeypatch.setattr(backend, "get", down)
    monkeypatch.setattr(backend, "set", down)
    client.force_login(staff)
    assert today_counts(client)["overdue"] == 1
    assert "caseload cache unavailable" in caplog.text
    assert overdue.patient.last_name not in caplog.text


def test_the_caseload_total_is_counted_once_per_change(
    client, staff, clinic, overdue, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    url = reverse("caseload")
    assert client.get(url).context["table"].page.paginator.count == 1
    with CaptureQueriesContext(connection) as counted:
        client.get(url)
    cache.clear()
    with CaptureQueriesContext(connection) as counting:
        client.get(url)
    assert len(counted) == len(counting) - 1
    with django_capture_on_commit_callbacks(execute=True):
        pump_with_status(clinic, schedule.OK)
    assert client.get(url).context["table"].page.paginator.count == 2
    # A filter is a list of its own, with its own total.
    assert client.get(url, {"status": schedule.OK}).context["table"].page.paginator.count == 1


def test_an_import_invalidates_once_whatever_its_size(clinic, django_capture_on_commit_callbacks):
    from imports.importer import run_import
    from tests.test_command_import_caseload import GOOD_ROWS, NOW, csv_text

    before = caseload_cache.version(clinic.pk)
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = run_import(clinic, csv_text(GOOD_ROWS))
    assert result.applied and len(callbacks) == 1
    assert caseload_cache.version(clinic.pk) != before
    # Saves after the import mark their clinic again.
    with django_capture_on_commit_callbacks() as callbacks:
        pump_with_status(clinic, schedule.OK)
    assert callbacks
