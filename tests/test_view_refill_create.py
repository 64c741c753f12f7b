"""Record a refill: pre-filled form (never the residual), preview without saving, confirmations, save.

Baseline: a SynchroMed II 20 mL (alarm 2 mL) first filled on 2025-10-01 with 20 mL at
2000 mcg/mL, 400 mcg/day (0.2 mL/day). Today is 2026-01-01 (92 days later), so the
expected residual is 20 - 18.4 = 1.6 mL. A refill today to 20 mL at the same program
gives alarm 2026-04-01 (90 days) and refill due 2026-03-25 (buffer 7).
"""

import re
from datetime import date, time
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from patients.models import Pump
from refills.models import ProgramChange, Refill
from tests.factories import AppointmentFactory, PatientFactory, ProgramChangeFactory, PumpFactory, RefillFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 1, 1)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel("2026-01-01 12:00:00Z", tick=False):
        yield


@pytest.fixture
def pump(clinic, manager):
    patient = PatientFactory(clinic=clinic, manager=manager)
    pump = PumpFactory(patient=patient, implant_date=date(2025, 9, 1))
    RefillFactory(pump=pump, performed_on=date(2025, 10, 1), is_initial_fill=True)
    pump.refresh_from_db()
    return pump


def url(pump):
    return reverse("refill_create", kwargs={"pk": pump.pk})


