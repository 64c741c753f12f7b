"""RefillForm: SPEC section 4 validation of a refill (bad input: a message, nothing saved)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from patients.models import Pump
from refills.forms import RefillForm
from refills.models import Refill
from tests.factories import ClinicFactory, PatientFactory, ProgramChangeFactory, PumpFactory, RefillFactory, pump_model

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


@pytest.fixture
def pump(clinic):
    """A 20 mL SynchroMed implanted 2024-01-10, filled on 2026-01-01 at 2000 mcg/mL."""
    pump = PumpFactory(patient=PatientFactory(clinic=clinic))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    return Pump.objects.get(pk=pump.pk)


@pytest.fixture
def new_pump(clinic):
    """A pump without a fill: its first fill has no residual and no previous concentration."""
    return PumpFactory(patient=PatientFactory(clinic=clinic), implant_date=date(2026, 3, 1))


def data(**overrides) -> dict:
    values = {
        "performed_on": "2026-03-01",
        "volume_removed_ml": "8.2",
        # Volume after refill equals volume added: the reservoir is emptied before it is filled.
        "volume_added_ml": "20",
        "volume_after_ml": "20",
        "concentration_mcg_ml": "2000",
        "daily_dose_mcg": "400",
        "dosing_mode": "simple",
        "bolus_allowance_mcg": "0",
        "notes": "",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def form_for(pump, today=TODAY, initial_fill=False, **overrides) -> RefillForm:
    return RefillForm(data(**overrides), pump=pump, today=today, initial_fill=initial_fill)


def submit(pump, **kwargs) -> RefillForm:
    """Validate and save if valid, as a view would; nothing may be saved on error."""
    before = Refill.objects.count()
    stored_before = Pump.objects.filter(pk=pump.pk).values("alarm_date", "refill_due").get()
    form = form_for(pump, **kwargs)
    if form.is_valid():
        form.save()
    else:
        assert Refill.objects.count() == before
        assert Pump.objects.filter(pk=pump.pk).values("alarm_date", "refill_due").get() == stored_before
    return form


def assert_error(form: RefillForm, field: str, fragment: str) -> None:
    assert not form.is_valid()
    assert field in form.errors, form.errors
    assert any(fragment in message for message in form.errors[field]), form.errors[field]


def test_valid_refill_is_saved_and_moves_the_schedule(pump):
    form = submit(pump)
    assert form.is_valid(), form.errors
    refill = Refill.objects.get(pump=pump, performed_on=date(2026, 3, 1))
    assert refill.volume_after_ml == Decimal("20")
    assert refill.is_initial_fill is False
    assert refill.expected_residual_ml == Decimal("8.200")
    assert refill.needs_review is False
    pump.refresh_from_db()
    assert pump.last_refill_date == date(2026, 3, 1)
    assert pump.alarm_date == date(2026, 5, 30)


def test_invalid_form_cannot_be_saved(pump):
    form = form_for(pump, volume_after_ml="0")
    assert not form.is_valid()
    with pytest.raises(ValueError):
        form.save()
    assert Refill.objects.count() == 1


# --- concentration -----------------------------------------------------------------


@pytest.mark.parametrize("concentration", ["500", "1000", "2000", "2000.00"])
def test_standard_concentrations_accepted(new_pump, concentration):
    form = submit(new_pump, initial_fill=True, performed_on="2026-03-01", concentration_mcg_ml=concentration)
    assert form.is_valid(), form.errors
    assert Refill.objects.filter(pump=new_pump).count() == 1


def test_other_concentration_needs_compounded(new_pump):
    form = submit(new_pump, initial_fill=True, concentration_mcg_ml="1500")
    assert_error(form, "concentration_mcg_ml", "compounded")
    form = submit(new_pump, initial_fill=True, concentration_mcg_ml="1500", compounded="on")
    assert form.is_valid(), form.errors
    assert Refill.objects.get(pump=new_pump).compounded is True


@pytest.mark.parametrize("compounded", [None, "on"])
def test_screening_strength_rejected_even_compounded(new_pump, compounded):
    form = submit(new_pump, initial_fill=True, concentration_mcg_ml="50", compounded=compounded)
    assert_error(form, "concentration_mcg_ml", "screening")


@pytest.mark.parametrize(
    "concentration, meant", [("0.5", "500"), ("1", "1000"), ("2", "2000"), ("3", "3000"), ("4", "4000")]
)
@pytest.mark.parametrize("compounded", [None, "on"])
def test_a_concentration_that_reads_as_mg_per_ml_is_refused_with_the_unit(new_pump, concentration, meant, compounded):
    form = submit(new_pump, initial_fill=True, concentration_mcg_ml=concentration, compounded=compounded)
    assert form.errors["concentration_mcg_ml"] == [
        f"{concentration} mcg/mL is far below any pump strength: did you mean {meant} mcg/mL "
        f"({concentration} mg/mL)? Enter mcg/mL."
    ]


@pytest.mark.parametrize("concentration", ["10", "99.99"])
def test_a_low_concentration_from_10_needs_the_compounded_tick_as_spec_4_says(new_pump, concentration):
    """Below 10 reads as mg/mL (refused); from 10 on, any non-standard strength is SPEC 4's
    'compounded' case. 20 mL at 10 mcg/mL and 20 mcg/day: 2 mL/day, alarm after 9 days."""
    form = submit(new_pump, initial_fill=True, concentration_mcg_ml=concentration, daily_dose_mcg="20")
    assert_error(form, "concentration_mcg_ml", "is not a standard strength")
    form = submit(new_pump, initial_fill=True, concentration_mcg_ml=concentration, compounded="on", daily_dose_mcg="20")
    assert form.is_valid(), form.errors


def test_a_compounded_100_mcg_per_ml_is_accepted(new_pump):
    # 20 mL at 100 mcg/mL and 40 mcg/day: 0.4 mL/day, alarm after 45 days.
    form = submit(new_pump, initial_fill=True, concentration_mcg_ml="100", compounded="on", daily_dose_mcg="40")
    assert form.is_valid(), form.errors


# --- a fill whose refill due is not after its own date ----------------------------------


def test_a_refill_due_on_its_own_date_needs_the_tick(pump):
    # 5 mL at 500 mcg/mL, 2000 mcg/day (4 mL/day): alarm and refill due on 1 Mar 2026 itself.
    values = {
        "volume_added_ml": "5",
        "volume_after_ml": "5",
        "concentration_mcg_ml": "500",
        "daily_dose_mcg": "2000",
        "confirm_unusual_dose": "on",
        "bridge_bolus_confirmed": "on",
    }
    form = submit(pump, **values)
    assert form.errors == {
        "performed_on": [
            "With this refill the pump would alarm on Sun 1 Mar 2026, not after Sun 1 Mar 2026, the day of the "
            "refill: check the concentration (mcg/mL), the daily dose and the volume, or tick 'confirm that the "
            "next refill is due on or before the day of this event' to save it."
        ]
    }
    assert submit(pump, confirm_past_due="on", **values).is_valid()


def test_a_refill_due_within_the_buffer_names_the_due_date(pump):
    # 8 mL at 2000 mcg/mL and 1000 mcg/day (0.5 mL/day): alarm after 12 days (13 Mar), due 6 Mar
    # (7 days' buffer), after the fill of 1 Mar: no tick.
    ok = form_for(pump, volume_added_ml="8", volume_after_ml="8", daily_dose_mcg="1000")
    assert ok.is_valid(), ok.errors
    # 5 mL: alarm after 6 days (7 Mar), due 28 Feb, before the fill.
    form = submit(pump, volume_added_ml="5", volume_after_ml="5", daily_dose_mcg="1000")
    assert_error(form, "performed_on", "the next refill would be due on Sat 28 Feb 2026, not after Sun 1 Mar 2026")


@pytest.mark.parametrize("concentration", ["0", "-500"])
def test_non_positive_concentration_rejected(new_pump, concentration):
    form = submit(new_pump, initial_fill=True, concentration_mcg_ml=concentration, compounded="on")
    assert_error(form, "concentration_mcg_ml", "positive")


@pytest.mark.parametrize(
    "field, value",
    [
        ("concentration_mcg_ml", "1e20"),
        ("concentration_mcg_ml", "2000.001"),
        ("concentration_mcg_ml", "NaN"),
        ("daily_dose_mcg", "1e20"),
        ("daily_dose_mcg", "400.125"),
        ("volume_after_ml", "1e20"),
        ("volume_after_ml", "19.999"),
        ("volume_removed_ml", "1E+20"),
        ("volume_added_ml", "0.001"),
        ("bolus_allowance_mcg", "1e20"),
        ("performed_on", "2026-02-30"),
        ("volume_after_ml", "twenty"),
    ],
)
def test_malformed_numbers_are_field_errors(pump, field, value):
    form = submit(pump, **{field: value})
    assert not form.is_valid()
    assert list(form.errors) == [field], form.errors
    assert form.errors[field][0]


def test_concentration_change_needs_bridge_bolus(pump):
    form = submit(pump, concentration_mcg_ml="1000")
    assert_error(form, "bridge_bolus_confirmed", "bridge bolus")
    assert "2000" in form.errors["bridge_bolus_confirmed"][0]
    form = submit(pump, concentration_mcg_ml="1000", bridge_bolus_confirmed="on")
    assert form.is_valid(), form.errors
    assert Refill.objects.get(pump=pump, performed_on=date(2026, 3, 1)).concentration_mcg_ml == 1000


def test_same_concentration_needs_no_bridge(pump):
    assert submit(pump, concentration_mcg_ml="2000.00").is_valid()


# --- volumes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, valid",
    [("0", False), ("-1", False), ("0.01", True), ("12", True), ("20", True), ("20.01", False), ("40", False)],
)
def test_volume_after_refill(pump, value, valid):
    # The range is checked on its own: a volume after unlike the volume added is confirmed here,
    # and so is a refill due on the day (0.01 mL is below the alarm volume at once).
    form = submit(pump, volume_after_ml=value, confirm_volume_difference="on", confirm_past_due="on")
    if valid:
        assert form.is_valid(), form.errors
    else:
        assert_error(form, "volume_after_ml", "at most the 20 mL reservoir")


def test_volume_after_on_a_40_ml_pump(clinic):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic), model=pump_model("synchromed-ii-40"))
    form = submit(pump, initial_fill=True, volume_added_ml="40", volume_after_ml="40")
    assert form.is_valid(), form.errors
    assert_error(
        form_for(pump, performed_on="2026-03-02", volume_after_ml="40.01"), "volume_after_ml", "the 40 mL reservoir"
    )


@pytest.mark.parametrize("field", ["volume_removed_ml", "volume_added_ml"])
@pytest.mark.parametrize("value, valid", [("-0.01", False), ("0", True), ("20", True), ("20.01", False)])
def test_volume_removed_and_added(pump, field, value, valid):
    # The range is checked on its own: a volume added unlike the volume after is confirmed here.
    form = submit(pump, **{field: value, "confirm_volume_difference": "on"})
    if valid:
        assert form.is_valid(), form.errors
    else:
        assert_error(form, field, "between 0 and the 20 mL reservoir")


def test_residual_required_after_the_first_fill(pump):
    assert_error(submit(pump, volume_removed_ml=""), "volume_removed_ml", "volume removed")


def test_first_fill_needs_no_residual(new_pump):
    form = submit(new_pump, initial_fill=True, volume_removed_ml="")
    assert form.is_valid(), form.errors
    assert Refill.objects.get(pump=new_pump).is_initial_fill is True


# --- volume after refill against volume added (SPEC section 4, issue 12 item 2) -----


@pytest.mark.parametrize(
    "added, after, agree",
    [
        ("20", "20", True),
        ("19.5", "20", True),  # 0.5 mL exactly: accepted
        ("20", "19.5", True),
        ("19.49", "20", False),  # 0.51 mL: needs the tick
        ("20", "19.49", False),
        ("17", "20", False),  # issue 12: removed 1.1, added 17, after 20 was accepted silently
    ],
)
def test_volume_after_must_agree_with_volume_added(pump, added, after, agree):
    form = submit(pump, volume_removed_ml="1.1", volume_added_ml=added, volume_after_ml=after)
    if agree:
        assert form.is_valid(), form.errors
        return
    assert_error(form, "volume_after_ml", "differs from the volume added")
    message = form.errors["volume_after_ml"][0]
    assert f"The volume after refill ({after} mL) differs from the volume added ({added} mL)" in message
    form = submit(
        pump, volume_removed_ml="1.1", volume_added_ml=added, volume_after_ml=after, confirm_volume_difference="on"
    )
    assert form.is_valid(), form.errors
    assert Refill.objects.get(pump=pump, performed_on=date(2026, 3, 1)).volume_added_ml == Decimal(added)


def test_the_confirmation_names_both_volumes(pump):
    label = RefillForm(pump=pump, today=TODAY).fields["confirm_volume_difference"].label.lower()
    assert "volume after refill" in label and "volume added" in label


def test_an_empty_volume_added_is_not_compared(pump):
    assert submit(pump, volume_added_ml="", volume_after_ml="20").is_valid()


def test_a_first_fill_must_agree_too(new_pump):
    form = submit(new_pump, initial_fill=True, volume_removed_ml="", volume_added_ml="15", volume_after_ml="20")
    assert_error(form, "volume_after_ml", "differs from the volume added")


def test_a_fill_from_the_clinic_records_is_not_held_to_the_volume_rule(pump):
    """The import (residual_required=False) has no volume-added column, and a re-import puts
    the file's volume after refill over a fill recorded with its own volume added: the rule
    is deliberately not applied there."""
    recorded = data(volume_removed_ml=None, volume_added_ml="20", volume_after_ml="18")
    form = RefillForm(recorded, pump=pump, today=TODAY, residual_required=False)
    assert form.is_valid(), form.errors
    assert "volume_after_ml" not in form.errors


# --- dose and bolus ----------------------------------------------------------------


@pytest.mark.parametrize(
    "dose, confirm, fragment",
    [
        ("0", "on", "more than 0"),
        ("-10", "on", "more than 0"),
        ("3000.01", "on", "3000"),
        ("5000", "on", "3000"),
        ("19.99", None, "confirm unusual dose"),
        ("1200.01", None, "confirm unusual dose"),
        ("3000", None, "confirm unusual dose"),
    ],
)
def test_daily_dose_rejected(pump, dose, confirm, fragment):
    assert_error(submit(pump, daily_dose_mcg=dose, confirm_unusual_dose=confirm), "daily_dose_mcg", fragment)


@pytest.mark.parametrize(
    "dose, confirm",
    [("20", None), ("1200", None), ("400.5", None), ("19.99", "on"), ("3000", "on"), ("0.01", "on")],
)
def test_daily_dose_accepted(pump, dose, confirm):
    form = submit(pump, daily_dose_mcg=dose, confirm_unusual_dose=confirm)
    assert form.is_valid(), form.errors
    assert Refill.objects.get(pump=pump, performed_on=date(2026, 3, 1)).daily_dose_mcg == Decimal(dose)


@pytest.mark.parametrize("bolus", ["-1", "3000.01"])
def test_bolus_out_of_range(pump, bolus):
    assert_error(submit(pump, bolus_allowance_mcg=bolus), "bolus_allowance_mcg", "between 0 and 3000")


def test_empty_bolus_is_zero(pump):
    form = submit(pump, bolus_allowance_mcg="")
    assert form.is_valid(), form.errors
    assert Refill.objects.get(pump=pump, performed_on=date(2026, 3, 1)).bolus_allowance_mcg == 0


# --- dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, fragment",
    [
        ("2026-03-11", "in the future"),
        ("2027-01-01", "in the future"),
        ("2025-12-31", "before the previous fill"),
        ("2026-01-01", "already recorded"),
        ("2024-01-09", "implant date"),
    ],
)
def test_refill_date_refused(pump, day, fragment):
    assert_error(submit(pump, performed_on=day), "performed_on", fragment)


def test_refill_today_accepted(pump):
    assert submit(pump, performed_on=TODAY.isoformat()).is_valid()


def test_refill_before_the_last_program_change_refused(pump):
    ProgramChangeFactory(pump=pump, performed_on=date(2026, 2, 1), daily_dose_mcg=Decimal("500"))
    assert_error(submit(pump, performed_on="2026-01-20"), "performed_on", "program change")
    assert submit(pump, performed_on="2026-02-01").is_valid()


def test_first_fill_before_implant_refused(new_pump):
    assert_error(submit(new_pump, initial_fill=True, performed_on="2026-02-28"), "performed_on", "implant date")


@pytest.mark.parametrize(
    "time_zone, valid",
    [("Europe/London", False), ("America/New_York", False), ("Asia/Tokyo", True), ("Pacific/Auckland", True)],
)
def test_future_is_judged_in_the_clinic_time_zone(time_zone, valid):
    # 23:30 UTC on 10 March: already 11 March in Tokyo and Auckland.
    clinic = ClinicFactory(slug="tz", time_zone=time_zone)
    pump = PumpFactory(patient=PatientFactory(clinic=clinic), implant_date=date(2026, 3, 1))
    with time_machine.travel(datetime(2026, 3, 10, 23, 30, tzinfo=UTC), tick=False):
        form = submit(pump, today=clinic.today(), initial_fill=True, performed_on="2026-03-11")
    if valid:
        assert form.is_valid(), form.errors
    else:
        assert_error(form, "performed_on", "in the future")


def test_several_errors_each_on_its_field(pump):
    form = submit(pump, performed_on="2030-01-01", volume_after_ml="25", daily_dose_mcg="0", concentration_mcg_ml="50")
    assert set(form.errors) == {"performed_on", "volume_after_ml", "daily_dose_mcg", "concentration_mcg_ml"}
    assert Refill.objects.count() == 1


def test_editing_a_refill_does_not_clash_with_itself(pump):
    refill = Refill.objects.get(pump=pump)
    form = RefillForm(
        data(performed_on="2026-01-01", volume_after_ml="18", volume_added_ml="18", volume_removed_ml=""),
        instance=refill,
        pump=pump,
        today=TODAY,
        initial_fill=True,
    )
    assert form.is_valid(), form.errors
    form.save()
    pump.refresh_from_db()
    assert pump.alarm_date == date(2026, 3, 22)


# --- the import path (imports.importer builds its refills with RefillForm) -----------


def test_a_reimport_over_a_refill_recorded_on_the_page_keeps_working(clinic):
    """The file has no volume-added column: re-importing a fill the page recorded with 20 mL
    added, now with 18 mL after refill in the file, is the clinic's own record and is taken."""
    from imports.importer import CHANGED, run_import
    from tests.test_command_import_caseload import GOOD_ROWS, csv_text, with_changes

    with time_machine.travel("2026-03-01 10:00:00+00:00", tick=False):
        assert run_import(clinic, csv_text(GOOD_ROWS)).applied
        pump = Pump.objects.get(serial_number="SN-1")
        page = RefillForm(
            data(performed_on="2026-02-25", volume_removed_ml="3.2", volume_added_ml="20", volume_after_ml="20"),
            pump=pump,
            today=clinic.today(),
        )
        assert page.is_valid(), page.errors
        page.save()

        result = run_import(
            clinic, csv_text(with_changes(0, last_refill_date="2026-02-25", volume_after_refill_ml="18"))
        )

    assert result.applied, [str(p) for p in result.problems]
    assert result.rows[0].actions["refill"] == CHANGED
    refill = Refill.objects.get(pump=pump, performed_on=date(2026, 2, 25))
    assert (refill.volume_added_ml, refill.volume_after_ml) == (Decimal("20"), Decimal("18"))
