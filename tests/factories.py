"""factory_boy factories for invented test data."""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from clinic.models import Clinic, Membership
from patients.models import Patient, Pump, PumpModel
from refills import services
from refills.models import Appointment, ProgramChange, Refill


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Test Clinic {n}")
    slug = factory.Sequence(lambda n: f"clinic-{n}")
    time_zone = "Europe/London"
    phone = "0100 000 0000"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    clinic = factory.SubFactory(ClinicFactory)
    role = Membership.Role.STAFF


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    first_name = factory.Sequence(lambda n: f"Ada{n}")
    last_name = factory.Sequence(lambda n: f"Example{n}")
    date_of_birth = date(1980, 5, 17)
    email = factory.LazyAttribute(lambda p: f"{p.mrn.lower()}@example.invalid")
    phone = "0100 111 2222"


def pump_model(code: str = "synchromed-ii-20") -> PumpModel:
    return PumpModel.objects.get(code=code)


class PumpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pump

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    model = factory.LazyFunction(pump_model)
    serial_number = factory.Sequence(lambda n: f"NGP{n:07d}")
    implant_date = date(2024, 1, 10)
    reservoir_ml = factory.LazyAttribute(lambda p: p.model.reservoir_ml)
    alarm_volume_ml = factory.LazyAttribute(lambda p: p.model.alarm_volume_ml)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Through the service, as the pages do: the pump gets its stored dates.
        return services.edit_pump(model_class(*args, **kwargs))


class RefillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Refill

    pump = factory.SubFactory(PumpFactory)
    performed_on = date(2026, 1, 1)
    volume_removed_ml = None
    volume_added_ml = Decimal("20")
    volume_after_ml = Decimal("20")
    concentration_mcg_ml = Decimal("2000")
    daily_dose_mcg = Decimal("400")
    bolus_allowance_mcg = Decimal("0")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.record_refill(model_class(*args, **kwargs))


class ProgramChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProgramChange

    pump = factory.SubFactory(PumpFactory)
    performed_on = date(2026, 2, 1)
    daily_dose_mcg = Decimal("500")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.change_program(model_class(*args, **kwargs))


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientFactory)
    pump = None
    kind = Appointment.Kind.REFILL
    local_date = date(2026, 3, 1)
    local_time = factory.LazyFunction(lambda: __import__("datetime").time(10, 0))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Through the service, as the pages do: the pump's booking state follows.
        return services.book_appointment(model_class(*args, **kwargs))