def refill_data(**overrides):
    data = {
        "performed_on": "2026-01-01",
        "volume_removed_ml": "1.6",
        "volume_added_ml": "20",
        "volume_after_ml": "20",
        "concentration_mcg_ml": "2000",
        "daily_dose_mcg": "400",
        "dosing_mode": "simple",
        "bolus_allowance_mcg": "0",
        "notes": "",
        "action": "save",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def stored_dates(pump):
    return Pump.objects.values_list("alarm_date", "refill_due", "last_refill_date").get(pk=pump.pk)


def residual_input(html: str) -> str:
    """The <input> of the volume removed in a rendered page."""
    match = re.search(r'<input[^>]*name="volume_removed_ml"[^>]*>', html)
    assert match, "no volume removed input on the page"
    return match.group(0)


def test_get_prefills_date_program_and_reservoir_but_never_the_residual(client, manager, pump):
    # Issue 12 item 1 (a deliberate change): the volume removed is measured, so the form
    # no longer pre-fills it with the projection; the projection is a hint beside it.
    client.force_login(manager)
    response = client.get(url(pump))
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert initial["performed_on"] == TODAY
    assert "volume_removed_ml" not in initial
    assert initial["volume_after_ml"] == Decimal("20")
    assert initial["concentration_mcg_ml"] == Decimal("2000")
    assert initial["daily_dose_mcg"] == Decimal("400")
    assert response.context["expected_today"] == Decimal("1.60")
    html = response.content.decode()
    assert 'name="action" value="preview"' in html
    field = residual_input(html)
    assert "value=" not in field and 'aria-required="true"' in field
    assert 'aria-describedby="id_volume_removed_ml_helptext"' in field
    hint = re.search(r'<small class="help" id="id_volume_removed_ml_helptext">([^<]*)</small>', html).group(1)
    assert hint == "Expected about 1.6 mL on Thu 1 Jan 2026 — measure and enter what you removed."


def test_get_hints_the_residual_after_a_later_program_change(client, manager, pump):
    ProgramChangeFactory(pump=pump, performed_on=date(2025, 11, 1), daily_dose_mcg=Decimal("300"))
    client.force_login(manager)
    response = client.get(url(pump))
    assert response.context["form"].initial["daily_dose_mcg"] == Decimal("300")
    # 20 - 0.2 * 31 - 0.15 * 61 = 4.65 mL left today: a hint, not a value
    assert "value=" not in residual_input(response.content.decode())
    assert "Expected about 4.65 mL on Thu 1 Jan 2026" in response.context["form"]["volume_removed_ml"].help_text


def test_the_hint_follows_the_chosen_date(client, manager, pump):
    client.force_login(manager)
    response = client.post(url(pump), refill_data(performed_on="2025-12-22", volume_removed_ml="", action="preview"))
    # 82 days at 0.2 mL/day from 20 mL: 3.6 mL expected on 22 Dec.
    assert "Expected about 3.6 mL on Mon 22 Dec 2025" in response.context["form"]["volume_removed_ml"].help_text


def test_a_refill_without_the_volume_removed_is_refused_and_nothing_is_saved(client, manager, pump):
    before = stored_dates(pump)
    client.force_login(manager)
    response = client.post(url(pump), refill_data(volume_removed_ml=""))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["volume_removed_ml"] == ["Enter the volume removed (the actual residual)."]
    assert Refill.objects.filter(pump=pump).count() == 1
    assert stored_dates(pump) == before
    html = response.content.decode()
    assert "value=" not in residual_input(html)  # still empty: nothing stands in for the measurement
    summary = re.search(r'<div class="error-summary".*?</div>\s*</div>', html, re.S).group(0)
    assert 'tabindex="-1"' in summary and "autofocus" in summary
    assert "Nothing was saved: 1 problem to fix" in summary
    assert '<a href="#id_volume_removed_ml">Volume removed (mL): Enter the volume removed' in summary


def test_the_summary_links_every_field_with_an_error(client, manager, pump):
    client.force_login(manager)
    response = client.post(url(pump), refill_data(volume_removed_ml="", volume_after_ml="25", daily_dose_mcg="-5"))
    html = response.content.decode()
    assert "Nothing was saved: 3 problems to fix" in html
    for field in ("volume_removed_ml", "volume_after_ml", "daily_dose_mcg"):
        assert f'<a href="#id_{field}">' in html
        assert f'id="id_{field}"' in html  # the link lands on the input
    assert Refill.objects.filter(pump=pump).count() == 1


def test_a_get_or_a_saved_refill_shows_no_summary(client, manager, pump):
    client.force_login(manager)
    assert "error-summary" not in client.get(url(pump)).content.decode()
    response = client.post(url(pump), refill_data(action="preview"))
    assert response.context["preview"] is not None
    assert "error-summary" not in response.content.decode()


@pytest.mark.parametrize(
    ("added", "after", "needs_tick"),
    [("20", "20", False), ("19.5", "20", False), ("20", "19.5", False), ("19.49", "20", True), ("17", "20", True)],
)
def test_volume_after_and_added_differing_over_half_a_ml_need_the_tick(client, manager, pump, added, after, needs_tick):
    client.force_login(manager)
    response = client.post(url(pump), refill_data(volume_added_ml=added, volume_after_ml=after))
    if not needs_tick:
        assert response.status_code == 302
        assert Refill.objects.get(pump=pump, performed_on=TODAY).volume_added_ml == Decimal(added)
        return
    assert response.status_code == 200
    assert not Refill.objects.filter(performed_on=TODAY).exists()
    assert [field.name for field, _ in response.context["needed"]] == ["confirm_volume_difference"]
    message = response.context["form"].errors["confirm_volume_difference"][0]
    assert "volume after refill" in message and "volume added" in message
    html = response.content.decode()
    assert "Tick “Confirm that the volume after refill differs from the volume added by more than 0.5 mL”" in html
    assert '<a href="#id_confirm_volume_difference">' in html

    response = client.post(
        url(pump), refill_data(volume_added_ml=added, volume_after_ml=after, confirm_volume_difference="on")
    )
    assert response.status_code == 302
    assert Refill.objects.get(pump=pump, performed_on=TODAY).volume_after_ml == Decimal(after)


def test_preview_shows_new_alarm_date_and_refill_due_and_saves_nothing(client, manager, pump):
    before = stored_dates(pump)
    client.force_login(manager)
    response = client.post(url(pump), refill_data(action="preview"))
    assert response.status_code == 200
    result = response.context["preview"]
    assert result.schedule.alarm_date == date(2026, 4, 1)
    assert result.schedule.refill_due == date(2026, 3, 25)
    assert result.residual.expected_ml == Decimal("1.600")
    assert result.residual.discrepancy_ml == Decimal("0.000")
    assert not result.residual.flagged
    html = response.content.decode()
    assert "Wed 1 Apr 2026" in html and "Wed 25 Mar 2026" in html
    assert Refill.objects.filter(pump=pump).count() == 1
    assert stored_dates(pump) == before


def test_save_stores_the_refill_and_recomputes_the_pump(client, manager, pump):
    client.force_login(manager)
    response = client.post(url(pump), refill_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("patient_detail", kwargs={"pk": pump.patient_id})
    refill = Refill.objects.get(pump=pump, performed_on=TODAY)
    assert refill.performed_by == manager
    assert refill.expected_residual_ml == Decimal("1.600")
    assert not refill.needs_review
    assert stored_dates(pump) == (date(2026, 4, 1), date(2026, 3, 25), TODAY)
    message = str(next(iter(get_messages(response.wsgi_request))))
    assert "Next refill due Wed 25 Mar 2026." in message  # SPEC 8: dates on pages in words
    booking = reverse("appointment_create", kwargs={"pk": pump.patient_id}) + "?kind=refill&amp;date=2026-03-25"
    assert booking in message and "Book the next refill" in message


def test_a_refill_visit_still_booked_for_the_pump_is_pointed_out(client, manager, pump):
    """The visit the refill was done at (or one booked later for the old cycle) stays scheduled
    until someone marks it, and meanwhile stands as the next refill's booking: the saved
    message says so and links to where it is marked completed, cancelled or moved."""
    AppointmentFactory(patient=pump.patient, pump=pump, local_date=TODAY, local_time=time(9, 30))
    AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 1, 8), local_time=time(14, 0))
    AppointmentFactory(patient=pump.patient, pump=pump, kind="review", local_date=date(2026, 1, 9))  # not a refill
    client.force_login(manager)
    response = client.post(url(pump), refill_data())
    assert response.status_code == 302
    pump.refresh_from_db()
    assert pump.first_refill_booking == TODAY  # why it matters: the old visit books the new cycle
    messages = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    warning = next(text for level, text in messages if "still booked" in text)
    assert ("warning", warning) in messages
    assert warning.startswith("2 refill visits are still booked for this pump: Thu 1 Jan 2026 at 09:30, Thu 8 Jan")
    assert "Fri 9 Jan 2026" not in warning
    assert "cancel them" in warning and "then book the next refill" in warning
    patient_url = reverse("patient_detail", kwargs={"pk": pump.patient_id})
    assert f'<a href="{patient_url}#h-upcoming">Upcoming appointments</a>' in warning
    page = client.get(patient_url).content.decode()
    assert 'id="h-upcoming"' in page and "Completed" in page  # where the link lands, with the button


