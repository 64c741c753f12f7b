"""Implant from a trial (issue 16 item 4): booking the implant, then recording it with the
proposed starting dose that the clinician confirms (screening/views_implant.py)."""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from patients.models import Pump, PumpModel
from refills.models import Appointment, Refill
from screening.models import Candidate, StageMove
from tests.factories import AppointmentFactory
from tests.implant_data import at, make_candidate, responder, trial, two_trials

TODAY = date(2026, 1, 5)  # a Monday


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-01-05 12:00:00Z", tick=False):
        yield


def scheduled(clinic, make=responder, day=TODAY, **kwargs):
    """A candidate at "implant scheduled" since ``day``, with its implant appointment."""
    candidate = make(clinic, stage="implant_scheduled", **kwargs)
    candidate.stage_date = day
    candidate.save()
    AppointmentFactory(patient=candidate.patient, kind="implant", local_date=day, local_time=time(8, 30))
    return candidate


def implant_data(**overrides):
    values = {
        "pump-model": str(PumpModel.objects.get(code="synchromed-ii-20").pk),
        "pump-serial_number": "IMP1",
        "pump-implant_date": TODAY.isoformat(),
        "pump-reservoir_ml": "",
        "pump-alarm_volume_ml": "",
        "pump-eri_date": "",
        "fill-performed_on": TODAY.isoformat(),
        "fill-volume_added_ml": "20",
        "fill-volume_after_ml": "20",
        "fill-concentration_mcg_ml": "500",
        "fill-daily_dose_mcg": "100",
        "fill-dosing_mode": "simple",
        "fill-bolus_allowance_mcg": "0",
        "implant-confirm_starting_dose": "on",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


# Booking the implant ---------------------------------------------------------------------------


def test_booking_page_shows_the_proposal(client, manager, clinic):
    candidate = responder(clinic)
    client.force_login(manager)
    response = client.get(reverse("candidate_implant_book", args=[candidate.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "100 mcg/day" in text
    assert "twice the screening dose over 24 hours" in text
    assert 'name="kind"' not in text  # the kind is fixed: implant


def test_booking_the_implant_moves_the_stage(client, manager, clinic):
    candidate = responder(clinic)
    client.force_login(manager)
    response = client.post(
        reverse("candidate_implant_book", args=[candidate.pk]),
        {"local_date": "2026-01-14", "local_time": "08:30", "assigned_to": manager.pk, "notes": "Theatre 2"},
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get(patient=candidate.patient)
    assert (appointment.kind, appointment.status, appointment.pump) == ("implant", "scheduled", None)
    assert appointment.local_date == date(2026, 1, 14) and appointment.created_by == manager
    candidate.refresh_from_db()
    assert (candidate.stage, candidate.stage_date) == ("implant_scheduled", TODAY)
    move = candidate.moves.order_by("-pk").first()
    assert (move.stage, move.date, move.moved_by) == ("implant_scheduled", TODAY, manager)
    assert "Wed 14 Jan 2026" in move.note
    # Audited, with the member who did it.
    entry = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Candidate), object_pk=str(candidate.pk)
    ).order_by("-pk")[0]
    assert entry.actor == manager and "stage" in entry.changes_dict


def test_booking_in_the_past_saves_nothing(client, manager, clinic):
    candidate = responder(clinic)
    client.force_login(manager)
    response = client.post(
        reverse("candidate_implant_book", args=[candidate.pk]), {"local_date": "2026-01-02", "local_time": "08:30"}
    )
    assert response.status_code == 200
    assert "This date is in the past" in response.content.decode()
    assert not Appointment.objects.exists()
    candidate.refresh_from_db()
    assert candidate.stage == "trial_done"


@pytest.mark.parametrize("case", ["no_responder", "referred", "already_booked"])
def test_booking_refused(client, manager, clinic, case):
    if case == "no_responder":
        candidate = make_candidate(clinic, stage="trial_done", stage_date=date(2025, 12, 1))
        trial(candidate, at(date(2025, 12, 1)), outcome="non_responder", effective=False)
    elif case == "referred":
        candidate = make_candidate(clinic, stage="referred")
    else:
        candidate = scheduled(clinic)
    before = Appointment.objects.count()
    client.force_login(manager)
    url = reverse("candidate_implant_book", args=[candidate.pk])
    assert client.get(url).status_code == 302
    response = client.post(url, {"local_date": "2026-01-14", "local_time": "08:30"}, follow=True)
    assert Appointment.objects.count() == before
    assert response.context["messages"]


def test_staff_book_an_implant_but_may_not_record_it(client, staff, manager, clinic):
    candidate = responder(clinic)
    client.force_login(staff)
    page = client.get(reverse("candidate_implant_book", args=[candidate.pk]))
    assert page.status_code == 200
    # "Surgeon or clinician": managers and admins only.
    assert manager in page.context["form"].fields["assigned_to"].queryset
    assert staff not in page.context["form"].fields["assigned_to"].queryset
    response = client.post(
        reverse("candidate_implant_book", args=[candidate.pk]),
        {"local_date": "2026-01-14", "local_time": "08:30", "assigned_to": manager.pk, "notes": ""},
    )
    assert response.status_code == 302
    assert Appointment.objects.get(patient=candidate.patient).created_by == staff
    assert client.get(reverse("candidate_implant", args=[candidate.pk])).status_code == 403


# Recording the implant -------------------------------------------------------------------------


def test_implant_form_is_prefilled_with_the_proposal(client, manager, clinic):
    candidate = scheduled(clinic)
    client.force_login(manager)
    response = client.get(reverse("candidate_implant", args=[candidate.pk]))
    assert response.status_code == 200
    fill_form, confirm_form = response.context["fill_form"], response.context["confirm_form"]
    assert fill_form["daily_dose_mcg"].value() == "100"
    assert fill_form["performed_on"].value() == TODAY
    assert response.context["pump_form"]["implant_date"].value() == TODAY
    assert not confirm_form["confirm_starting_dose"].value()  # never ticked for the clinician
    text = response.content.decode()
    assert candidate.patient.full_name in text and candidate.patient.mrn in text
    assert "start at twice the screening dose over 24 hours, 100 mcg/day" in text


def test_second_trial_effective_for_more_than_8_hours_proposes_its_dose(client, manager, clinic):
    candidate = scheduled(clinic, make=two_trials)
    client.force_login(manager)
    response = client.get(reverse("candidate_implant", args=[candidate.pk]))
    assert response.context["fill_form"]["daily_dose_mcg"].value() == "75"
    assert "lasted more than 8 hours" in response.context["proposal"].reason


@pytest.mark.parametrize(("hours", "proposed"), [(8, "100"), (9, "50")])
def test_effect_at_the_8_hour_boundary(client, manager, clinic, hours, proposed):
    candidate = make_candidate(clinic, stage="implant_scheduled", stage_date=TODAY)
    trial(candidate, at(date(2025, 12, 1)), effect_until_hours=hours)
    client.force_login(manager)
    response = client.get(reverse("candidate_implant", args=[candidate.pk]))
    assert response.context["fill_form"]["daily_dose_mcg"].value() == proposed


def test_without_an_effective_responder_trial_nothing_is_proposed(client, manager, clinic):
    candidate = make_candidate(clinic, stage="implant_scheduled", stage_date=TODAY)
    trial(candidate, at(date(2025, 12, 1)), outcome="responder", effective=False)
    client.force_login(manager)
    response = client.get(reverse("candidate_implant", args=[candidate.pk]))
    assert response.context["fill_form"]["daily_dose_mcg"].value() is None
    assert "No proposal" in response.content.decode()


def test_implant_as_proposed(client, manager, clinic):
    candidate = scheduled(clinic)
    client.force_login(manager)
    response = client.post(reverse("candidate_implant", args=[candidate.pk]), implant_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("patient_detail", args=[candidate.patient_id])
    pump = Pump.objects.get(serial_number="IMP1")
    assert pump.patient_id == candidate.patient_id and pump.status == "active"
    fill = pump.refills.get()
    assert fill.is_initial_fill and fill.daily_dose_mcg == Decimal(100) and fill.performed_by == manager
    assert pump.refill_due is not None  # the pump's dates written by the service
    candidate.refresh_from_db()
    assert (candidate.stage, candidate.stage_date) == ("implanted", TODAY)
    move = candidate.moves.order_by("-pk").first()
    assert move.stage == "implanted" and move.moved_by == manager
    assert "IMP1" in move.note and "100 mcg/day" in move.note and "as proposed" in move.note
    appointment = Appointment.objects.get(patient=candidate.patient, kind="implant")
    assert appointment.status == "completed"


def test_the_clinician_may_change_the_proposed_dose(client, manager, clinic):
    candidate = scheduled(clinic)
    client.force_login(manager)
    response = client.post(
        reverse("candidate_implant", args=[candidate.pk]), implant_data(**{"fill-daily_dose_mcg": "80"})
    )
    assert response.status_code == 302
    assert Refill.objects.get(pump__serial_number="IMP1").daily_dose_mcg == Decimal(80)
    note = StageMove.objects.filter(candidate=candidate, stage="implanted").get().note
    assert "80 mcg/day" in note and "proposed 100 mcg/day" in note


def assert_nothing_saved(candidate):
    assert not Pump.objects.filter(patient=candidate.patient).exists()
    assert not Refill.objects.exists()
    candidate.refresh_from_db()
    assert candidate.stage == "implant_scheduled"
    assert not candidate.moves.filter(stage="implanted").exists()
    assert Appointment.objects.get(patient=candidate.patient, kind="implant").status == "scheduled"


def test_without_the_tick_nothing_is_saved(client, manager, clinic):
    candidate = scheduled(clinic)
    client.force_login(manager)
    response = client.post(
        reverse("candidate_implant", args=[candidate.pk]), implant_data(**{"implant-confirm_starting_dose": None})
    )
    assert response.status_code == 200
    assert "Tick to confirm the starting daily dose" in response.content.decode()
    assert_nothing_saved(candidate)


def test_bad_fill_saves_nothing_even_when_ticked(client, manager, clinic):
    candidate = scheduled(clinic)
    client.force_login(manager)
    response = client.post(
        reverse("candidate_implant", args=[candidate.pk]),
        implant_data(**{"fill-volume_after_ml": "25", "fill-volume_added_ml": "25"}),
    )
    assert response.status_code == 200
    assert "at most the 20" in response.content.decode()
    assert_nothing_saved(candidate)


def test_implant_date_before_it_was_scheduled_is_refused(client, manager, clinic):
    candidate = scheduled(clinic)
    client.force_login(manager)
    earlier = (TODAY - timedelta(days=1)).isoformat()
    response = client.post(
        reverse("candidate_implant", args=[candidate.pk]),
        implant_data(**{"pump-implant_date": earlier, "fill-performed_on": earlier}),
    )
    assert response.status_code == 200
    assert "cannot be before the implant was scheduled" in response.content.decode()
    assert_nothing_saved(candidate)


def test_one_transaction_a_refused_stage_move_leaves_no_pump(client, manager, clinic, monkeypatch):
    from screening import services
    from screening.services import StageMoveRefused

    def refuse(*args, **kwargs):
        raise StageMoveRefused("refused for the test")

    monkeypatch.setattr(services, "move_stage", refuse)
    candidate = scheduled(clinic)
    client.force_login(manager)
    response = client.post(reverse("candidate_implant", args=[candidate.pk]), implant_data())
    assert response.status_code == 200
    assert "refused for the test" in response.content.decode()
    assert_nothing_saved(candidate)


def test_implant_page_refused_before_the_implant_is_scheduled(client, manager, clinic):
    candidate = responder(clinic)
    client.force_login(manager)
    assert client.get(reverse("candidate_implant", args=[candidate.pk])).status_code == 302
    client.post(reverse("candidate_implant", args=[candidate.pk]), implant_data())
    assert not Pump.objects.exists()


def test_implanted_candidate_cannot_be_implanted_again(client, manager, clinic):
    candidate = scheduled(clinic)
    client.force_login(manager)
    client.post(reverse("candidate_implant", args=[candidate.pk]), implant_data())
    response = client.post(
        reverse("candidate_implant", args=[candidate.pk]), implant_data(**{"pump-serial_number": "IMP2"})
    )
    assert response.status_code == 302
    assert Pump.objects.filter(patient=candidate.patient).count() == 1


def test_the_candidate_pages_implant_section_reads_three_rows(clinic, django_assert_num_queries):
    from screening import implant

    candidate = scheduled(clinic)
    with django_assert_num_queries(3):
        panel = implant.panel(candidate)
    assert panel.proposal.daily_dose_mcg == Decimal(100)
    assert panel.appointment is not None and not panel.may_schedule and panel.may_implant


def test_booking_on_a_weekend_or_with_an_absent_member_needs_a_tick(client, manager, clinic):
    from clinic.models import Membership
    from scheduling.models import Absence

    candidate = responder(clinic)
    Absence.objects.create(
        clinic=clinic,
        member=Membership.objects.get(user=manager, clinic=clinic),
        first_day=date(2026, 1, 14),
        last_day=date(2026, 1, 14),
    )
    client.force_login(manager)
    url = reverse("candidate_implant_book", args=[candidate.pk])
    saturday = client.post(url, {"local_date": "2026-01-10", "local_time": "08:30"})
    assert "is not a working day of the clinic" in saturday.content.decode()
    away = client.post(url, {"local_date": "2026-01-14", "local_time": "08:30", "assigned_to": manager.pk})
    assert "is away on Wed 14 Jan 2026" in away.content.decode()
    assert not Appointment.objects.exists()
    ticked = client.post(
        url,
        {"local_date": "2026-01-14", "local_time": "08:30", "assigned_to": manager.pk, "confirm_member_absent": "on"},
    )
    assert ticked.status_code == 302 and Appointment.objects.get().kind == "implant"


def test_candidate_page_offers_the_next_implant_step_by_role(client, manager, staff, clinic):
    ready = responder(clinic)
    booked = scheduled(clinic)
    client.force_login(manager)
    text = client.get(reverse("candidate_detail", args=[ready.pk])).content.decode()
    assert reverse("candidate_implant_book", args=[ready.pk]) in text and "100 mcg/day" in text
    text = client.get(reverse("candidate_detail", args=[booked.pk])).content.decode()
    assert reverse("candidate_implant", args=[booked.pk]) in text and "Implant booked for" in text
    client.force_login(staff)
    text = client.get(reverse("candidate_detail", args=[ready.pk])).content.decode()
    assert "100 mcg/day" in text and reverse("candidate_implant_book", args=[ready.pk]) in text
    text = client.get(reverse("candidate_detail", args=[booked.pk])).content.decode()
    assert reverse("candidate_implant", args=[booked.pk]) not in text


def test_implanted_candidate_page_links_the_titration(client, manager, clinic):
    candidate = scheduled(clinic)
    client.force_login(manager)
    client.post(reverse("candidate_implant", args=[candidate.pk]), implant_data())
    text = client.get(reverse("candidate_detail", args=[candidate.pk])).content.decode()
    assert reverse("patient_detail", args=[candidate.patient_id]) + "#titration" in text
    assert reverse("candidate_implant", args=[candidate.pk]) not in text


def test_implant_page_for_a_scheduled_candidate_only(clinic):
    from screening.implant import implant_page_for
    from tests.factories import PatientFactory

    booked = scheduled(clinic)
    assert implant_page_for(booked.patient) == reverse("candidate_implant", args=[booked.pk])
    assert implant_page_for(responder(clinic).patient) is None  # not scheduled yet
    assert implant_page_for(PatientFactory(clinic=clinic)) is None  # not a candidate


def test_the_pump_create_page_sends_a_scheduled_candidate_to_the_implant_page(client, manager, clinic):
    booked = scheduled(clinic)
    client.force_login(manager)
    url = reverse("pump_create", args=[booked.patient_id])
    for response in (client.get(url), client.post(url, {})):
        assert response.status_code == 302
        assert response["Location"] == reverse("candidate_implant", args=[booked.pk])
    assert not Pump.objects.exists()


@pytest.mark.parametrize("stage", ["referred", "assessed", "trial_scheduled", "trial_done"])
def test_the_pump_create_page_refuses_an_open_candidate_before_the_implant_is_scheduled(client, manager, clinic, stage):
    candidate = responder(clinic, stage=stage)
    client.force_login(manager)
    url = reverse("pump_create", args=[candidate.patient_id])
    post = client.post(url, implant_data(**{"implant-confirm_starting_dose": None}), follow=True)
    assert post.redirect_chain[0] == (reverse("candidate_detail", args=[candidate.pk]), 302)
    assert "the implant is booked and recorded from the candidate page" in post.content.decode()
    assert client.get(url)["Location"] == reverse("candidate_detail", args=[candidate.pk])
    assert not Pump.objects.exists()
    candidate.refresh_from_db()
    assert candidate.stage == stage


def test_the_patient_page_offers_the_candidate_page_not_the_generic_implant(client, manager, clinic):
    candidate = responder(clinic)
    client.force_login(manager)
    page = client.get(reverse("patient_detail", args=[candidate.patient_id])).content.decode()
    assert reverse("pump_create", args=[candidate.patient_id]) not in page
    assert "Candidate page (implant)" in page
    candidate.stage, candidate.closed_reason = "closed", "declined"
    candidate.save()
    page = client.get(reverse("patient_detail", args=[candidate.patient_id])).content.decode()
    assert reverse("pump_create", args=[candidate.patient_id]) in page  # closed: the generic page again


def test_an_implant_booked_for_a_later_day_is_flagged_and_its_booking_cancelled_when_recorded(client, manager, clinic):
    booked = scheduled(clinic)
    appointment = Appointment.objects.get(patient=booked.patient)
    appointment.local_date = TODAY + timedelta(days=3)  # Thu 8 Jan 2026
    appointment.save()
    client.force_login(manager)
    url = reverse("candidate_implant", args=[booked.pk])
    page = client.get(url).content.decode()
    assert "The implant is booked for Thu 8 Jan 2026: record it on the day." in page
    response = client.post(url, implant_data(), follow=True)
    assert "The implant booked for Thu 8 Jan 2026 was cancelled: the implant was recorded on Mon 5 Jan 2026." in (
        response.content.decode()
    )
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED  # never "completed" ahead of its day
    assert Pump.objects.get(patient=booked.patient).implant_date == TODAY


def test_without_the_tick_the_error_summary_names_the_confirmation(client, manager, clinic):
    booked = scheduled(clinic)
    client.force_login(manager)
    response = client.post(
        reverse("candidate_implant", args=[booked.pk]), implant_data(**{"implant-confirm_starting_dose": None})
    )
    summary = response.content.decode().split('data-testid="error-summary"')[1].split("</div>")[0]
    assert "Tick to confirm the starting daily dose" in summary


def test_the_candidates_clinician_becomes_the_pump_manager_when_none_is_set(client, manager, staff, clinic):
    booked = scheduled(clinic, clinician=manager)
    client.force_login(manager)
    client.post(reverse("candidate_implant", args=[booked.pk]), implant_data())
    booked.patient.refresh_from_db()
    assert booked.patient.manager == manager
    # A staff clinician is not a pump manager: the patient keeps none.
    other = scheduled(clinic, clinician=staff)
    client.post(reverse("candidate_implant", args=[other.pk]), implant_data(**{"pump-serial_number": "IMP2"}))
    other.patient.refresh_from_db()
    assert Pump.objects.filter(patient=other.patient).exists() and other.patient.manager is None
