"""Unit tests of the pure schedule engine (refills/schedule.py): no database.

The numbers follow SPEC section 3. A refill on 2026-01-01 of 20 mL at 2000 mcg/mL and
400 mcg/day uses 0.2 mL/day: alarm (2 mL) on 2026-04-01, empty on 2026-04-11.
"""

import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patients.models import Pump, PumpModel
from refills import schedule
from refills.schedule import FillCycle, RateChange

R = date(2026, 1, 1)
D = Decimal


def rate(dose, concentration="2000", bolus="0") -> Fraction:
    return schedule.planning_rate(D(dose), D(bolus), D(concentration))


def cycle(volume="20", dose="400", concentration="2000", bolus="0", changes=(), refilled_on=R) -> FillCycle:
    return FillCycle.build(refilled_on, D(volume), rate(dose, concentration, bolus), changes)


def change(day: date, dose, concentration="2000", bolus="0") -> RateChange:
    return RateChange(day, rate(dose, concentration, bolus))


# --- planning rate -----------------------------------------------------------------


def test_planning_rate_is_exact():
    assert rate("340") == Fraction(17, 100)
    assert rate("400") == Fraction(1, 5)


def test_planning_rate_includes_bolus_allowance():
    assert schedule.planning_rate(D(300), D(100), D(2000)) == Fraction(1, 5)
    # No bolus given counts as zero.
    assert schedule.planning_rate(D(400), None, D(2000)) == Fraction(1, 5)


@pytest.mark.parametrize(
    "args",
    [(400.0, D(0), D(2000)), (D(400), 10.5, D(2000)), (D(400), D(0), 2000.0)],
    ids=["float dose", "float bolus", "float concentration"],
)
def test_planning_rate_refuses_floats(args):
    with pytest.raises(TypeError):
        schedule.planning_rate(*args)


@pytest.mark.parametrize("concentration", [D(0), D(-500)])
def test_planning_rate_refuses_non_positive_concentration(concentration):
    with pytest.raises(ValueError):
        schedule.planning_rate(D(400), D(0), concentration)


def test_planning_rate_refuses_zero_dose():
    with pytest.raises(ValueError):
        schedule.planning_rate(D(0), D(0), D(2000))


# --- alarm and empty dates ---------------------------------------------------------


def test_float_trap_gives_exactly_100_days():
    # With floats the division is 99.99999999999999 and the alarm one day early.
    assert math.floor((20 - 3) / (340 / 2000)) == 99
    c = cycle(dose="340")
    assert c.date_reaching(D(3)) == R + timedelta(days=100) == date(2026, 4, 11)
    assert c.volume_on(date(2026, 4, 11)) == 3


def test_spec_example():
    c = cycle()
    assert c.date_reaching(D("2.0")) == date(2026, 4, 1)
    assert c.date_reaching(0) == date(2026, 4, 11)
    result = schedule.pump_schedule(c, D("2.0"), buffer_days=7, max_interval_days=180, due_soon_days=14)
    assert result == schedule.PumpSchedule(
        alarm_date=date(2026, 4, 1),
        empty_date=date(2026, 4, 11),
        refill_due=date(2026, 3, 25),
        due_soon_from=date(2026, 3, 11),
    )


def test_partial_fill():
    # 12 mL in a 20 mL pump: 10 mL above the alarm at 0.2 mL/day.
    c = cycle(volume="12")
    assert c.date_reaching(D(2)) == date(2026, 2, 20)
    assert c.date_reaching(0) == date(2026, 3, 2)


def test_bolus_allowance_brings_the_alarm_forward():
    without = cycle(dose="300")
    with_bolus = cycle(dose="300", bolus="100")
    assert without.date_reaching(D(2)) == R + timedelta(days=120)
    assert with_bolus.date_reaching(D(2)) == date(2026, 4, 1)


def test_alarm_date_is_the_day_the_volume_crosses_when_not_whole():
    # 0.7 mL/day: 18 / 0.7 = 25.7 days, so the alarm goes off during day 25.
    c = FillCycle.build(R, D(20), Fraction(7, 10))
    alarm = c.date_reaching(D(2))
    assert alarm == date(2026, 1, 26)
    assert c.volume_on(alarm) == Fraction(5, 2)
    assert c.volume_on(alarm + timedelta(days=1)) == Fraction(9, 5)


def test_fill_below_the_alarm_volume_alarms_at_once():
    c = cycle(volume="1.5")
    assert c.date_reaching(D(2)) == R
    assert c.date_reaching(0) == R + timedelta(days=7)