def test_one_visit_still_booked_is_named_in_the_singular(client, manager, pump):
    AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 1, 2), local_time=time(9, 30))
    client.force_login(manager)
    response = client.post(url(pump), refill_data())
    warning = next(str(m) for m in get_messages(response.wsgi_request) if "still booked" in str(m))
    assert warning.startswith("A refill visit is still booked for this pump: Fri 2 Jan 2026 at 09:30. If it was")
    assert "cancel it under" in warning and "(or mark it Completed on its day)" in warning


def test_the_program_now_reads_in_words(client, manager, pump):
    client.force_login(manager)
    html = client.get(url(pump)).content.decode()
    assert "mcg/day, no bolus (simple continuous) since" in html  # not "bolus up to 0 mcg/day (simple)"
    pump.refills.update(bolus_allowance_mcg=Decimal("50"), dosing_mode="flex")
    html = client.get(url(pump)).content.decode()
    assert "mcg/day, bolus up to 50 mcg/day (flex) since" in html


def test_no_visit_booked_no_such_message(client, manager, pump):
    client.force_login(manager)
    response = client.post(url(pump), refill_data())
    assert not [m for m in get_messages(response.wsgi_request) if "still booked" in str(m)]


def test_discrepancy_over_1_ml_on_a_20_ml_pump_is_previewed_and_flagged(client, manager, pump):
    client.force_login(manager)
    preview = client.post(url(pump), refill_data(volume_removed_ml="3.0", action="preview")).context["preview"]
    assert preview.residual.discrepancy_ml == Decimal("1.400")
    assert preview.residual.flagged
    assert "under-delivery" in preview.residual.meaning
    assert not Refill.objects.filter(performed_on=TODAY).exists()

    response = client.post(url(pump), refill_data(volume_removed_ml="3.0"))
    assert response.status_code == 302
    refill = Refill.objects.get(pump=pump, performed_on=TODAY)
    assert refill.needs_review
    assert refill.residual_discrepancy_ml == Decimal("1.400")
    assert any("review list" in str(m) for m in get_messages(response.wsgi_request))


