"""PumpForm: model defaults, alarm volume, the `other` model, serial numbers (SPEC 2 and 4)."""

from datetime import date
from decimal import Decimal

import pytest

from patients.forms import PumpForm
from patients.models import Pump
from refills import services
from tests.factories import PatientFactory, PumpFactory, RefillFactory, pump_model

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic)


def submit(clinic, patient=None, instance=None, **overrides) -> PumpForm:
    values = {
        "model": pump_model("synchromed-ii-20").pk,
        "serial_number": "NGP1234567",
        "implant_date": "2026-03-01",
        "reservoir_ml": "",
        "alarm_volume_ml": "",
        "eri_date": "",
    }
    values.update(overrides)
    before = Pump.objects.count()
    form = PumpForm(values, clinic=clinic, today=TODAY, patient=patient, instance=instance)
    if form.is_valid():
        services.edit_pump(form.save(commit=False))  # as the pump pages save it
    elif instance is None:
        assert Pump.objects.count() == before
    return form


def assert_error(form, field: str, fragment: str) -> None:
    assert not form.is_valid()
    assert field in form.errors, form.errors
    assert any(fragment in message for message in form.errors[field]), form.errors[field]


def test_defaults_come_from_the_model(clinic, patient):
    form = submit(clinic, patient)
    assert form.is_valid(), form.errors
    pump = Pump.objects.get(serial_number="NGP1234567")
    assert (pump.clinic, pump.patient) == (clinic, patient)
    assert pump.reservoir_ml == Decimal("20")
    assert pump.alarm_volume_ml == Decimal("2.0")
    assert pump.replacement_due == date(2033, 3, 1)
    assert pump.replacement_estimated is True


def test_entered_values_override_the_model(clinic, patient):
    form = submit(clinic, patient, alarm_volume_ml="3.5", eri_date="2030-01-15")
    assert form.is_valid(), form.errors
    pump = Pump.objects.get(serial_number="NGP1234567")
    assert pump.alarm_volume_ml == Decimal("3.5")
    assert pump.replacement_due == date(2030, 1, 15)
    assert pump.replacement_estimated is False


@pytest.mark.parametrize("alarm", ["0.5", "3", "10"])
def test_alarm_volume_accepted(clinic, patient, alarm):
    form = submit(clinic, patient, alarm_volume_ml=alarm)
    assert form.is_valid(), form.errors
    assert Pump.objects.get().alarm_volume_ml == Decimal(alarm)


@pytest.mark.parametrize("alarm", ["0", "0.49", "10.01", "-1", "15"])
def test_alarm_volume_out_of_range(clinic, patient, alarm):
    # 0 must be refused, not silently replaced by the model's 2.0 mL.
    assert_error(submit(clinic, patient, alarm_volume_ml=alarm), "alarm_volume_ml", "between 0.5 and 10 mL")


@pytest.mark.parametrize("alarm, valid", [("7.99", True), ("8", False), ("9", False)])
def test_alarm_volume_below_the_reservoir(clinic, patient, alarm, valid):
    form = submit(
        clinic,
        patient,
        model=pump_model("other").pk,
        reservoir_ml="8",
        alarm_volume_ml=alarm,
        eri_date="2031-01-01",
    )
    if valid:
        assert form.is_valid(), form.errors
    else:
        assert_error(form, "alarm_volume_ml", "below the reservoir")


@pytest.mark.parametrize("reservoir", ["0", "-20", "100.01"])
def test_reservoir_out_of_range(clinic, patient, reservoir):
    # An entered 0 must be refused, not silently replaced by the model's 20 mL.
    assert_error(submit(clinic, patient, reservoir_ml=reservoir), "reservoir_ml", "more than 0 and at most 100 mL")


def test_other_model_needs_reservoir_alarm_and_eri(clinic, patient):
    form = submit(clinic, patient, model=pump_model("other").pk)
    assert_error(form, "reservoir_ml", "reservoir size")
    assert_error(form, "alarm_volume_ml", "alarm volume")
    assert_error(form, "eri_date", "ERI date")


