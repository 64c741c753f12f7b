"""refills.preview: the consequences of a refill or program change before saving.

The pure functions are checked against SPEC section 3's examples, and against what
saving the same event actually stores on the pump.
"""

from dataclasses import astuple
from datetime import date
from decimal import Decimal

import pytest

from patients.models import Pump
from refills import preview, schedule, services
from refills.models import ProgramChange, Refill
from tests.factories import PatientFactory, PumpFactory, RefillFactory, pump_model

SETTINGS_20 = preview.ScheduleSettings(
    alarm_volume_ml=Decimal("2"), reservoir_ml=Decimal("20"), max_interval_days=180, buffer_days=7, due_soon_days=14
)


def refill(day=date(2026, 1, 1), volume="20", concentration="2000", dose="400", bolus="0", removed=None):
    return {
        "performed_on": day,
        "volume_after_ml": Decimal(volume),
        "concentration_mcg_ml": Decimal(concentration),
        "daily_dose_mcg": Decimal(dose),
        "bolus_allowance_mcg": Decimal(bolus),
        "volume_removed_ml": None if removed is None else Decimal(removed),
    }


def cycle(day=date(2025, 10, 1), volume="20", rate="0.2"):
    return schedule.FillCycle.build(day, Decimal(volume), Decimal(rate))


def test_spec_example_20_ml_at_2000_and_400_alarms_90_days_later():
    result = preview.preview_refill(refill(), None, SETTINGS_20)
    assert result.schedule == schedule.PumpSchedule(
        alarm_date=date(2026, 4, 1),
        empty_date=date(2026, 4, 11),
        refill_due=date(2026, 3, 25),
        due_soon_from=date(2026, 3, 11),
    )
    assert result.rate_ml_per_day == Decimal("0.200")
    assert result.residual is None  # a first fill has nothing to compare with


def test_exact_arithmetic_gives_100_days_not_99():
    settings = preview.ScheduleSettings(Decimal("3"), Decimal("20"), 180, 7, 14)
    result = preview.preview_refill(refill(dose="340"), None, settings)
    assert result.schedule.alarm_date == date(2026, 4, 11)  # 2026-01-01 + 100 days


def test_bolus_allowance_counts_in_the_planning_rate():
    with_bolus = preview.preview_refill(refill(dose="300", bolus="100"), None, SETTINGS_20)
    assert with_bolus.schedule.alarm_date == date(2026, 4, 1)


def test_refill_due_is_capped_by_the_max_interval():
    result = preview.preview_refill(refill(dose="100"), None, SETTINGS_20)  # 0.05 mL/day: alarm after 360 days
    assert result.schedule.alarm_date == date(2026, 12, 27)
    assert result.schedule.refill_due == date(2026, 6, 30)  # 2026-01-01 + 180


@pytest.mark.parametrize(
    ("removed", "discrepancy", "flagged"),
    [
        ("1.6", "0.000", False),
        ("2.6", "1.000", False),  # exactly 1.0 mL is not "more than"
        ("2.61", "1.010", True),
        ("0.59", "-1.010", True),
    ],
)
def test_residual_check_on_a_20_ml_pump(removed, discrepancy, flagged):
    # 92 days at 0.2 mL/day from 20 mL: 1.6 mL expected on 2026-01-01.
    result = preview.preview_refill(refill(removed=removed), cycle(), SETTINGS_20)
    assert result.residual.expected_ml == Decimal("1.600")
    assert result.residual.discrepancy_ml == Decimal(discrepancy)
    assert result.residual.flagged is flagged
    assert result.residual.threshold_ml == Decimal("1.0")


def test_a_40_ml_pump_allows_2_ml():
    settings = preview.ScheduleSettings(Decimal("2"), Decimal("40"), 180, 7, 14)
    result = preview.preview_refill(refill(removed="3.5"), cycle(), settings)
    assert result.residual.discrepancy_ml == Decimal("1.900")
    assert not result.residual.flagged
    assert result.residual.threshold_ml == Decimal("2.0")