def test_discrepancy_within_1_ml_is_not_flagged(client, manager, pump):
    client.force_login(manager)
    client.post(url(pump), refill_data(volume_removed_ml="0.7"))
    refill = Refill.objects.get(pump=pump, performed_on=TODAY)
    assert refill.residual_discrepancy_ml == Decimal("-0.900")
    assert not refill.needs_review


def test_unusual_dose_needs_the_tick_and_the_preview_says_so(client, manager, pump):
    client.force_login(manager)
    response = client.post(url(pump), refill_data(daily_dose_mcg="1500"))
    assert response.status_code == 200
    assert not Refill.objects.filter(performed_on=TODAY).exists()
    form = response.context["form"]
    # The message sits on the checkbox to tick, not on the dose field.
    assert "confirm_unusual_dose" in form.errors and "daily_dose_mcg" not in form.errors
    assert [field.name for field, _ in response.context["needed"]] == ["confirm_unusual_dose"]
    # The consequences are still previewed: 18 mL / 0.75 mL/day = 24 days.
    assert response.context["preview"].schedule.alarm_date == date(2026, 1, 25)

    response = client.post(url(pump), refill_data(daily_dose_mcg="1500", confirm_unusual_dose="on"))
    assert response.status_code == 302
    assert Refill.objects.get(pump=pump, performed_on=TODAY).daily_dose_mcg == Decimal("1500")


def test_compounded_concentration_change_needs_both_ticks(client, manager, pump):
    client.force_login(manager)
    response = client.post(url(pump), refill_data(concentration_mcg_ml="1500"))
    assert response.status_code == 200
    needed = {field.name for field, _ in response.context["needed"]}
    assert needed == {"compounded", "bridge_bolus_confirmed"}
    assert "concentration_mcg_ml" not in response.context["form"].errors
    assert not Refill.objects.filter(performed_on=TODAY).exists()

    response = client.post(
        url(pump), refill_data(concentration_mcg_ml="1500", compounded="on", bridge_bolus_confirmed="on")
    )
    assert response.status_code == 302
    refill = Refill.objects.get(pump=pump, performed_on=TODAY)
    assert refill.compounded and refill.bridge_bolus_confirmed


def test_hard_errors_show_no_preview(client, manager, pump):
    client.force_login(manager)
    response = client.post(url(pump), refill_data(volume_after_ml="25", daily_dose_mcg="1500", action="preview"))
    assert response.status_code == 200
    assert response.context["preview"] is None
    assert "volume_after_ml" in response.context["form"].errors
    assert "reservoir" in response.context["form"].errors["volume_after_ml"][0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("volume_removed_ml", "lots"),
        ("volume_after_ml", "1e30"),
        ("concentration_mcg_ml", "NaN"),
        ("daily_dose_mcg", "-5"),
        ("performed_on", "1800-01-01"),
        ("performed_on", "2026-01-02"),
        ("performed_on", "not a date"),
        ("dosing_mode", "turbo"),
        ("concentration_mcg_ml", "50"),
    ],
)
@pytest.mark.parametrize("action", ["save", "preview"])
def test_garbage_is_a_field_error_and_saves_nothing(client, manager, pump, field, value, action):
    client.force_login(manager)
    response = client.post(url(pump), refill_data(**{field: value, "action": action}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Refill.objects.filter(pump=pump).count() == 1


def test_a_first_fill_needs_no_volume_removed(client, manager, clinic):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic), implant_date=date(2025, 12, 20))
    client.force_login(manager)
    page = client.get(url(pump))
    assert page.context["expected_today"] is None
    assert page.context["form"]["volume_removed_ml"].help_text.startswith("First fill of this pump: nothing to remove")
    assert "aria-required" not in residual_input(page.content.decode())
    response = client.post(url(pump), refill_data(volume_removed_ml=None))
    assert response.status_code == 302
    refill = Refill.objects.get(pump=pump)
    assert refill.is_initial_fill and refill.expected_residual_ml is None
    assert stored_dates(pump)[0] == date(2026, 4, 1)


