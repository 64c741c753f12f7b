"""The dates stored on a pump follow every event that changes them (SPEC section 3).

Baseline: a SynchroMed II 20 mL (alarm 2 mL, 84 months, 180-day cap) in a clinic with
buffer 7 and due soon 14, filled on 2026-01-01 with 20 mL at 2000 mcg/mL, 400 mcg/day:
alarm 2026-04-01, empty 2026-04-11, refill due 2026-03-25, due soon from 2026-03-11.
"""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from clinic.models import Clinic
from patients.models import Pump
from refills import services
from refills.models import Appointment, ProgramChange, Refill
from tests.factories import (
    AppointmentFactory,
    ClinicFactory,
    PatientFactory,
    ProgramChangeFactory,
    PumpFactory,
    RefillFactory,
    pump_model,
)

pytestmark = pytest.mark.django_db

BASELINE = {
    "last_refill_date": date(2026, 1, 1),
    "alarm_date": date(2026, 4, 1),
    "empty_date": date(2026, 4, 11),
    "refill_due": date(2026, 3, 25),
    "due_soon_from": date(2026, 3, 11),
}
NOTHING = dict.fromkeys(BASELINE)


def stored(pump: Pump) -> dict:
    """The stored schedule as read back from the database."""
    return dict(Pump.objects.filter(pk=pump.pk).values(*BASELINE).get())


@pytest.fixture
def pump(clinic):
    return PumpFactory(patient=PatientFactory(clinic=clinic))


@pytest.fixture
def filled(pump):
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    return pump


# --- events ------------------------------------------------------------------------


def test_new_pump_has_no_fill_dates_but_a_replacement_date(pump):
    assert stored(pump) == NOTHING
    pump.refresh_from_db()
    assert pump.replacement_due == date(2031, 1, 10)
    assert pump.replacement_estimated is True


def test_refill_save_stores_the_schedule(filled):
    assert stored(filled) == BASELINE


def test_second_refill_starts_a_new_cycle(filled):
    # 12 mL after the refill on 1 Mar at 0.25 mL/day: 40 days to the alarm.
    RefillFactory(
        pump=filled,
        performed_on=date(2026, 3, 1),
        volume_removed_ml=Decimal("8.2"),
        volume_after_ml=Decimal("12"),
        daily_dose_mcg=Decimal("500"),
    )
    assert stored(filled) == {
        "last_refill_date": date(2026, 3, 1),
        "alarm_date": date(2026, 4, 10),
        "empty_date": date(2026, 4, 18),
        "refill_due": date(2026, 4, 3),
        "due_soon_from": date(2026, 3, 20),
    }


def test_editing_a_refill_recomputes(filled):
    refill = filled.refills.get()
    refill.volume_after_ml = Decimal("12")
    services.record_refill(refill)
    assert stored(filled)["alarm_date"] == date(2026, 2, 20)
    assert stored(filled)["empty_date"] == date(2026, 3, 2)


def test_refill_delete_falls_back_to_the_previous_cycle(filled):
    second = RefillFactory(pump=filled, performed_on=date(2026, 3, 1), volume_removed_ml=Decimal("8.2"))
    assert stored(filled)["last_refill_date"] == date(2026, 3, 1)
    services.delete_fill_event(second)
    assert stored(filled) == BASELINE


def test_deleting_the_only_refill_clears_the_dates(filled):
    services.delete_fill_event(filled.refills.get())
    assert stored(filled) == NOTHING
    filled.refresh_from_db()
    assert filled.replacement_due == date(2031, 1, 10)


def test_program_change_save_and_delete(filled):
    change = ProgramChangeFactory(pump=filled, performed_on=date(2026, 1, 31), daily_dose_mcg=Decimal("800"))
    # 14 mL left on 31 Jan at 0.4 mL/day.
    assert stored(filled) == {
        "last_refill_date": date(2026, 1, 1),
        "alarm_date": date(2026, 3, 2),
        "empty_date": date(2026, 3, 7),
        "refill_due": date(2026, 2, 23),
        "due_soon_from": date(2026, 2, 9),
    }
    change.daily_dose_mcg = Decimal("200")  # 0.1 mL/day: 120 days from 31 Jan
    services.change_program(change)
    assert stored(filled)["alarm_date"] == date(2026, 5, 31)
    services.delete_fill_event(change)
    assert stored(filled) == BASELINE


