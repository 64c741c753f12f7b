"""A manager refers a new candidate, moves them to a scheduled trial, records a responder
trial on the MAS grid (no JavaScript needed), reads the trial summary and the candidate page,
and finds the candidate on the pipeline; every page at 1366 and 390 px, axe clean."""

import re
from datetime import timedelta

import pytest

from screening.models import Candidate, Cause, Stage
from tests.browser.conftest import login, screenshot, serious_violations
from tests.screening_data import make_candidate

pytestmark = pytest.mark.browser
WIDTHS = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}


def check_widths(page, name):
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        assert not serious_violations(page), name
        # Nothing wider than the screen but the scrolling tables (the grid scrolls sideways on a phone).
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} at {width} px is {overflow} px too wide"
        screenshot(page, f"screening-{name}-{width}")
    page.set_viewport_size(WIDTHS["1366"])


def test_a_manager_takes_a_candidate_from_referral_to_a_responder_trial(page, clinic, manager):
    today = clinic.today()
    # Others in the pipeline, so the list reads like a clinic's.
    make_candidate(clinic, mrn="SCR-OLD", last_name="Waiting", referral_date=today - timedelta(days=60))
    make_candidate(
        clinic,
        mrn="SCR-SCI",
        last_name="Spinal",
        stage=Stage.TRIAL_SCHEDULED,
        referral_date=today - timedelta(days=20),
        stage_date=today - timedelta(days=3),
        cause=Cause.SPINAL_CORD_INJURY,
        injury_level="C6",
        clinician=manager,
    )
    login(page, manager.username)
    assert "waiting over 42 days for a first trial" in page.locator("#screening-heading").inner_text()
    assert "SCR-OLD" in page.locator(".screening-today").inner_text()
    screenshot(page, "screening-today-1366")

    page.get_by_role("link", name="Pipeline", exact=True).click()
    page.get_by_role("link", name="Add a candidate").click()
    page.get_by_label("MRN").fill("SCR-NEW")
    page.get_by_label("First name").fill("Nora")
    page.get_by_label("Last name").fill("Invented")
    page.get_by_label("Referral date").fill((today - timedelta(days=30)).isoformat())
    page.get_by_label("Referred by").fill("Dr Made-Up, rehabilitation")
    page.get_by_label("Cause of spasticity").select_option("sci")
    page.get_by_label("Injury level").fill("T4")
    page.get_by_label("Functional goals").fill("Transfers without a hoist; sitting balance")
    page.get_by_role("button", name="Save patient and referral").click()
    page.wait_for_url(re.compile(r"/screening/candidates/\d+/$"))
    candidate = Candidate.objects.get(patient__mrn="SCR-NEW")
    assert "Spinal cord injury (T4)" in page.content()

    for stage in ("Assessed", "Trial scheduled"):
        page.get_by_role("link", name="Move stage").click()
        page.get_by_label("Move to").select_option(label=stage)
        page.get_by_role("button", name="Move").click()
        page.wait_for_url(re.compile(r"/screening/candidates/\d+/$"))
        assert stage in page.locator(".patient-status").inner_text()

    page.get_by_role("link", name="Record a screening trial").click()
    page.get_by_label("Date", exact=True).fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("Time the dose was given").fill("09:00")
    page.get_by_label("Dose (mcg)").fill("50")
    page.get_by_label("Outcome").select_option("responder")
    scores = {
        "hip_adductors_l": ["3", "1+", "1", "1", "2", "3"],
        "hip_adductors_r": ["3", "2", "1", "1", "2", "3"],
        "knee_extensors_l": ["2", "1", "0", "1", "1+", "2"],
        "ankle_plantar_flexors_l": ["4", "3", "2", "2", "3", "4"],
    }
    for group, cells in scores.items():
        for column, score in enumerate(cells):
            page.locator(f"select[name=mas_{group}_{column}]").select_option(score)
    check_widths(page, "trial-form")
    page.get_by_role("button", name="Save trial").click()
    page.wait_for_url(re.compile(r"/screening/trials/\d+/$"))
    summary = page.content()
    assert "Effect seen:" in summary and "last seen 6 hours after the dose" in summary
    assert "Proposed: <strong>100 mcg/day</strong>" in summary
    assert page.locator("svg.mas-chart .group-line").count() == 4
    check_widths(page, "trial-summary")

    page.get_by_role("link", name="Candidate page").click()
    candidate.refresh_from_db()
    assert candidate.stage == Stage.TRIAL_DONE
    assert "Trial done" in page.locator(".patient-status").inner_text()
    check_widths(page, "candidate")

    page.get_by_role("link", name="Pipeline", exact=True).first.click()
    rows = page.locator("table.pipeline tbody tr")
    assert rows.count() == 3
    assert "over target" in page.locator("tr", has_text="SCR-OLD").inner_text()
    assert "50 mcg, responder" in page.locator("tr", has_text="SCR-NEW").inner_text()
    check_widths(page, "pipeline")