def test_program_change_mid_cycle_is_piecewise():
    # 0.2 mL/day until 31 Jan (14 mL left), then 0.4 mL/day.
    c = cycle(changes=[change(date(2026, 1, 31), "800")])
    assert c.volume_on(R) == 20
    assert c.volume_on(date(2026, 1, 11)) == 18
    assert c.volume_on(date(2026, 1, 31)) == 14
    assert c.volume_on(date(2026, 2, 10)) == 10
    assert c.volume_on(date(2026, 3, 2)) == 2
    assert c.volume_on(date(2026, 3, 7)) == 0
    assert c.date_reaching(D(2)) == date(2026, 3, 2)
    assert c.date_reaching(0) == date(2026, 3, 7)


def test_crossing_already_past_at_change_date_stands():
    # The alarm volume is reached on 1 Apr; a slower rate from 5 Apr cannot move it.
    c = cycle(changes=[change(date(2026, 4, 5), "200")])
    assert c.date_reaching(D(2)) == date(2026, 4, 1)
    # 20 - 0.2 * 94 = 1.2 mL on 5 Apr, then 0.1 mL/day: empty 12 days later.
    assert c.volume_on(date(2026, 4, 5)) == Fraction(6, 5)
    assert c.date_reaching(0) == date(2026, 4, 17)


def test_change_on_the_alarm_date_keeps_it():
    c = cycle(changes=[change(date(2026, 4, 1), "1200")])
    assert c.date_reaching(D(2)) == date(2026, 4, 1)
    # 2 mL left at 0.6 mL/day: 3.33 days.
    assert c.date_reaching(0) == date(2026, 4, 4)


def test_several_program_changes():
    changes = [
        change(date(2026, 2, 20), "1000"),  # 0.5 mL/day; given out of order on purpose
        change(date(2026, 1, 11), "200"),  # 0.1 mL/day
        change(date(2026, 2, 10), "600"),  # 0.3 mL/day
    ]
    c = cycle(changes=changes)
    assert [x.starts_on for x in c.changes] == [date(2026, 1, 11), date(2026, 2, 10), date(2026, 2, 20)]
    assert c.volume_on(date(2026, 1, 11)) == 18
    assert c.volume_on(date(2026, 2, 10)) == 15
    assert c.volume_on(date(2026, 2, 20)) == 12
    assert c.date_reaching(D(2)) == date(2026, 3, 12)
    assert c.date_reaching(0) == date(2026, 3, 16)


def test_changes_on_or_before_the_refill_date_are_ignored():
    c = cycle(changes=[change(R, "2000"), change(R - timedelta(days=3), "2000")])
    assert c.changes == ()
    assert c.date_reaching(D(2)) == date(2026, 4, 1)


@given(
    volume=st.integers(min_value=1, max_value=4000).map(lambda n: D(n) / 100),
    dose=st.integers(min_value=1, max_value=300000).map(lambda n: D(n) / 100),
    concentration=st.sampled_from([D(500), D(1000), D(2000), D("1500.5")]),
    alarm=st.integers(min_value=0, max_value=1000).map(lambda n: D(n) / 100),
    change_offsets=st.lists(st.integers(min_value=1, max_value=400), max_size=4),
    change_doses=st.lists(st.integers(min_value=1, max_value=3000), min_size=4, max_size=4),
)
def test_alarm_date_is_the_day_the_projection_reaches_the_threshold(
    volume, dose, concentration, alarm, change_offsets, change_doses
):
    changes = [
        RateChange(R + timedelta(days=o), schedule.planning_rate(D(d), 0, concentration))
        for o, d in zip(change_offsets, change_doses, strict=False)
    ]
    c = FillCycle.build(R, volume, schedule.planning_rate(dose, 0, concentration), changes)
    day = c.date_reaching(alarm)
    assert day == R or c.volume_on(day) >= alarm
    if day < date.max:  # date.max: the crossing lies beyond the calendar (a tiny rate)
        assert c.volume_on(day + timedelta(days=1)) < alarm


@pytest.mark.parametrize("rate_ml_per_day", [rate("0.01"), Fraction(1, 10**12)])
def test_tiny_rate_clamps_to_the_last_date_instead_of_overflowing(rate_ml_per_day):
    c = FillCycle.build(R, D(20), rate_ml_per_day)
    assert c.date_reaching(D(2)) == date.max
    assert c.date_reaching(0) == date.max
    result = schedule.pump_schedule(c, D(2), buffer_days=7, max_interval_days=180, due_soon_days=14)
    assert result.refill_due == R + timedelta(days=180)
    # A later, faster program still crosses: a little under 20 mL on 1 Feb, 89.99 days at 0.2 mL/day.
    faster = FillCycle.build(R, D(20), rate_ml_per_day, [change(date(2026, 2, 1), "400")])
    assert faster.date_reaching(D(2)) == date(2026, 5, 1)