def test_expected_residual_never_goes_below_zero():
    long_ago = cycle(day=date(2025, 1, 1))
    assert preview.expected_residual_ml(long_ago, date(2026, 1, 1)) == Decimal("0.00")
    result = preview.preview_refill(refill(removed="0.5"), long_ago, SETTINGS_20)
    assert result.residual.expected_ml == Decimal("0.000")
    assert result.residual.discrepancy_ml == Decimal("0.500")


def test_meaning_names_under_and_over_delivery():
    more = preview.residual_check(cycle(), date(2026, 1, 1), Decimal("4"), Decimal("20"))
    less = preview.residual_check(cycle(), date(2026, 1, 1), Decimal("0"), Decimal("20"))
    assert "under-delivery" in more.meaning and "Withdrawal risk" in more.meaning
    assert "over-delivery" in less.meaning


FILL = preview.FillProgram(date(2025, 10, 1), Decimal("20"), Decimal("2000"), Decimal("400"), Decimal("0"))


def test_program_change_preview():
    # 13.8 mL left on 2025-11-01; at 0.25 mL/day the alarm comes floor(11.8 / 0.25) = 47 days later.
    result = preview.preview_program_change(
        FILL, [], {"performed_on": date(2025, 11, 1), "daily_dose_mcg": Decimal("500")}, SETTINGS_20
    )
    assert result.volume_on_change_ml == Decimal("13.80")
    assert result.rate_ml_per_day == Decimal("0.250")
    assert result.schedule.alarm_date == date(2025, 12, 18)
    assert result.schedule.refill_due == date(2025, 12, 11)


def test_a_bolus_only_change_keeps_the_dose_of_an_earlier_change():
    earlier = [preview.DoseChange(date(2025, 10, 11), Decimal("200"), None)]  # 0.1 mL/day from 10-11: 18 mL left
    result = preview.preview_program_change(
        FILL, earlier, {"performed_on": date(2025, 10, 21), "bolus_allowance_mcg": Decimal("200")}, SETTINGS_20
    )
    # 17 mL on 10-21, then (200 + 200) / 2000 = 0.2 mL/day: floor(15 / 0.2) = 75 days.
    assert result.volume_on_change_ml == Decimal("17.00")
    assert result.rate_ml_per_day == Decimal("0.200")
    assert result.schedule.alarm_date == date(2026, 1, 4)


# --- the preview agrees with what saving stores ------------------------------------


@pytest.fixture
def pump(clinic):
    pump = PumpFactory(
        patient=PatientFactory(clinic=clinic), model=pump_model("prometra-ii-40"), implant_date=date(2025, 9, 1)
    )
    RefillFactory(pump=pump, performed_on=date(2025, 10, 1), volume_after_ml=Decimal("40"), is_initial_fill=True)
    return pump


def stored(pump):
    return Pump.objects.values_list("alarm_date", "empty_date", "refill_due", "due_soon_from").get(pk=pump.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("volume", "dose", "removed"), [("40", "400", "15"), ("33.3", "725", "21.7"), ("5", "20", "0")]
)
def test_refill_preview_matches_the_saved_schedule(pump, volume, dose, removed):
    from refills.services import current_cycle

    data = refill(day=date(2026, 1, 15), volume=volume, dose=dose, removed=removed)
    result = preview.preview_refill(data, current_cycle(pump)[1], preview.ScheduleSettings.of(pump))
    saved = services.record_refill(Refill(pump=pump, **data))
    assert stored(pump) == astuple(result.schedule)
    assert saved.expected_residual_ml == result.residual.expected_ml
    assert saved.residual_discrepancy_ml == result.residual.discrepancy_ml
    assert saved.needs_review is result.residual.flagged


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("dose", "bolus"), [(Decimal("650"), None), (None, Decimal("150")), (Decimal("50"), Decimal("10"))]
)
def test_program_change_preview_matches_the_saved_schedule(pump, dose, bolus):
    services.change_program(ProgramChange(pump=pump, performed_on=date(2025, 11, 1), daily_dose_mcg=Decimal("300")))
    fill = preview.FillProgram(date(2025, 10, 1), Decimal("40"), Decimal("2000"), Decimal("400"), Decimal("0"))
    existing = [preview.DoseChange(date(2025, 11, 1), Decimal("300"), None)]
    cleaned = {"performed_on": date(2025, 12, 1), "daily_dose_mcg": dose, "bolus_allowance_mcg": bolus}
    result = preview.preview_program_change(fill, existing, cleaned, preview.ScheduleSettings.of(pump))
    services.change_program(ProgramChange(pump=pump, **cleaned))
    assert stored(pump) == astuple(result.schedule)


