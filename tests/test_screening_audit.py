"""Candidates, stage moves and trials on the patient's audit trail, in the clinic's words:
the candidate by its patient, muscle groups by name, the scores at each time point."""

import re
from datetime import date

from django.urls import reverse

from clinic.audit import acting_as
from screening import services
from screening.models import Stage
from tests.screening_data import make_candidate, make_trial


def history_text(client, patient) -> str:
    html = client.get(reverse("patient_history", args=[patient.pk])).content.decode()
    table = html[html.find("<table") : html.find("</table>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table)).replace("&#x27;", "'")


def test_the_screening_steps_read_in_words(client, clinic, manager):
    with acting_as(manager):
        candidate = make_candidate(clinic, referral_date=date(2026, 10, 1), clinician=manager)
        services.move_stage(candidate, Stage.ASSESSED, on=date(2026, 10, 5), by=manager)
        trial = make_trial(candidate)
        trial.outcome = "inconclusive"
        trial.save()
    client.force_login(manager)
    text = history_text(client, candidate.patient)
    name = str(candidate.patient)
    assert f"Candidate: {name}" in text and "Candidate: Candidate" not in text
    assert "Stage: Referred → Assessed" in text and "Cause of spasticity: Multiple sclerosis" in text
    assert "Screening trial: 50 mcg on Mon 5 Oct 2026" in text
    assert "MAS before the dose: Hip adductors, left 3; Hip adductors, right 3;" in text
    assert "MAS after the dose: 2 h: Hip adductors, left 1, Hip adductors, right 1+," in text
    assert "; 8 h: Hip adductors, left 3," in text
    assert "Outcome: Responder → Inconclusive" in text
    assert "hip_adductors" not in text and "{" not in text  # no codes, no raw JSON