def test_program_change_bolus_only_keeps_the_dose(filled):
    # Bolus 400 on top of 400 mcg/day: 0.4 mL/day from 31 Jan.
    ProgramChangeFactory(
        pump=filled, performed_on=date(2026, 1, 31), daily_dose_mcg=None, bolus_allowance_mcg=Decimal("400")
    )
    assert stored(filled)["alarm_date"] == date(2026, 3, 2)


def test_several_program_changes(filled):
    ProgramChangeFactory(pump=filled, performed_on=date(2026, 2, 20), daily_dose_mcg=Decimal("1000"))
    ProgramChangeFactory(pump=filled, performed_on=date(2026, 1, 11), daily_dose_mcg=Decimal("200"))
    ProgramChangeFactory(pump=filled, performed_on=date(2026, 2, 10), daily_dose_mcg=Decimal("600"))
    assert stored(filled)["alarm_date"] == date(2026, 3, 12)
    assert stored(filled)["empty_date"] == date(2026, 3, 16)


def test_program_change_before_the_latest_refill_is_ignored(filled):
    RefillFactory(pump=filled, performed_on=date(2026, 3, 1), volume_removed_ml=Decimal("8.2"))
    before = stored(filled)
    ProgramChangeFactory(pump=filled, performed_on=date(2026, 2, 1), daily_dose_mcg=Decimal("1000"))
    assert stored(filled) == before


def test_failed_recompute_saves_nothing(filled, monkeypatch):
    def boom(pump):
        raise RuntimeError("engine failure")

    monkeypatch.setattr(services, "refresh_pump_schedule", boom)
    with pytest.raises(RuntimeError):
        RefillFactory(pump=filled, performed_on=date(2026, 3, 1), volume_removed_ml=Decimal("8.2"))
    assert Refill.objects.filter(pump=filled).count() == 1
    with pytest.raises(RuntimeError):
        ProgramChangeFactory(pump=filled)
    assert ProgramChange.objects.count() == 0


# --- pump edits --------------------------------------------------------------------


def test_alarm_volume_change_recomputes(filled):
    filled.alarm_volume_ml = Decimal("4")  # 16 mL above the alarm at 0.2 mL/day
    services.edit_pump(filled)
    assert stored(filled) == {
        **BASELINE,
        "alarm_date": date(2026, 3, 22),
        "refill_due": date(2026, 3, 15),
        "due_soon_from": date(2026, 3, 1),
    }


def test_eri_date_entered_replaces_the_estimate(filled):
    filled.eri_date = date(2029, 11, 5)
    services.edit_pump(filled)
    filled.refresh_from_db()
    assert filled.replacement_due == date(2029, 11, 5)
    assert filled.replacement_estimated is False
    filled.eri_date = None
    services.edit_pump(filled)
    filled.refresh_from_db()
    assert filled.replacement_due == date(2031, 1, 10)
    assert filled.replacement_estimated is True


def test_model_change_recomputes_service_life(filled):
    filled.model = pump_model("prometra-ii-20")  # 120 months
    services.edit_pump(filled)
    filled.refresh_from_db()
    assert filled.replacement_due == date(2034, 1, 10)


# --- clinic settings ---------------------------------------------------------------


