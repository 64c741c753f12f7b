"""A manager takes a demo-like candidate from referral through a responder trial to an implant
with the proposed starting dose, then records a titration review and sees the titration chart
(issue 16). The implant form with its proposal and patient pages with the chart are checked
with axe and photographed at 1366 and 390 px."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from patients.models import Pump
from refills.models import Appointment
from screening.models import Candidate, Cause, Stage
from screening.models_titration import TitrationReview
from tests.browser.conftest import login, screenshot, serious_violations
from tests.factories import PatientFactory, ProgramChangeFactory, PumpFactory, RefillFactory
from tests.screening_data import make_candidate

pytestmark = pytest.mark.browser
WIDTHS = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}


def check_widths(page, name):
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        assert not serious_violations(page), name
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} at {width} px is {overflow} px too wide"
        screenshot(page, f"implant-{name}-{width}")
    page.set_viewport_size(WIDTHS["1366"])


def story_patient(clinic, manager, today):
    """A former candidate implanted eight months ago: doses climbing, scores falling (as the demo)."""
    patient = PatientFactory(clinic=clinic, mrn="TIT-1", first_name="Yusuf", last_name="Titrated", manager=manager)
    implant = today - timedelta(days=240)
    pump = PumpFactory(patient=patient, implant_date=implant, serial_number="DEMO-ITB-TIT")
    RefillFactory(
        pump=pump,
        performed_on=implant,
        is_initial_fill=True,
        concentration_mcg_ml=Decimal(500),
        daily_dose_mcg=Decimal(100),
    )
    for day, dose in ((14, 150), (35, 200)):
        ProgramChangeFactory(pump=pump, performed_on=implant + timedelta(days=day), daily_dose_mcg=Decimal(dose))
    RefillFactory(
        pump=pump,
        performed_on=implant + timedelta(days=49),
        volume_removed_ml=Decimal("5.3"),
        concentration_mcg_ml=Decimal(2000),
        daily_dose_mcg=Decimal(200),
    )
    for day, dose in ((70, 250), (105, 300), (140, 280)):
        ProgramChangeFactory(pump=pump, performed_on=implant + timedelta(days=day), daily_dose_mcg=Decimal(dose))
    RefillFactory(
        pump=pump,
        performed_on=implant + timedelta(days=180),
        volume_removed_ml=Decimal("2.7"),
        concentration_mcg_ml=Decimal(2000),
        daily_dose_mcg=Decimal(280),
    )
    scores = [
        (7, ("3", "3", "2", "2"), 4),
        (30, ("3", "2", "2", "1+"), 3),
        (60, ("2", "2", "1+", "1+"), 3),
        (90, ("1+", "1+", "1+", "1"), 2),
        (120, ("1+", "1", "1", "1"), 1),
        (150, ("1", "1", "1", "0"), 1),
        (200, ("1", "1", "1", "0"), 1),
        (230, ("1", "0", "1", "0"), 0),
    ]
    groups = ("hip_adductors_l", "hip_adductors_r", "knee_extensors_l", "knee_extensors_r")
    for day, mas, penn in scores:
        TitrationReview.objects.create(
            pump=pump,
            reviewed_on=implant + timedelta(days=day),
            mas=dict(zip(groups, mas, strict=True)),
            penn_score=penn,
            reviewed_by=manager,
            note="Invented review.",
        )
    return patient


def test_a_manager_takes_a_candidate_from_referral_to_an_implant_and_titration(page, clinic, manager):
    today = clinic.today()
    candidate = make_candidate(
        clinic,
        mrn="JRN-1",
        first_name="Saga",
        last_name="Respondwell",
        referral_date=today - timedelta(days=40),
        cause=Cause.SPINAL_CORD_INJURY,
        injury_level="C6",
        clinician=manager,
    )
    story = story_patient(clinic, manager, today)
    login(page, manager.username)
    page.goto(f"/screening/candidates/{candidate.pk}/")

    # Referral -> assessed -> trial scheduled, on the candidate's own pages.
    for stage in ("Assessed", "Trial scheduled"):
        page.get_by_role("link", name="Move stage").click()
        page.get_by_label("Move to").select_option(label=stage)
        page.get_by_role("button", name="Move").click()
        page.wait_for_url(re.compile(r"/screening/candidates/\d+/$"))

    # A responder trial at 50 mcg: the effect is last seen 4 hours after the dose.
    page.get_by_role("link", name="Record a screening trial").click()
    page.get_by_label("Date", exact=True).fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("Time the dose was given").fill("09:00")
    page.get_by_label("Dose (mcg)").fill("50")
    page.get_by_label("Outcome").select_option("responder")
    scores = {  # before, 1, 2, 4, 6, 8 hours
        "hip_adductors_l": ["3", "2", "1", "1", "3", "3"],
        "hip_adductors_r": ["3", "2", "1", "1+", "3", "3"],
    }
    for group, cells in scores.items():
        for column, score in enumerate(cells):
            page.locator(f"select[name=mas_{group}_{column}]").select_option(score)
    page.get_by_role("button", name="Save trial").click()
    page.wait_for_url(re.compile(r"/screening/trials/\d+/$"))
    page.get_by_role("link", name="Candidate page").click()

    # The candidate page proposes 100 mcg/day; the manager books the implant.
    panel = page.locator("#implant")
    assert "100 mcg/day" in panel.inner_text()
    panel.get_by_role("link", name="Book the implant").click()
    page.wait_for_url(re.compile(r"/implant/book/$"))
    booked_day = page.get_by_label("Implant date").input_value()
    check_widths(page, "book")
    page.get_by_role("button", name="Book the implant").click()
    page.wait_for_url(re.compile(r"/screening/candidates/\d+/$"))
    assert "Implant booked for" in page.locator(".messages").inner_text()
    candidate.refresh_from_db()
    assert candidate.stage == Stage.IMPLANT_SCHEDULED
    implant_visit = Appointment.objects.get(patient=candidate.patient, kind="implant")
    assert implant_visit.local_date == date.fromisoformat(booked_day)

    # The implant form: the patient's details, the proposal with its reason, the dose pre-filled.
    page.locator("#implant").get_by_role("link", name="Record the implant").click()
    page.wait_for_url(re.compile(r"/implant/$"))
    assert page.get_by_test_id("proposed-dose").inner_text() == "100 mcg/day"
    assert "twice the screening dose over 24 hours" in page.get_by_test_id("proposal-reason").inner_text()
    assert page.locator("[name=fill-daily_dose_mcg]").input_value() == "100"
    assert not page.locator("[name=implant-confirm_starting_dose]").is_checked()
    page.get_by_label("Pump model").select_option(label="SynchroMed II 20 mL")
    page.get_by_label("Serial number").fill("JRN-PUMP-1")
    page.locator("[name=fill-volume_added_ml]").fill("20")
    page.locator("[name=fill-volume_after_ml]").fill("20")
    page.locator("[name=fill-concentration_mcg_ml]").fill("500")
    check_widths(page, "form-with-proposal")

    # Without the tick nothing is saved, and the page says why.
    page.get_by_role("button", name="Save pump and first fill").click()
    assert "Tick to confirm the starting daily dose" in page.locator("#confirm-dose").inner_text()
    assert not Pump.objects.filter(patient=candidate.patient).exists()
    page.locator("[name=implant-confirm_starting_dose]").check()
    page.get_by_role("button", name="Save pump and first fill").click()
    page.wait_for_url(re.compile(rf"/patients/{candidate.patient_id}/$"))
    assert "starting dose of 100 mcg/day" in page.locator(".messages").inner_text()
    pump = Pump.objects.get(patient=candidate.patient)
    assert pump.refills.get().daily_dose_mcg == Decimal(100)
    candidate.refresh_from_db()
    assert candidate.stage == Stage.IMPLANTED
    assert Candidate.objects.in_pipeline().filter(pk=candidate.pk).count() == 0

    # The first titration review, then the chart on the patient page.
    section = page.locator("#titration")
    assert "No titration review recorded" in section.inner_text()
    section.get_by_role("link", name="Record a titration review").click()
    page.get_by_label("MAS: Hip adductors, left").select_option("2")
    page.get_by_label("MAS: Hip adductors, right").select_option("1+")
    page.get_by_label("Penn spasm frequency score (optional)").select_option("3")
    page.get_by_label("Note").fill("Day of the implant: wound fine.")
    check_widths(page, "titration-review-form")
    page.get_by_role("button", name="Save review").click()
    page.wait_for_url(re.compile(rf"/patients/{candidate.patient_id}/"))
    chart = page.locator("#titration svg.titration-chart")
    assert chart.count() == 1
    assert page.locator("#titration svg .mas-point").count() == 1
    assert page.locator("#titration svg .penn-point").count() == 1
    page.locator("#titration summary").click()
    assert "1.75" in page.locator("#titration table").inner_text()  # mean of 2 and 1+
    check_widths(page, "patient-after-implant")

    # A patient months into titration: the chart tells the story.
    page.goto(f"/patients/{story.pk}/")
    page.locator("#titration").scroll_into_view_if_needed()
    assert page.locator("#titration svg .mas-point").count() == 8
    assert page.locator("#titration svg .dose-point").count() == 6  # the refill at 200 is no new dose
    check_widths(page, "patient-titration-story")
    # The section alone on a phone, to read the chart at that size.
    page.set_viewport_size(WIDTHS["390"])
    screenshot_dir = screenshot(page, "implant-patient-titration-story-390").parent
    page.locator("#titration").screenshot(path=str(screenshot_dir / "implant-titration-section-390.png"))
    # The table on a phone: rows stacked as cards, every cell nearly the card's width (not 2-3 characters).
    page.locator("#titration summary").click()
    widths = page.locator("#titration table tbody td").evaluate_all("cells => cells.map(c => c.offsetWidth)")
    assert widths and min(widths) > 250, widths
    page.locator("#titration table").screenshot(path=str(screenshot_dir / "implant-titration-table-390.png"))


def test_a_new_user_follows_the_demo_candidates_to_a_pump_patient(page):
    """The demo clinic: a responder ready for the implant, and a former candidate's titration."""
    from clinic.models import Membership
    from demo import seeder as demo

    demo.create_demo()
    manager = Membership.objects.get(clinic__slug=demo.SLUG, user__username=demo.MANAGER).user
    login(page, manager.username, demo.PASSWORD)

    ready = Candidate.objects.get(patient__mrn="CAND0005")
    page.goto(f"/screening/candidates/{ready.pk}/")
    panel = page.locator("#implant")
    assert "Proposed starting dose: 100 mcg/day" in panel.inner_text()
    assert panel.get_by_role("link", name="Book the implant").count() == 1

    implanted = Candidate.objects.get(patient__mrn="CAND0011")
    page.goto(f"/screening/candidates/{implanted.pk}/")
    page.locator("#implant").get_by_role("link", name="Titration and outcomes on the patient page").click()
    page.wait_for_url(re.compile(rf"/patients/{implanted.patient_id}/"))
    assert page.locator("#titration svg .mas-point").count() == 8
    assert page.locator("#titration svg .penn-point").count() == 8
    check_widths(page, "demo-titration")