def test_other_model_complete_is_saved(clinic, patient):
    form = submit(
        clinic, patient, model=pump_model("other").pk, reservoir_ml="18", alarm_volume_ml="2.5", eri_date="2032-06-30"
    )
    assert form.is_valid(), form.errors
    pump = Pump.objects.get()
    assert (pump.reservoir_ml, pump.alarm_volume_ml) == (Decimal("18"), Decimal("2.5"))
    assert (pump.replacement_due, pump.replacement_estimated) == (date(2032, 6, 30), False)


@pytest.mark.parametrize(
    "field, value",
    [
        ("reservoir_ml", "1e20"),
        ("reservoir_ml", "20.001"),
        ("alarm_volume_ml", "1E+20"),
        ("alarm_volume_ml", "2.555"),
        ("alarm_volume_ml", "abc"),
        ("implant_date", "2026-13-01"),
    ],
)
@pytest.mark.parametrize("model", ["synchromed-ii-20", "other"])
def test_malformed_input_is_one_clear_field_error(clinic, patient, field, value, model):
    extra = {"reservoir_ml": "20", "alarm_volume_ml": "2", "eri_date": "2032-01-01"} if model == "other" else {}
    form = submit(clinic, patient, model=pump_model(model).pk, **{**extra, field: value})
    assert not form.is_valid()
    assert list(form.errors) == [field], form.errors
    assert len(form.errors[field]) == 1, form.errors[field]


def test_implant_date_in_the_future(clinic, patient):
    assert_error(submit(clinic, patient, implant_date="2026-03-11"), "implant_date", "in the future")
    assert submit(clinic, patient, implant_date="2026-03-10").is_valid()


def test_eri_before_implant(clinic, patient):
    assert_error(submit(clinic, patient, eri_date="2026-02-28"), "eri_date", "before the implant date")


def test_duplicate_serial_refused_in_the_clinic(clinic, patient):
    PumpFactory(patient=PatientFactory(clinic=clinic), serial_number="NGP1234567")
    assert_error(submit(clinic, patient), "serial_number", "NGP1234567")
    assert_error(submit(clinic, patient, serial_number="  NGP1234567 "), "serial_number", "Another pump")


def test_same_serial_allowed_in_another_clinic(clinic, other_clinic, patient):
    PumpFactory(patient=PatientFactory(clinic=other_clinic), serial_number="NGP1234567")
    form = submit(clinic, patient)
    assert form.is_valid(), form.errors
    assert Pump.objects.filter(serial_number="NGP1234567").count() == 2


def test_editing_a_pump_keeps_its_serial_and_recomputes(clinic, patient):
    pump = PumpFactory(patient=patient, serial_number="NGP1234567", implant_date=date(2024, 1, 10))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    pump = Pump.objects.get(pk=pump.pk)
    form = submit(clinic, instance=pump, implant_date="2024-01-10", alarm_volume_ml="4")
    assert form.is_valid(), form.errors
    pump.refresh_from_db()
    assert pump.alarm_volume_ml == Decimal("4")
    assert pump.alarm_date == date(2026, 3, 22)  # 16 mL above the alarm at 0.2 mL/day


def test_reservoir_cannot_shrink_below_a_recorded_fill(clinic, patient):
    pump = PumpFactory(patient=patient, serial_number="NGP1234567", implant_date=date(2024, 1, 10))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)  # 20 mL
    form = submit(
        clinic,
        instance=pump,
        model=pump_model("other").pk,
        implant_date="2024-01-10",
        reservoir_ml="18",
        alarm_volume_ml="2",
        eri_date="2031-01-01",
    )
    assert_error(form, "reservoir_ml", "more than this reservoir holds")
    pump.refresh_from_db()
    assert pump.reservoir_ml == Decimal("20")
    assert pump.model.code == "synchromed-ii-20"