def test_staff_gets_403_and_nothing_is_saved(client, staff, pump):
    client.force_login(staff)
    assert client.get(url(pump)).status_code == 403
    assert client.post(url(pump), refill_data()).status_code == 403
    assert Refill.objects.filter(pump=pump).count() == 1


def test_outsider_gets_404(client, outsider, pump):
    client.force_login(outsider)
    assert client.get(url(pump)).status_code == 404
    assert client.post(url(pump), refill_data()).status_code == 404
    assert Refill.objects.filter(pump=pump).count() == 1


def test_an_explanted_pump_takes_no_refill(client, manager, pump):
    Pump.objects.filter(pk=pump.pk).update(status=Pump.Status.EXPLANTED, explant_date=TODAY)
    client.force_login(manager)
    response = client.post(url(pump), refill_data())
    assert response.status_code == 302
    assert Refill.objects.filter(pump=pump).count() == 1
    assert "explanted" in str(next(iter(get_messages(response.wsgi_request))))


def test_a_refill_before_the_last_program_change_is_refused(client, manager, pump):
    ProgramChange.objects.create(pump=pump, performed_on=date(2025, 12, 15), daily_dose_mcg=Decimal("300"))
    client.force_login(manager)
    response = client.post(url(pump), refill_data(performed_on="2025-12-10"))
    assert "performed_on" in response.context["form"].errors
    assert Refill.objects.filter(pump=pump).count() == 1


# --- the residual boundary: preview label, stored flag and the page after saving agree ------
# SPEC 3 flags a discrepancy that *exceeds* 1.0 mL (20 mL reservoir): exactly 1 is not flagged.
# Expected residual 1.6 mL, so these volumes removed give the discrepancies named.


@pytest.mark.parametrize(
    "removed, discrepancy, flagged",
    [
        ("2.59", "+0.99", False),
        ("2.6", "+1", False),
        ("2.61", "+1.01", True),
        ("0.61", "-0.99", False),
        ("0.6", "-1", False),
        ("0.59", "-1.01", True),
    ],
)
def test_the_discrepancy_boundary_reads_the_same_before_and_after_saving(
    client, manager, pump, removed, discrepancy, flagged
):
    client.force_login(manager)
    response = client.post(url(pump), refill_data(volume_removed_ml=removed, action="preview"))
    residual = response.context["preview"].residual
    html = response.content.decode()
    assert residual.flagged is flagged
    assert f"{discrepancy} mL" in html
    assert ("Will be flagged</span> for review (more than 1 mL)" in html) is flagged
    assert ("Within 1 mL" in html) is not flagged
    # Never a green "within" beside a withdrawal-risk (or overdose) warning.
    assert ("Withdrawal risk" in html) is (flagged and discrepancy.startswith("+"))
    assert ("overdose" in html) is (flagged and discrepancy.startswith("-"))
    if not flagged:
        assert "not flagged for review" in residual.meaning

    response = client.post(url(pump), refill_data(volume_removed_ml=removed))
    assert response.status_code == 302
    refill = Refill.objects.get(pump=pump, performed_on=TODAY)
    assert refill.needs_review is flagged
    assert any("review list" in str(m) for m in get_messages(response.wsgi_request)) is flagged
    page = client.get(reverse("patient_detail", kwargs={"pk": pump.patient_id})).content.decode()
    assert f"discrepancy {discrepancy} mL" in page
    assert ("Discrepancy flagged" in page) is flagged


