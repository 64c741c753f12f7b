"""Deleting a screening trial recorded in error: a confirmation page, managers only, audited,
moving the candidate back when no other trial supports its stage
(cancelling the implant booked on the only responder), refused once implanted; another clinic's trial is a 404."""

from datetime import date, datetime, time

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from refills.models import Appointment
from screening import services
from screening.models import ScreeningTrial, Stage, StageMove
from tests.factories import AppointmentFactory
from tests.screening_data import LONDON, make_candidate, make_trial


def a_trial(clinic, stage):
    """The conftest's trial, its candidate at ``stage``."""
    candidate = make_candidate(clinic, stage=stage, referral_date=date(2026, 10, 1), stage_date=date(2026, 11, 3))
    return make_trial(candidate, given_at=datetime(2026, 11, 3, 9, 15, tzinfo=LONDON), dose="50")


def test_a_manager_confirms_then_deletes_and_it_is_audited(client, manager, trial):
    client.force_login(manager)
    url = reverse("trial_delete", args=[trial.pk])
    assert (
        reverse("trial_delete", args=[trial.pk])
        in client.get(reverse("trial_detail", args=[trial.pk])).content.decode()
    )
    page = client.get(url).content.decode()
    assert "Delete the screening trial of Tue 3 Nov 2026 09:15?" in page
    assert ScreeningTrial.objects.filter(pk=trial.pk).exists()  # the page alone deletes nothing
    assert client.post(url).status_code == 200  # without the page's confirmation: the page again
    assert ScreeningTrial.objects.filter(pk=trial.pk).exists()
    response = client.post(url, {"confirm": "yes"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("candidate_detail", args=[trial.candidate_id])
    assert "The trial of Tue 3 Nov 2026 09:15 was deleted" in response.content.decode()
    assert not ScreeningTrial.objects.filter(pk=trial.pk).exists()
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(ScreeningTrial),
        object_pk=str(trial.pk),
        action=LogEntry.Action.DELETE,
    )
    assert entry.actor == manager


def with_history(clinic, *stages, stage_date=date(2026, 11, 3)):
    """A candidate that went through ``stages`` (the last is the current one), a move a day."""
    candidate = make_candidate(clinic, stage=stages[-1], referral_date=date(2026, 10, 1), stage_date=stage_date)
    StageMove.objects.filter(candidate=candidate).exclude(stage=Stage.REFERRED).delete()
    for n, stage in enumerate(stages):
        StageMove.objects.create(candidate=candidate, stage=stage, date=date(2026, 10, 2 + n))
    return candidate


def at(day, hour=9):
    return datetime(2026, 11, day, hour, 15, tzinfo=LONDON)


def delete(client, trial):
    return client.post(reverse("trial_delete", args=[trial.pk]), {"confirm": "yes"}, follow=True)


def test_the_only_trial_deleted_moves_trial_done_back_to_the_stage_before_it(client, manager, clinic):
    candidate = with_history(clinic, Stage.ASSESSED, Stage.TRIAL_SCHEDULED, Stage.TRIAL_DONE)
    trial = make_trial(candidate, given_at=at(3))
    client.force_login(manager)
    page = client.get(reverse("trial_delete", args=[trial.pk])).content.decode()
    assert "Deleting this trial moves the candidate back to Trial scheduled</strong>" in page
    response = delete(client, trial)
    assert "The candidate moved back to trial scheduled." in response.content.decode()
    candidate.refresh_from_db()
    assert (candidate.stage, candidate.stage_date) == (Stage.TRIAL_SCHEDULED, date(2026, 11, 25))
    last = candidate.moves.last()
    assert (last.stage, last.date, last.moved_by) == (Stage.TRIAL_SCHEDULED, date(2026, 11, 25), manager)
    assert last.note == "Trial of Tue 3 Nov 2026 09:15 deleted (recorded in error)"
    assert LogEntry.objects.filter(content_type__model="stagemove", object_pk=str(last.pk), actor=manager).exists()


def test_a_trial_recorded_straight_after_referral_moves_back_to_referred(manager, clinic):
    candidate = make_candidate(
        clinic, stage=Stage.TRIAL_DONE, referral_date=date(2026, 10, 1), stage_date=date(2026, 11, 3)
    )
    trial = make_trial(candidate, given_at=at(3))
    services.delete_trial(trial, by=manager, on=date(2026, 11, 25))
    candidate.refresh_from_db()
    assert candidate.stage == Stage.REFERRED


def test_another_trial_keeps_the_candidate_at_trial_done(client, manager, clinic):
    candidate = with_history(clinic, Stage.TRIAL_SCHEDULED, Stage.TRIAL_DONE)
    make_trial(candidate, given_at=at(3), outcome="non_responder")
    trial = make_trial(candidate, given_at=at(5), dose="75")
    client.force_login(manager)
    page = client.get(reverse("trial_delete", args=[trial.pk])).content.decode()
    assert "The candidate stays at the stage Trial done." in page and "moves the candidate back" not in page
    delete(client, trial)
    candidate.refresh_from_db()
    assert (candidate.stage, candidate.moves.count()) == (Stage.TRIAL_DONE, 3)


def test_the_only_responder_deleted_moves_implant_scheduled_back_and_cancels_the_implant(client, manager, clinic):
    candidate = with_history(clinic, Stage.TRIAL_SCHEDULED, Stage.TRIAL_DONE, Stage.IMPLANT_SCHEDULED)
    make_trial(candidate, given_at=at(3), outcome="non_responder")
    trial = make_trial(candidate, given_at=at(5), dose="75")
    booked = AppointmentFactory(
        patient=candidate.patient, kind="implant", local_date=date(2026, 12, 5), local_time=time(8, 30)
    )
    client.force_login(manager)
    page = client.get(reverse("trial_delete", args=[trial.pk])).content.decode()
    assert "Deleting this trial moves the candidate back to Trial done</strong>" in page
    assert "and cancels the implant booked for Sat 5 Dec 2026 08:30" in page
    assert "Delete this trial and cancel the implant" in page
    response = delete(client, trial)
    assert "The implant booked for Sat 5 Dec 2026 08:30 was cancelled." in response.content.decode()
    candidate.refresh_from_db()
    booked.refresh_from_db()
    assert (candidate.stage, booked.status) == (Stage.TRIAL_DONE, Appointment.Status.CANCELLED)
    assert candidate.moves.last().note == (
        "Trial of Thu 5 Nov 2026 09:15 deleted (recorded in error); implant booked for Sat 5 Dec 2026 08:30 cancelled"
    )


def test_another_responder_keeps_the_implant_booked(manager, clinic):
    candidate = with_history(clinic, Stage.TRIAL_DONE, Stage.IMPLANT_SCHEDULED)
    make_trial(candidate, given_at=at(3))
    trial = make_trial(candidate, given_at=at(5), dose="75")
    booked = AppointmentFactory(patient=candidate.patient, kind="implant", local_date=date(2026, 12, 5))
    plan = services.delete_trial(trial, by=manager, on=date(2026, 11, 25))
    candidate.refresh_from_db()
    booked.refresh_from_db()
    assert (plan.back_to, candidate.stage, booked.status) == (None, Stage.IMPLANT_SCHEDULED, "scheduled")


def test_refused_once_the_implant_is_recorded(client, manager, clinic):
    trial = a_trial(clinic, stage=Stage.IMPLANTED)
    client.force_login(manager)
    page = client.get(reverse("trial_delete", args=[trial.pk])).content.decode()
    assert "The implant was recorded from these trials" in page and 'name="confirm"' not in page
    response = delete(client, trial)
    assert "The implant was recorded from these trials (the candidate is implanted)" in response.content.decode()
    assert ScreeningTrial.objects.filter(pk=trial.pk).exists()
    assert trial.candidate.moves.count() == 2


def test_access(client, staff, outsider, trial):
    url = reverse("trial_delete", args=[trial.pk])
    client.force_login(staff)
    assert client.get(url).status_code == 403 and client.post(url, {"confirm": "yes"}).status_code == 403
    assert (
        reverse("trial_delete", args=[trial.pk])
        not in client.get(reverse("trial_detail", args=[trial.pk])).content.decode()
    )
    client.force_login(outsider)
    assert client.post(url, {"confirm": "yes"}).status_code == 404
    assert ScreeningTrial.objects.filter(pk=trial.pk).exists()