# --- refill due, buffer and cap ----------------------------------------------------


@pytest.mark.parametrize(
    "buffer_days, due",
    [(0, date(2026, 4, 1)), (7, date(2026, 3, 25)), (14, date(2026, 3, 18)), (30, date(2026, 3, 2))],
)
def test_buffer_days(buffer_days, due):
    result = schedule.pump_schedule(cycle(), D(2), buffer_days, max_interval_days=180, due_soon_days=14)
    assert result.refill_due == due
    assert result.due_soon_from == due - timedelta(days=14)


def test_max_interval_caps_refill_due_for_a_very_low_dose():
    # 50 mcg/day at 2000 mcg/mL: 0.025 mL/day, 720 days to the alarm.
    result = schedule.pump_schedule(cycle(dose="50"), D(2), buffer_days=7, max_interval_days=180, due_soon_days=14)
    assert result.alarm_date == R + timedelta(days=720)
    assert result.refill_due == date(2026, 6, 30) == R + timedelta(days=180)
    assert result.due_soon_from == date(2026, 6, 16)


def test_refill_due_takes_the_earlier_of_buffer_and_cap():
    alarm = R + timedelta(days=190)
    assert schedule.refill_due(alarm, R, 7, 180) == R + timedelta(days=180)
    assert schedule.refill_due(alarm, R, 11, 180) == R + timedelta(days=179)


# --- status ------------------------------------------------------------------------

EMPTY_ON, ALARM_ON, DUE_ON, SOON_FROM = date(2026, 4, 11), date(2026, 4, 1), date(2026, 3, 25), date(2026, 3, 11)


@pytest.mark.parametrize(
    "today, status",
    [
        (date(2026, 1, 1), schedule.OK),
        (SOON_FROM - timedelta(days=1), schedule.OK),
        (SOON_FROM, schedule.DUE_SOON),
        (DUE_ON, schedule.DUE_SOON),
        (DUE_ON + timedelta(days=1), schedule.OVERDUE),
        (ALARM_ON - timedelta(days=1), schedule.OVERDUE),
        (ALARM_ON, schedule.ALARMING),
        (EMPTY_ON - timedelta(days=1), schedule.ALARMING),
        (EMPTY_ON, schedule.EMPTY),
        (date(2027, 1, 1), schedule.EMPTY),
    ],
)
def test_status_boundaries(today, status):
    assert schedule.pump_status(today, EMPTY_ON, ALARM_ON, DUE_ON, SOON_FROM) == status


def test_status_first_match_wins_when_buffer_is_zero():
    # With no buffer the alarm date is the refill due: alarming beats due_soon.
    assert schedule.pump_status(ALARM_ON, EMPTY_ON, ALARM_ON, ALARM_ON, SOON_FROM) == schedule.ALARMING


def test_status_without_a_fill():
    assert schedule.pump_status(R, None, None, None, None) == schedule.NO_FILL


def test_status_order_for_sorting():
    order = sorted(schedule.STATUS_SEVERITY, key=schedule.STATUS_SEVERITY.get)
    assert order[:3] == [schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE]
    assert order[-1] == schedule.OK


# --- booking -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "appointments, state",
    [
        ([DUE_ON], schedule.BOOKED),
        ([DUE_ON - timedelta(days=10)], schedule.BOOKED),
        ([DUE_ON + timedelta(days=1)], schedule.BOOKED_LATE),
        ([], schedule.UNBOOKED),
        ([DUE_ON + timedelta(days=5), DUE_ON - timedelta(days=1)], schedule.BOOKED),
        ([DUE_ON + timedelta(days=5), DUE_ON + timedelta(days=1)], schedule.BOOKED_LATE),
    ],
)
def test_booking_state(appointments, state):
    assert schedule.booking_state(DUE_ON, appointments) == state


def test_booking_without_a_fill_counts_any_appointment():
    assert schedule.booking_state(None, [R]) == schedule.BOOKED
    assert schedule.booking_state(None, []) == schedule.UNBOOKED


# --- replacement -------------------------------------------------------------------


def test_replacement_due_from_eri_is_not_estimated():
    assert schedule.replacement_due(date(2024, 1, 10), 84, date(2030, 6, 1)) == schedule.Replacement(
        date(2030, 6, 1), estimated=False
    )


@pytest.mark.parametrize(
    "implant, months, due",
    [
        (date(2024, 1, 10), 84, date(2031, 1, 10)),
        (date(2024, 2, 29), 84, date(2031, 2, 28)),  # leap day, non-leap year
        (date(2024, 2, 29), 96, date(2032, 2, 29)),  # leap day, leap year
        (date(2024, 1, 31), 85, date(2031, 2, 28)),  # month end clamps
        (date(2023, 8, 31), 120, date(2033, 8, 31)),
        (date(2024, 3, 31), 121, date(2034, 4, 30)),
    ],
)
def test_replacement_due_estimated_from_service_life(implant, months, due):
    assert schedule.replacement_due(implant, months, None) == schedule.Replacement(due, estimated=True)