def test_the_expected_residual_reads_with_one_precision_in_the_hint_the_preview_and_after_saving(
    client, manager, clinic
):
    # 20 mL at 2000 mcg/mL and 430 mcg/day (0.215 mL/day) for 81 days: 2.585 mL expected.
    pump = PumpFactory(patient=PatientFactory(clinic=clinic), implant_date=date(2025, 9, 1))
    RefillFactory(pump=pump, performed_on=date(2025, 10, 12), daily_dose_mcg=Decimal("430"), is_initial_fill=True)
    client.force_login(manager)
    html = client.get(url(pump)).content.decode()
    assert "Expected about 2.585 mL on Thu 1 Jan 2026" in html
    assert '<span data-testid="expected-today">2.585 mL</span>' in html
    data = refill_data(volume_removed_ml="2.6", daily_dose_mcg="430")
    html = client.post(url(pump), {**data, "action": "preview"}).content.decode()
    assert "<dd>2.585 mL</dd>" in html and "+0.015 mL" in html
    assert "2.58 mL" not in html and "2.59 mL" not in html
    assert "Planned use 0.215 mL/day." in html
    client.post(url(pump), data)
    assert Refill.objects.get(pump=pump, performed_on=TODAY).expected_residual_ml == Decimal("2.585")


# --- a concentration in mg/mL, a refill that is due the day it is given -----------------------


def test_a_concentration_typed_in_mg_per_ml_is_refused_whatever_is_ticked(client, manager, pump):
    client.force_login(manager)
    before = stored_dates(pump)
    data = refill_data(concentration_mcg_ml="2", compounded="on", bridge_bolus_confirmed="on", confirm_past_due="on")
    for action in ("preview", "save"):
        response = client.post(url(pump), {**data, "action": action})
        assert response.status_code == 200
        assert response.context["preview"] is None  # no "200 mL/day" preview of a unit slip
        errors = response.context["form"].errors["concentration_mcg_ml"]
        assert errors == ["2 mcg/mL is far below any pump strength: did you mean 2000 mcg/mL (2 mg/mL)? Enter mcg/mL."]
    assert not Refill.objects.filter(performed_on=TODAY).exists()
    assert stored_dates(pump) == before


def test_a_refill_that_leaves_the_pump_due_at_once_needs_the_tick_naming_the_date(client, manager, pump):
    # 2000 mcg/day at 500 mcg/mL with 5 mL: 4 mL/day, so it alarms the day it is filled.
    client.force_login(manager)
    data = refill_data(
        volume_added_ml="5",
        volume_after_ml="5",
        concentration_mcg_ml="500",
        daily_dose_mcg="2000",
        confirm_unusual_dose="on",
        bridge_bolus_confirmed="on",
    )
    response = client.post(url(pump), data)
    assert response.status_code == 200
    assert not Refill.objects.filter(performed_on=TODAY).exists()
    assert [field.name for field, _ in response.context["needed"]] == ["confirm_past_due"]
    message = response.context["form"].errors["confirm_past_due"][0]
    assert "the pump would alarm on Thu 1 Jan 2026, not after Thu 1 Jan 2026, the day of the refill" in message
    assert response.context["preview"].schedule.refill_due <= TODAY  # still previewed, to see why

    response = client.post(url(pump), {**data, "confirm_past_due": "on"})
    assert response.status_code == 302
    assert Refill.objects.get(pump=pump, performed_on=TODAY).daily_dose_mcg == Decimal("2000")


def test_the_past_due_tick_is_offered_only_when_it_is_needed(client, manager, pump):
    client.force_login(manager)
    assert 'name="confirm_past_due"' not in client.get(url(pump)).content.decode()
    ordinary = client.post(url(pump), refill_data(action="preview")).content.decode()
    assert 'name="confirm_past_due"' not in ordinary
    # Refused for its unit whatever is ticked: the tick is not offered beside it.
    mg = client.post(url(pump), refill_data(concentration_mcg_ml="2", compounded="on", action="preview"))
    assert 'name="confirm_past_due"' not in mg.content.decode()
    due = client.post(
        url(pump),
        refill_data(
            volume_added_ml="5",
            volume_after_ml="5",
            concentration_mcg_ml="500",
            daily_dose_mcg="2000",
            confirm_unusual_dose="on",
            bridge_bolus_confirmed="on",
        ),
    )
    assert 'name="confirm_past_due"' in due.content.decode()