def test_clinic_settings_edit_updates_every_pump_of_the_clinic(clinic, filled, other_clinic):
    low_dose = PumpFactory(patient=PatientFactory(clinic=clinic))
    RefillFactory(pump=low_dose, performed_on=date(2026, 1, 1), daily_dose_mcg=Decimal("50"))  # capped at 180 days
    unfilled = PumpFactory(patient=PatientFactory(clinic=clinic))
    elsewhere = PumpFactory(patient=PatientFactory(clinic=other_clinic))
    RefillFactory(pump=elsewhere, performed_on=date(2026, 1, 1))

    editable = Clinic.objects.get(pk=clinic.pk)
    editable.buffer_days = 10
    editable.due_soon_days = 21
    services.change_clinic_settings(editable)

    assert stored(filled) == {**BASELINE, "refill_due": date(2026, 3, 22), "due_soon_from": date(2026, 3, 1)}
    # min(alarm - 10, refill + 180): the cap still binds.
    assert stored(low_dose)["refill_due"] == date(2026, 6, 30)
    assert stored(low_dose)["due_soon_from"] == date(2026, 6, 9)
    assert stored(unfilled) == NOTHING
    assert stored(elsewhere) == BASELINE

    # Later events use the new settings too.
    fresh = Pump.objects.get(pk=filled.pk)
    ProgramChangeFactory(pump=fresh, performed_on=date(2026, 1, 31), daily_dose_mcg=Decimal("800"))
    assert stored(filled)["refill_due"] == date(2026, 2, 20)


def test_clinic_edit_of_other_fields_keeps_the_dates(clinic, filled):
    editable = Clinic.objects.get(pk=clinic.pk)
    editable.name = "Renamed"
    services.change_clinic_settings(editable)
    assert stored(filled) == BASELINE


def test_clinic_buffer_zero(clinic, filled):
    editable = Clinic.objects.get(pk=clinic.pk)
    editable.buffer_days = 0
    services.change_clinic_settings(editable)
    assert stored(filled)["refill_due"] == date(2026, 4, 1)


# --- residual check ----------------------------------------------------------------


def second_refill(pump, removed, day=date(2026, 3, 1)):
    return RefillFactory(pump=pump, performed_on=day, volume_removed_ml=Decimal(removed))


def test_initial_fill_has_no_residual_check(filled):
    first = filled.refills.get()
    assert first.expected_residual_ml is None
    assert first.residual_discrepancy_ml is None
    assert first.needs_review is False


@pytest.mark.parametrize(
    "removed, discrepancy, flagged",
    [
        ("8.2", "0.000", False),
        ("9.2", "1.000", False),
        ("9.21", "1.010", True),
        ("7.2", "-1.000", False),
        ("7.19", "-1.010", True),
        ("0", "-8.200", True),
    ],
)
def test_residual_check_on_second_refill(filled, removed, discrepancy, flagged):
    # 59 days at 0.2 mL/day: 8.2 mL expected on 1 Mar.
    refill = second_refill(filled, removed)
    refill.refresh_from_db()
    assert refill.expected_residual_ml == Decimal("8.200")
    assert refill.residual_discrepancy_ml == Decimal(discrepancy)
    assert refill.needs_review is flagged


@pytest.mark.parametrize("removed, flagged", [("30.2", False), ("30.21", True), ("26.2", False), ("26.19", True)])
def test_residual_threshold_on_a_40_ml_pump(clinic, removed, flagged):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic), model=pump_model("synchromed-ii-40"))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), volume_after_ml=Decimal("40"), is_initial_fill=True)
    # 40 - 0.2 * 59 = 28.2 mL expected: the threshold is 2.0 mL above 20 mL.
    refill = second_refill(pump, removed)
    assert refill.expected_residual_ml == Decimal("28.200")
    assert refill.needs_review is flagged


def test_residual_expected_follows_program_changes(filled):
    ProgramChangeFactory(pump=filled, performed_on=date(2026, 1, 31), daily_dose_mcg=Decimal("800"))
    # 14 mL on 31 Jan, then 29 days at 0.4: 2.4 mL on 1 Mar.
    refill = second_refill(filled, "2.4")
    assert refill.expected_residual_ml == Decimal("2.400")
    assert refill.needs_review is False


def test_residual_expected_floors_at_zero(filled):
    refill = second_refill(filled, "1.5", day=date(2026, 5, 1))
    assert refill.expected_residual_ml == Decimal("0.000")
    assert refill.residual_discrepancy_ml == Decimal("1.500")
    assert refill.needs_review is True


def test_second_refill_without_residual_is_not_flagged(filled):
    refill = RefillFactory(pump=filled, performed_on=date(2026, 3, 1), volume_removed_ml=None)
    assert refill.expected_residual_ml == Decimal("8.200")
    assert refill.residual_discrepancy_ml is None
    assert refill.needs_review is False


