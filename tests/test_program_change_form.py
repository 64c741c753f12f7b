"""ProgramChangeForm: a new dose or bolus after the last fill (SPEC section 4)."""

from datetime import date
from decimal import Decimal

import pytest

from patients.models import Pump
from refills.forms import ProgramChangeForm
from refills.models import ProgramChange
from tests.factories import PatientFactory, PumpFactory, RefillFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


@pytest.fixture
def pump(clinic):
    """Filled 2026-01-01 with 20 mL at 2000 mcg/mL, 400 mcg/day: alarm 2026-04-01."""
    pump = PumpFactory(patient=PatientFactory(clinic=clinic))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    return Pump.objects.get(pk=pump.pk)


def submit(pump, today=TODAY, **overrides) -> ProgramChangeForm:
    values = {"performed_on": "2026-01-31", "daily_dose_mcg": "800", "bolus_allowance_mcg": "", "dosing_mode": ""}
    values.update(overrides)
    values = {k: v for k, v in values.items() if v is not None}
    before = ProgramChange.objects.count()
    stored_before = Pump.objects.filter(pk=pump.pk).values("alarm_date", "refill_due").get()
    form = ProgramChangeForm(values, pump=pump, today=today)
    if form.is_valid():
        form.save()
    else:
        assert ProgramChange.objects.count() == before
        assert Pump.objects.filter(pk=pump.pk).values("alarm_date", "refill_due").get() == stored_before
    return form


def assert_error(form, field: str, fragment: str) -> None:
    assert not form.is_valid()
    assert field in form.errors, form.errors
    assert any(fragment in message for message in form.errors[field]), form.errors[field]


def test_valid_change_is_saved_and_moves_the_alarm(pump):
    form = submit(pump)
    assert form.is_valid(), form.errors
    change = ProgramChange.objects.get(pump=pump)
    assert change.daily_dose_mcg == Decimal("800")
    assert change.bolus_allowance_mcg is None
    pump.refresh_from_db()
    assert pump.alarm_date == date(2026, 3, 2)


def test_bolus_only_change(pump):
    form = submit(pump, daily_dose_mcg="", bolus_allowance_mcg="400")
    assert form.is_valid(), form.errors
    pump.refresh_from_db()
    assert pump.alarm_date == date(2026, 3, 2)


def test_change_needs_a_dose_or_a_bolus(pump):
    assert_error(submit(pump, daily_dose_mcg="", bolus_allowance_mcg=""), "daily_dose_mcg", "new daily dose")


@pytest.mark.parametrize(
    "day, fragment",
    [
        ("2026-01-01", "after the last fill"),
        ("2025-12-15", "after the last fill"),
        ("2026-03-11", "in the future"),
        ("2023-12-31", "implant date"),
    ],
)
def test_change_date_refused(pump, day, fragment):
    assert_error(submit(pump, performed_on=day), "performed_on", fragment)


def test_change_today_accepted(pump):
    assert submit(pump, performed_on=TODAY.isoformat()).is_valid()


def test_change_after_a_later_refill_only(pump):
    RefillFactory(pump=pump, performed_on=date(2026, 3, 1), volume_removed_ml=Decimal("8.2"))
    assert_error(submit(pump, performed_on="2026-02-15"), "performed_on", "Sun 1 Mar 2026")
    assert submit(pump, performed_on="2026-03-02").is_valid()


def test_change_without_any_fill_refused(clinic):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic))
    assert_error(submit(pump), "performed_on", "Record the pump's fill")


@pytest.mark.parametrize(
    "dose, confirm, fragment",
    [
        ("0", "on", "more than 0"),
        ("-5", "on", "more than 0"),
        ("3000.01", "on", "3000"),
        ("15", None, "confirm unusual dose"),
        ("1500", None, "confirm unusual dose"),
    ],
)
def test_dose_rejected(pump, dose, confirm, fragment):
    assert_error(submit(pump, daily_dose_mcg=dose, confirm_unusual_dose=confirm), "daily_dose_mcg", fragment)


@pytest.mark.parametrize("dose, confirm", [("20", None), ("1200", None), ("15", "on"), ("3000", "on")])
def test_dose_accepted(pump, dose, confirm):
    form = submit(pump, daily_dose_mcg=dose, confirm_unusual_dose=confirm)
    assert form.is_valid(), form.errors
    assert ProgramChange.objects.get(pump=pump).daily_dose_mcg == Decimal(dose)


@pytest.mark.parametrize("bolus", ["-0.01", "3000.01"])
def test_bolus_out_of_range(pump, bolus):
    assert_error(submit(pump, bolus_allowance_mcg=bolus), "bolus_allowance_mcg", "between 0 and 3000")


@pytest.mark.parametrize(
    "field, value",
    [
        ("daily_dose_mcg", "1e20"),
        ("daily_dose_mcg", "800.001"),
        ("bolus_allowance_mcg", "1E+20"),
        ("performed_on", "x"),
    ],
)
def test_malformed_input_is_a_field_error(pump, field, value):
    form = submit(pump, **{field: value})
    assert not form.is_valid()
    assert field in form.errors
    assert ProgramChange.objects.count() == 0


# --- a change that changes nothing --------------------------------------------------------


def test_the_dose_and_bolus_already_in_force_are_refused(pump):
    form = submit(pump, daily_dose_mcg="400", bolus_allowance_mcg="0")
    assert form.errors == {
        "daily_dose_mcg": [
            "Nothing changed: the daily dose and bolus allowance are already 400 mcg/day and 0 mcg/day. Enter the "
            "new dose or bolus allowance."
        ]
    }
    # Leaving the bolus empty keeps it: the same dose alone changes nothing either.
    assert_error(submit(pump, daily_dose_mcg="400.00"), "daily_dose_mcg", "Nothing changed")


def test_the_program_compared_is_the_one_in_force_on_the_change_date(pump):
    assert submit(pump, performed_on="2026-01-31", daily_dose_mcg="800").is_valid()
    assert_error(submit(pump, performed_on="2026-02-10", daily_dose_mcg="800"), "daily_dose_mcg", "already 800")
    assert submit(pump, performed_on="2026-02-20", daily_dose_mcg="400").is_valid()


def test_a_new_dosing_mode_alone_is_a_change(pump):
    assert submit(pump, daily_dose_mcg="400", dosing_mode="flex").is_valid()


# --- a change that brings the refill due to its own date ------------------------------------


def test_a_change_that_makes_the_pump_due_at_once_needs_the_tick(pump):
    # On 1 Mar 8.2 mL are left; 3000 mcg/day (1.5 mL/day) alarms on 5 Mar, due 26 Feb.
    values = {"performed_on": "2026-03-01", "daily_dose_mcg": "3000", "confirm_unusual_dose": "on"}
    form = submit(pump, **values)
    assert form.errors == {
        "performed_on": [
            "With this program change the next refill would be due on Thu 26 Feb 2026, not after Sun 1 Mar 2026, "
            "the day of the program change: check the concentration (mcg/mL), the daily dose and the volume, or "
            "tick 'confirm that the next refill is due on or before the day of this event' to save it."
        ]
    }
    assert submit(pump, confirm_past_due="on", **values).is_valid()
    assert Pump.objects.get(pk=pump.pk).refill_due == date(2026, 2, 26)


def test_a_change_on_a_pump_already_overdue_needs_no_tick(pump):
    # Refill due 25 Mar; on 30 Mar lowering the dose leaves it due in the past, as it was.
    form = submit(pump, today=date(2026, 3, 30), performed_on="2026-03-30", daily_dose_mcg="300")
    assert form.is_valid(), form.errors
