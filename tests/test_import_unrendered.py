"""The import's forms (imports.unrendered: no bound fields, the validation exclusions worked
out once per set of errors) validate exactly as the app's forms do, and a model's constraints
are still checked whenever none of their fields is left out (clinic.model_checks); a checked
form is freed as soon as it is let go (no reference cycle through its bound fields)."""

import gc
import weakref
from datetime import date, time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from imports.unrendered import unrendered
from patients.forms import PatientForm, PumpForm
from patients.models import Patient, Pump
from refills.forms import AppointmentForm, RefillForm
from tests.factories import ClinicFactory, PatientFactory, PumpFactory, pump_model

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 20)


def outcome(form):
    valid = form.is_valid()
    errors = {name: [(e.code, list(e.messages)) for e in errs] for name, errs in form.errors.as_data().items()}
    fields = [f for f in form.instance._meta.concrete_fields if not f.generated]
    instance = {f.attname: getattr(form.instance, f.attname) for f in fields}
    return valid, errors, form.cleaned_data, instance, getattr(form, "warnings", None)


def same(form_class, data, **kwargs):
    plain = outcome(form_class(data, **kwargs))
    lean = outcome(unrendered(form_class)(data, **kwargs))
    assert lean == plain
    return plain


PATIENTS = [
    {"mrn": "A1", "first_name": "Ada", "last_name": "Example", "status": "active", "reminders_opt_in": True},
    {"mrn": " ", "first_name": "", "last_name": "x" * 300, "status": "nonsense", "email": "not-an-email"},
    {"mrn": "KNOWN", "first_name": "Ada", "last_name": "Example", "status": "active", "date_of_birth": "2999-01-01"},
    {"mrn": "A2", "first_name": "Ada", "last_name": "Example", "status": "active", "date_of_birth": date(1850, 1, 1)},
]


@pytest.mark.parametrize("data", PATIENTS)
def test_patient_form(data):
    clinic = ClinicFactory()
    same(PatientForm, data, clinic=clinic, today=TODAY, known_mrns={"KNOWN"})


@pytest.mark.parametrize(
    "data",
    [
        {"model": "", "serial_number": "S1", "implant_date": "2024-01-01"},
        {"serial_number": "KNOWN", "implant_date": TODAY, "reservoir_ml": "0", "alarm_volume_ml": "12"},
        {"serial_number": "S2", "implant_date": "2030-01-01", "reservoir_ml": "20.123", "eri_date": "2020-01-01"},
        {"serial_number": "S3", "implant_date": "2024-01-01", "reservoir_ml": "20", "alarm_volume_ml": "2.5"},
    ],
)
@pytest.mark.parametrize("code", ["synchromed-ii-20", "other"])
def test_pump_form(data, code):
    clinic = ClinicFactory()
    model = pump_model(code)
    patient = Patient(clinic=clinic, mrn="NEW", first_name="A", last_name="B")
    data = {"model": model.pk, **data}
    same(
        PumpForm,
        data,
        clinic=clinic,
        today=TODAY,
        patient=patient,
        known_serials={"KNOWN"},
        pump_models={model.pk: model},
    )


@pytest.mark.parametrize(
    "data",
    [
        {
            "performed_on": "2026-03-01",
            "volume_after_ml": "18",
            "concentration_mcg_ml": "2000",
            "daily_dose_mcg": "300",
        },
        {"performed_on": "2026-03-01", "volume_after_ml": "40", "concentration_mcg_ml": "50", "daily_dose_mcg": "0"},
        {"performed_on": "2027-01-01", "volume_after_ml": "x", "concentration_mcg_ml": "700", "daily_dose_mcg": "5000"},
        {"performed_on": "", "volume_after_ml": "", "concentration_mcg_ml": "", "daily_dose_mcg": ""},
    ],
)
def test_refill_form(data):
    pump = Pump(clinic=ClinicFactory(), model=pump_model(), implant_date=date(2024, 1, 1), reservoir_ml=Decimal(20))
    data = {"dosing_mode": "simple", "confirm_unusual_dose": True, **data}
    same(RefillForm, data, pump=pump, today=TODAY, initial_fill=True, residual_required=False)


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "refill", "local_date": date(2026, 4, 1), "local_time": time(9, 30)},
        {"kind": "refill", "local_date": date(2026, 3, 1), "local_time": time(9, 30)},
        {"kind": "implant", "local_date": date(2029, 1, 1), "local_time": "25:00"},
    ],
)
def test_appointment_form(data):
    patient = PatientFactory()
    same(AppointmentForm, data, patient=patient, today=TODAY)


def test_a_form_that_shares_fields_validates_the_same():
    """As the import builds them: the later forms use the first form's fields."""
    clinic = ClinicFactory()
    first = unrendered(PatientForm)(PATIENTS[0], clinic=clinic, today=TODAY, known_mrns={"KNOWN"})
    for data in PATIENTS:
        plain = outcome(PatientForm(data, clinic=clinic, today=TODAY, known_mrns={"KNOWN"}))
        shared = unrendered(PatientForm)(data, clinic=clinic, today=TODAY, known_mrns={"KNOWN"}, fields_of=first)
        assert outcome(shared) == plain


@pytest.mark.parametrize("form_class", [PatientForm, RefillForm])
def test_a_checked_form_is_freed_without_the_garbage_collector(form_class):
    """Django keeps each bound field on its form (a reference cycle); construct_instance asks
    for one per field with a default, so every checked form of an import waited for the
    cyclic collector (a third of its time in a 10,000-row import). The import's form keeps
    none: deleting it frees it at once. The app's own form, for contrast, is not freed."""
    pump = Pump(clinic=ClinicFactory(), model=pump_model(), implant_date=date(2024, 1, 1), reservoir_ml=Decimal(20))
    if form_class is PatientForm:
        data, kwargs = PATIENTS[0], {"clinic": pump.clinic, "today": TODAY, "known_mrns": set()}
    else:
        data = {"dosing_mode": "simple", "performed_on": "2026-03-01", "volume_after_ml": "18"}
        data |= {"concentration_mcg_ml": "500", "daily_dose_mcg": "100", "confirm_unusual_dose": True}
        kwargs = {"pump": pump, "today": TODAY, "initial_fill": True, "residual_required": False}

    def freed_at_once(cls) -> bool:
        form = cls(data, **kwargs)
        assert form.is_valid(), form.errors
        gone = weakref.ref(form)
        del form
        return gone() is None

    gc.disable()
    try:
        assert freed_at_once(unrendered(form_class))
        assert not freed_at_once(form_class)  # the cycle this avoids is there in Django's form
    finally:
        gc.enable()
    with pytest.raises(KeyError, match="not found in"):
        unrendered(form_class)(data, **kwargs)["no_such_field"]  # Django's own error for a wrong name


def test_constraints_are_still_checked_when_their_fields_are_validated():
    existing = PumpFactory()
    duplicate = Pump(
        clinic=existing.clinic,
        patient=PatientFactory(clinic=existing.clinic),
        model=existing.model,
        serial_number=existing.serial_number,
        implant_date=date(2024, 1, 1),
        reservoir_ml=Decimal(20),
        alarm_volume_ml=Decimal(2),
    )
    with pytest.raises(ValidationError) as raised:
        duplicate.validate_constraints()
    assert "pump_serial_unique_in_clinic" in str(raised.value) or "__all__" in raised.value.message_dict
    duplicate.validate_constraints(exclude={"clinic", "patient"})  # every constraint names an excluded field
    with pytest.raises(ValidationError):
        duplicate.validate_constraints(exclude={"patient"})  # the serial's constraint still applies