# --- one rate, one precision, one judgement --------------------------------------------


def test_a_change_previewed_on_the_day_of_an_earlier_change_shows_its_own_rate():
    # A change to 420 mcg/day was saved today; previewing 1000 or 1400 mcg/day the same day
    # used to show 0.21 mL/day (the earlier change's rate) beside the right dates.
    fill = preview.FillProgram(date(2026, 10, 29), Decimal("20"), Decimal("2000"), Decimal("400"), Decimal("0"))
    existing = [preview.DoseChange(date(2026, 11, 25), Decimal("420"), None)]
    for dose, rate in (("1000", "0.500"), ("1400", "0.700")):
        cleaned = {"performed_on": date(2026, 11, 25), "daily_dose_mcg": Decimal(dose), "bolus_allowance_mcg": None}
        result = preview.preview_program_change(fill, existing, cleaned, SETTINGS_20)
        assert result.rate_ml_per_day == Decimal(rate)
        # 20 - 27 x 0.2 = 14.6 mL on 25 Nov; (14.6 - 2) / rate days later it alarms.
        assert result.volume_on_change_ml == Decimal("14.60")
        days = int((Decimal("12.6") / Decimal(rate)).to_integral_value(rounding="ROUND_FLOOR"))
        assert (result.schedule.alarm_date - date(2026, 11, 25)).days == days


def test_the_expected_residual_has_the_stored_precision_in_the_hint_and_the_check():
    # 0.215 mL/day for 81 days from 20 mL: 2.585 mL (the hint read 2.59, the preview 2.585).
    running = cycle(day=date(2025, 10, 12), rate="0.215")
    assert preview.expected_residual_ml(running, date(2026, 1, 1)) == Decimal("2.585")
    check = preview.residual_check(running, date(2026, 1, 1), Decimal("2.6"), Decimal("20"))
    assert check.expected_ml == Decimal("2.585") and check.discrepancy_ml == Decimal("0.015")


@pytest.mark.parametrize(
    ("removed", "flagged", "meaning"),
    [
        ("2.59", False, "More left than expected, but not more than 1 mL off"),
        ("2.6", False, "More left than expected, but not more than 1 mL off"),
        ("2.61", True, "Withdrawal risk"),
        ("0.61", False, "Less left than expected, but not more than 1 mL off"),
        ("0.6", False, "Less left than expected, but not more than 1 mL off"),
        ("0.59", True, "overdose"),
    ],
)
def test_the_meaning_agrees_with_the_flag_at_the_threshold(removed, flagged, meaning):
    check = preview.residual_check(cycle(), date(2026, 1, 1), Decimal(removed), Decimal("20"))
    assert check.flagged is flagged
    assert meaning in check.meaning
    assert ("not flagged for review" in check.meaning) is not flagged


def test_a_discrepancy_is_judged_as_it_is_recorded():
    # 1.0004 mL is recorded (and shown) as 1.000 mL: not flagged, as the page after saving
    # judges the stored value; 1.0006 is recorded as 1.001 and flagged.
    assert not schedule.discrepancy_flagged(Decimal("1.0004"), Decimal("20"))
    assert schedule.discrepancy_flagged(Decimal("1.0006"), Decimal("20"))
    assert not schedule.discrepancy_flagged(Decimal("-1.0004"), Decimal("20"))
