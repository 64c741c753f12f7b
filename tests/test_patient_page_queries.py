"""The patient page's queries on a realistic patient: a pump in danger with fills, program
changes, a refill awaiting review, appointments, an earlier explanted pump, a screening
candidate's history and titration reviews. At most PATIENT_PAGE_QUERIES (the benchmark
allows 12: bench/measure.py MAX_QUERIES), and everything the page shows still there."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine

from refills import schedule
from screening.models_titration import TitrationReview
from tests.dashboard_data import FROZEN, REFILL_AGO, TODAY
from tests.factories import AppointmentFactory, PatientFactory, ProgramChangeFactory, PumpFactory, RefillFactory
from tests.page_queries import logged_in
from tests.screening_data import make_candidate, make_trial

pytestmark = pytest.mark.django_db

# The session, user, two-factor and membership lookups (4); the patient with its manager and
# candidate (1); every pump of the patient with its status (1: the implanted one was a second
# query); fills, program changes and appointments (3); the titration reviews (1); the latest
# audit entries (1). The danger banner's phone no longer reads the patient again (it was 13).
PATIENT_PAGE_QUERIES = 11


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def rich_patient(clinic, manager):
    """An invented patient with everything the page shows; the implanted pump is overdue today."""
    patient = PatientFactory(clinic=clinic, manager=manager, phone="+44 20 7946 0999", mrn="PERF-0001")
    old = PumpFactory(patient=patient, serial_number="OLD-0001", implant_date=TODAY - timedelta(days=3000))
    RefillFactory(pump=old, performed_on=TODAY - timedelta(days=3000), is_initial_fill=True)
    old.status, old.explant_date = "explanted", TODAY - timedelta(days=500)
    old.save()
    candidate = make_candidate(
        clinic,
        patient=patient,
        stage="implanted",
        referral_date=TODAY - timedelta(days=560),
        stage_date=TODAY - timedelta(days=500),
        clinician=manager,
    )
    make_trial(candidate, given_at=datetime(2024, 9, 20, 9, 0, tzinfo=UTC))
    pump = PumpFactory(patient=patient, serial_number="NEW-0002", implant_date=TODAY - timedelta(days=500))
    first = TODAY - timedelta(days=500)
    RefillFactory(pump=pump, performed_on=first, is_initial_fill=True, daily_dose_mcg=Decimal(300))
    for n, ago in enumerate((400, 300, 200)):
        RefillFactory(pump=pump, performed_on=TODAY - timedelta(days=ago), volume_removed_ml=Decimal(2))
        ProgramChangeFactory(pump=pump, performed_on=TODAY - timedelta(days=ago - 5), daily_dose_mcg=350 + 25 * n)
        AppointmentFactory(patient=patient, pump=pump, local_date=TODAY - timedelta(days=ago), status="completed")
    # The last refill's residual differs from the projection: awaiting review; overdue today.
    RefillFactory(
        pump=pump, performed_on=TODAY - timedelta(days=REFILL_AGO[schedule.OVERDUE]), volume_removed_ml=Decimal(18)
    )
    AppointmentFactory(patient=patient, pump=pump, local_date=TODAY - timedelta(days=3), status="cancelled")
    AppointmentFactory(patient=patient, pump=pump, local_date=TODAY + timedelta(days=6), local_time=time(9, 30))
    AppointmentFactory(patient=patient, pump=pump, kind="review", local_date=TODAY + timedelta(days=20))
    for ago, score in ((450, "3"), (350, "2"), (250, "1+")):
        TitrationReview.objects.create(
            pump=pump,
            reviewed_on=TODAY - timedelta(days=ago),
            mas={"hip_adductors_l": score, "hip_adductors_r": "2"},
            penn_score=2,
            reviewed_by=manager,
        )
    pump.refresh_from_db()
    return patient


@pytest.mark.parametrize("role", ["staff", "manager", "admin_user"])
def test_the_patient_page_runs_at_most_11_queries(client, rich_patient, role, request, django_assert_max_num_queries):
    logged_in(client, request.getfixturevalue(role))
    with django_assert_max_num_queries(PATIENT_PAGE_QUERIES):
        response = client.get(f"/patients/{rich_patient.pk}/")
    assert response.status_code == 200


def test_the_patient_page_still_shows_everything(client, rich_patient, manager, django_assert_max_num_queries):
    logged_in(client, manager)
    with django_assert_max_num_queries(PATIENT_PAGE_QUERIES):
        response = client.get(f"/patients/{rich_patient.pk}/")
    html = response.content.decode()
    context = response.context

    # The implanted pump, with its status, booking and next visit (the annotations of with_status).
    pump = context["pump"]
    assert pump.serial_number == "NEW-0002" and pump.status == "active"
    assert pump.status_now == schedule.OVERDUE
    assert pump.booking == "late" and pump.next_appointment_date == TODAY + timedelta(days=6)
    assert pump.next_appointment_kind == "refill"
    assert 'badge-overdue badge-wraps">Refill schedule: Overdue' in html
    # Every pump, newest implant first, the explanted one listed too.
    assert [p.serial_number for p in context["pumps"]] == ["NEW-0002", "OLD-0001"]
    assert context["pumps"][0] is pump
    # The danger banners: the overdue pump (with the patient's phone) and the refills awaiting review.
    assert [b.tone for b in context["danger_banners"]] == ["overdue", "over_delivery", "under_delivery"]
    assert "+44 20 7946 0999" in html
    # Program, chart, upcoming visits, timeline.
    assert context["program"] is not None and context["chart"]
    assert [(a.kind, a.local_date) for a in context["upcoming"]] == [
        ("refill", TODAY + timedelta(days=6)),
        ("review", TODAY + timedelta(days=20)),
    ]
    kinds = [e.kind for e in context["timeline"]]
    assert kinds.count("refill") == 6 and kinds.count("program_change") == 3
    assert kinds.count("implant") == 2 and kinds.count("explant") == 1
    # The candidate's card and the titration section with its three reviews.
    assert "Candidate for a pump" in html and "Dr Invented, neurology" in html
    assert 'id="titration' in html
    assert html.count("1+") >= 1
    assert len(context["audit_entries"]) == 5


def test_a_patient_without_a_pump_has_no_pump_section(client, clinic, manager, django_assert_max_num_queries):
    patient = PatientFactory(clinic=clinic, manager=manager)
    make_candidate(clinic, patient=patient, referral_date=date(2026, 3, 1))
    logged_in(client, manager)
    with django_assert_max_num_queries(PATIENT_PAGE_QUERIES):
        response = client.get(f"/patients/{patient.pk}/")
    assert response.context["pump"] is None and response.context["pumps"] == []
    assert "No implanted pump" in response.content.decode()