def test_replacement_due_unknown_without_eri_or_service_life():
    assert schedule.replacement_due(date(2024, 1, 10), None, None) is None


@pytest.mark.parametrize(
    "day, months, result",
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 12, 31), 2, date(2025, 2, 28)),
        (date(2024, 11, 15), 2, date(2025, 1, 15)),
        (date(2024, 1, 15), -1, date(2023, 12, 15)),
        (date(2024, 5, 31), 0, date(2024, 5, 31)),
    ],
)
def test_add_months(day, months, result):
    assert schedule.add_months(day, months) == result


def stop_date(eri, today):
    """A SynchroMed II's stop date (its model's 90 days after ERI, the one source) on ``today``."""
    synchromed = PumpModel(code="synchromed-ii-20", stops_after_eri_days=90)
    return Pump(model=synchromed, eri_date=eri).stop_date_on(today)


def test_synchromed_stop_date_only_once_eri_reached():
    eri = date(2030, 6, 1)
    assert stop_date(eri, eri - timedelta(days=1)) is None
    assert stop_date(eri, eri) == date(2030, 8, 30)
    assert stop_date(eri, date(2030, 9, 30)) == date(2030, 8, 30)
    assert stop_date(None, eri) is None


T = date(2026, 5, 1)


@pytest.mark.parametrize(
    "due, window, state",
    [
        (T - timedelta(days=10), 180, "urgent"),  # already past due
        (T, 180, "urgent"),
        (T + timedelta(days=90), 180, "urgent"),
        (T + timedelta(days=91), 180, "planned"),
        (T + timedelta(days=180), 180, "planned"),
        (T + timedelta(days=181), 180, None),
        (T + timedelta(days=91), 90, None),
        (T + timedelta(days=365), 365, "planned"),
        (None, 180, None),
    ],
)
def test_replacement_state(due, window, state):
    assert schedule.replacement_state(T, due, window) == state


# --- residual discrepancy ----------------------------------------------------------


@pytest.mark.parametrize(
    "discrepancy, reservoir, flagged",
    [
        ("1.0", "20", False),
        ("1.01", "20", True),
        ("-1.0", "20", False),
        ("-1.01", "20", True),
        ("0", "20", False),
        ("1.5", "18", True),
        ("2.0", "40", False),
        ("2.01", "40", True),
        ("-2.0", "40", False),
        ("-2.01", "40", True),
        ("1.5", "40", False),
        ("1.5", "20.5", False),  # above 20 mL the threshold is 2.0
    ],
)
def test_discrepancy_thresholds(discrepancy, reservoir, flagged):
    assert schedule.discrepancy_flagged(D(discrepancy), D(reservoir)) is flagged


def test_discrepancy_threshold_values():
    assert schedule.discrepancy_threshold_ml(D(20)) == 1
    assert schedule.discrepancy_threshold_ml(D(40)) == 2


def test_residual_discrepancy_is_actual_minus_expected():
    assert schedule.residual_discrepancy(D("5.5"), Fraction(41, 5)) == Fraction(-27, 10)
    assert schedule.residual_discrepancy(D("10"), Fraction(41, 5)) == Fraction(9, 5)


def test_expected_residual_is_the_projection_on_the_refill_date():
    c = cycle()
    # 59 days at 0.2 mL/day.
    assert schedule.expected_residual(c, date(2026, 3, 1)) == Fraction(41, 5)
    assert schedule.expected_residual(c, date(2026, 4, 11)) == 0


def test_expected_residual_floors_at_zero():
    assert schedule.expected_residual(cycle(), date(2026, 6, 1)) == 0
    assert cycle().volume_on(date(2026, 6, 1)) < 0


def test_expected_residual_without_previous_fill():
    assert schedule.expected_residual(None, R) is None


def test_discrepancy_meaning():
    assert "under-delivery" in schedule.discrepancy_meaning(D("1.5"))
    assert "over-delivery" in schedule.discrepancy_meaning(D("-1.5"))
    assert schedule.discrepancy_meaning(D(0)) == "As expected."


def test_to_decimal_rounds_for_display():
    assert schedule.to_decimal(Fraction(1, 3), 3) == D("0.333")
    assert schedule.to_decimal(Fraction(2, 3)) == D("0.67")
    assert schedule.to_decimal(Fraction(-27, 10), 3) == D("-2.700")