def test_acknowledge_clears_the_review_flag(filled, manager):
    refill = second_refill(filled, "12")
    assert Refill.objects.filter(needs_review=True).count() == 1
    before = stored(filled)
    services.acknowledge_refill(refill, manager, "Catheter checked, dye study normal.")
    refill.refresh_from_db()
    assert refill.needs_review is False
    assert refill.reviewed_by == manager
    assert refill.reviewed_at is not None
    assert refill.review_note == "Catheter checked, dye study normal."
    assert Refill.objects.filter(needs_review=True).count() == 0
    assert stored(filled) == before
    # Saving an acknowledged refill again does not put it back on the list.
    refill.notes = "edited"
    services.record_refill(refill)
    refill.refresh_from_db()
    assert refill.needs_review is False
    assert refill.residual_discrepancy_ml == Decimal("3.800")


# --- appointments ------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, utc_hour",
    [
        (date(2026, 3, 28), 10),  # GMT, the day before the clocks go forward
        (date(2026, 3, 29), 9),  # BST from 01:00 UTC on 29 March
        (date(2026, 3, 30), 9),
        (date(2026, 10, 24), 9),  # BST, the day before the clocks go back
        (date(2026, 10, 25), 10),  # GMT again
    ],
)
def test_appointment_start_in_utc_across_dst(clinic, day, utc_hour):
    appointment = AppointmentFactory(patient=PatientFactory(clinic=clinic), local_date=day, local_time=time(10, 0))
    appointment.refresh_from_db()
    assert appointment.starts_at == datetime(day.year, day.month, day.day, utc_hour, 0, tzinfo=UTC)


def test_clinic_time_zone_change_moves_appointment_starts(clinic):
    appointment = AppointmentFactory(
        patient=PatientFactory(clinic=clinic), local_date=date(2026, 7, 1), local_time=time(10, 0)
    )
    editable = Clinic.objects.get(pk=clinic.pk)
    editable.time_zone = "America/New_York"
    services.change_clinic_settings(editable)
    appointment = Appointment.objects.get(pk=appointment.pk)
    assert appointment.starts_at == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)


def test_appointment_in_another_clinic_is_untouched_by_time_zone_change(clinic):
    other = ClinicFactory(slug="east", time_zone="Europe/London")
    appointment = AppointmentFactory(patient=PatientFactory(clinic=other), local_date=date(2026, 7, 1))
    editable = Clinic.objects.get(pk=clinic.pk)
    editable.time_zone = "Asia/Tokyo"
    services.change_clinic_settings(editable)
    assert Appointment.objects.get(pk=appointment.pk).starts_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def test_deleting_an_earlier_fill_rechecks_the_later_residual(db):
    from tests.factories import PumpFactory, RefillFactory

    pump = PumpFactory()
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    change = ProgramChangeFactory(pump=pump, performed_on=date(2026, 1, 11), daily_dose_mcg=Decimal("800"))
    # 0.2 mL/day for 10 days, then 0.4 mL/day for 30 days: 20 - 2 - 12 = 6 mL expected.
    later = RefillFactory(pump=pump, performed_on=date(2026, 2, 10), volume_removed_ml=Decimal("6"))
    later.refresh_from_db()
    assert later.expected_residual_ml == Decimal("6.000") and later.needs_review is False
    services.delete_fill_event(change)
    later.refresh_from_db()
    # Without the change: 20 - 0.2 * 40 = 12 mL expected, 6 left is 6 mL less: flagged.
    assert later.expected_residual_ml == Decimal("12.000")
    assert later.residual_discrepancy_ml == Decimal("-6.000")
    assert later.needs_review is True


def test_changing_buffer_days_on_a_new_clinic_object_recomputes(db):
    from tests.factories import ClinicFactory, PatientFactory, PumpFactory, RefillFactory

    clinic = ClinicFactory(slug="fresh-object")
    pump = PumpFactory(patient=PatientFactory(clinic=clinic))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    clinic.buffer_days = 14
    services.change_clinic_settings(clinic)
    pump.refresh_from_db()
    assert pump.refill_due == date(2026, 3, 18)  # alarm 2026-04-01 minus 14 days
