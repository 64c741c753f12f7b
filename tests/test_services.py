"""refills.services are the only writers of a pump's derived state (STYLE convention 11).

After every service, the pump's stored columns equal what the pure engine (refills.schedule)
answers from the pump's rows as they are now; saving or deleting a model directly changes
that row only (no hidden hooks); and the Django admin writes through the services.
"""

import ast
import inspect
import textwrap
from datetime import date, time
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib import admin
from django.db.models import signals
from django.test import RequestFactory
from django.urls import reverse

from clinic.models import Clinic
from patients.models import Patient, Pump
from refills import schedule, services
from refills.models import Appointment, ProgramChange, Refill
from tests.factories import (
    AppointmentFactory,
    PatientFactory,
    ProgramChangeFactory,
    PumpFactory,
    RefillFactory,
    UserFactory,
    pump_model,
)

pytestmark = pytest.mark.django_db

STORED = (*Pump.SCHEDULE_FIELDS, "first_refill_booking")


def stored(pump: Pump) -> dict:
    return dict(Pump.objects.filter(pk=pump.pk).values(*STORED).get())


def engine_answer(pump: Pump) -> dict:
    """The stored columns as the pure engine computes them from the pump's rows now."""
    pump = Pump.objects.select_related("model", "clinic").get(pk=pump.pk)
    clinic, model = pump.clinic, pump.model
    answer = dict.fromkeys(Pump.SCHEDULE_FIELDS)
    refill = Refill.objects.filter(pump=pump).order_by("-performed_on", "-id").first()
    if refill is not None:
        changes = ProgramChange.objects.filter(pump=pump, performed_on__gt=refill.performed_on).order_by(
            "performed_on", "id"
        )
        cycle = schedule.fill_cycle(
            refill.performed_on,
            refill.volume_after_ml,
            refill.concentration_mcg_ml,
            refill.daily_dose_mcg,
            refill.bolus_allowance_mcg,
            [(c.performed_on, c.daily_dose_mcg, c.bolus_allowance_mcg) for c in changes],
        )
        result = schedule.pump_schedule(
            cycle, pump.alarm_volume_ml, clinic.buffer_days, model.max_refill_interval_days, clinic.due_soon_days
        )
        answer.update(
            last_refill_date=refill.performed_on,
            alarm_date=result.alarm_date,
            empty_date=result.empty_date,
            refill_due=result.refill_due,
            due_soon_from=result.due_soon_from,
        )
    replacement = schedule.replacement_due(pump.implant_date, model.service_life_months, pump.eri_date)
    answer["replacement_due"] = replacement.due if replacement else None
    answer["replacement_estimated"] = replacement.estimated if replacement else True
    booked = Appointment.objects.filter(pump=pump, kind="refill", status="scheduled").values_list(
        "local_date", flat=True
    )
    answer["first_refill_booking"] = min(booked, default=None)
    return answer


def assert_engine_agrees(pump: Pump) -> None:
    assert stored(pump) == engine_answer(pump)


@pytest.fixture
def pump(clinic):
    return PumpFactory(patient=PatientFactory(clinic=clinic))


@pytest.fixture
def filled(pump):
    services.record_refill(
        Refill(
            pump=pump,
            performed_on=date(2026, 1, 1),
            is_initial_fill=True,
            volume_after_ml=Decimal("20"),
            concentration_mcg_ml=Decimal("2000"),
            daily_dose_mcg=Decimal("400"),
        )
    )
    return pump


def refill_on(pump, day, volume="18", removed="4"):
    return Refill(
        pump=pump,
        performed_on=day,
        volume_removed_ml=Decimal(removed),
        volume_after_ml=Decimal(volume),
        concentration_mcg_ml=Decimal("2000"),
        daily_dose_mcg=Decimal("400"),
    )


def visit(pump, day, **fields):
    return Appointment(patient=pump.patient, pump=pump, local_date=day, local_time=time(10, 0), **fields)


# --- every service leaves the engine's answer stored ------------------------------------------


def test_record_refill_new_and_edited(filled):
    assert_engine_agrees(filled)
    refill = services.record_refill(refill_on(filled, date(2026, 3, 1)))
    assert stored(filled)["last_refill_date"] == date(2026, 3, 1)
    assert_engine_agrees(filled)
    refill.volume_after_ml = Decimal("9")
    services.record_refill(refill)
    assert_engine_agrees(filled)
    assert refill.expected_residual_ml == Decimal("8.200")  # 20 mL - 59 days at 0.2 mL/day


def test_change_program_and_delete_fill_event(filled):
    change = services.change_program(
        ProgramChange(pump=filled, performed_on=date(2026, 1, 31), daily_dose_mcg=Decimal("800"))
    )
    assert stored(filled)["alarm_date"] == date(2026, 3, 2)
    assert_engine_agrees(filled)
    change.bolus_allowance_mcg = Decimal("200")
    services.change_program(change)
    assert_engine_agrees(filled)
    services.delete_fill_event(change)
    assert stored(filled)["alarm_date"] == date(2026, 4, 1)
    assert_engine_agrees(filled)
    services.delete_fill_event(filled.refills.get())
    assert stored(filled)["alarm_date"] is None
    assert_engine_agrees(filled)


def test_moving_a_fill_later_rechecks_the_refills_after_its_old_date(filled):
    change = services.change_program(
        ProgramChange(pump=filled, performed_on=date(2026, 1, 11), daily_dose_mcg=Decimal("800"))
    )
    later = services.record_refill(refill_on(filled, date(2026, 2, 10), removed="6"))
    assert later.expected_residual_ml == Decimal("6.000")
    change.performed_on = date(2026, 2, 20)  # now after the refill: its residual no longer includes it
    services.change_program(change)
    later.refresh_from_db()
    assert later.expected_residual_ml == Decimal("12.000")
    assert_engine_agrees(filled)


def test_acknowledge_changes_only_the_review(filled, manager):
    refill = services.record_refill(refill_on(filled, date(2026, 3, 1), removed="12"))
    assert refill.needs_review is True
    before = stored(filled)
    services.acknowledge_refill(refill, manager, "Checked.")
    refill.refresh_from_db()
    assert (refill.needs_review, refill.reviewed_by, refill.review_note) == (False, manager, "Checked.")
    assert stored(filled) == before


def test_edit_pump(filled):
    filled.alarm_volume_ml = Decimal("4")
    filled.eri_date = date(2029, 11, 5)
    services.edit_pump(filled)
    assert stored(filled)["replacement_due"] == date(2029, 11, 5)
    assert_engine_agrees(filled)
    filled.model = pump_model("prometra-ii-20")
    services.edit_pump(filled)
    assert_engine_agrees(filled)


def test_implant_stores_the_dates_of_the_first_fill(clinic):
    patient = Patient(clinic=clinic, mrn="IMPL-1", first_name="Ada", last_name="Implant")
    model = pump_model()
    pump = Pump(
        clinic=clinic,
        model=model,
        serial_number="IMPL-SN",
        implant_date=date(2026, 1, 1),
        reservoir_ml=model.reservoir_ml,
        alarm_volume_ml=model.alarm_volume_ml,
    )
    fill = refill_on(pump, date(2026, 1, 1), volume="20", removed="0")
    pump = services.implant(pump, fill, patient=patient)
    assert pump.patient_id == patient.pk and fill.is_initial_fill is True
    assert stored(pump)["alarm_date"] == date(2026, 4, 1)
    assert_engine_agrees(pump)


def test_explant_cancels_bookings_and_stores_none(filled):
    services.book_appointment(visit(filled, date(2026, 3, 20)))
    assert stored(filled)["first_refill_booking"] == date(2026, 3, 20)
    assert services.explant(filled, date(2026, 3, 1)) == 1
    assert stored(filled)["first_refill_booking"] is None
    assert_engine_agrees(filled)


def test_appointment_services(filled):
    first = services.book_appointment(visit(filled, date(2026, 3, 20)))
    second = services.book_appointment(visit(filled, date(2026, 3, 24)))
    assert stored(filled)["first_refill_booking"] == date(2026, 3, 20)
    first.local_date = date(2026, 3, 30)
    services.move_appointment(first)
    assert stored(filled)["first_refill_booking"] == date(2026, 3, 24)
    for status_service in (services.cancel_appointment, services.complete_appointment, services.no_show_appointment):
        status_service(second)
        assert stored(filled)["first_refill_booking"] == date(2026, 3, 30)
        assert_engine_agrees(filled)
        second.status = Appointment.Status.SCHEDULED
        services.move_appointment(second)
        assert stored(filled)["first_refill_booking"] == date(2026, 3, 24)
    services.delete_appointment(second)
    assert stored(filled)["first_refill_booking"] == date(2026, 3, 30)
    services.delete_appointments(Appointment.objects.filter(pump=filled))
    assert stored(filled)["first_refill_booking"] is None
    assert_engine_agrees(filled)


def test_moving_an_appointment_to_another_pump_recomputes_both(filled):
    other = PumpFactory(patient=filled.patient, status=Pump.Status.EXPLANTED, serial_number="OTHER-1")
    appointment = services.book_appointment(visit(filled, date(2026, 3, 20)))
    appointment = Appointment.objects.get(pk=appointment.pk)
    appointment.pump = other
    services.move_appointment(appointment)
    assert stored(filled)["first_refill_booking"] is None
    assert stored(other)["first_refill_booking"] == date(2026, 3, 20)
    assert_engine_agrees(filled)
    assert_engine_agrees(other)


def test_deleting_a_patient_recomputes_the_pumps_its_cascade_unbooks(filled, clinic):
    """A cascade delete sends no save: the deleting service recomputes the pumps explicitly."""
    other_patient = PatientFactory(clinic=clinic)  # no pump of their own; booked on ``filled``
    services.book_appointment(
        Appointment(patient=other_patient, pump=filled, local_date=date(2026, 3, 20), local_time=time(9, 0))
    )
    assert stored(filled)["first_refill_booking"] == date(2026, 3, 20)
    services.delete_patient(other_patient)
    assert not Appointment.objects.filter(pump=filled).exists()
    assert stored(filled)["first_refill_booking"] is None
    assert_engine_agrees(filled)


def test_deleting_a_pump_deletes_its_rows_and_keeps_the_other_pumps_booking(filled, clinic):
    """Its appointments and fills go first, while it exists (a plain cascade failed: the cache
    and audit receivers of a cascaded appointment read the pump already deleted)."""
    explanted = PumpFactory(patient=filled.patient, status=Pump.Status.EXPLANTED, serial_number="OLD-1")
    services.record_refill(refill_on(explanted, date(2026, 1, 5), volume="10", removed="0"))
    kept = services.book_appointment(visit(filled, date(2026, 3, 28)))
    services.book_appointment(visit(explanted, date(2026, 3, 20)))
    services.delete_pump(explanted)
    assert not Pump.objects.filter(pk=explanted.pk).exists()
    assert not Appointment.objects.filter(pump_id=explanted.pk).exists()
    assert not Refill.objects.filter(pump_id=explanted.pk).exists()
    assert stored(filled)["first_refill_booking"] == kept.local_date
    assert_engine_agrees(filled)


def test_change_clinic_settings(filled, clinic):
    services.book_appointment(visit(filled, date(2026, 3, 20)))
    editable = Clinic.objects.get(pk=clinic.pk)
    editable.buffer_days, editable.due_soon_days = 12, 30
    services.change_clinic_settings(editable)
    assert stored(filled)["refill_due"] == date(2026, 3, 20)
    assert_engine_agrees(filled)
    editable.time_zone = "Asia/Tokyo"
    services.change_clinic_settings(editable)
    appointment = Appointment.objects.get(pump=filled)
    assert appointment.starts_at.hour == 1  # 10:00 in Tokyo is 01:00 UTC


def test_bulk_create_stores_what_the_single_row_services_store(clinic):
    rows = []
    for index in range(3):
        patient = Patient(clinic=clinic, mrn=f"BULK-{index}", first_name="Bo", last_name=f"Bulk{index}")
        model = pump_model()
        pump = Pump(
            clinic=clinic,
            patient=patient,
            model=model,
            serial_number=f"BULK-SN-{index}",
            implant_date=date(2025, 6, 1),
            reservoir_ml=model.reservoir_ml,
            alarm_volume_ml=model.alarm_volume_ml,
        )
        fill = refill_on(pump, date(2026, 1, 1 + index), volume=str(10 + index), removed="0")
        booking = visit(pump, date(2026, 3, 10 + index)) if index else None
        if booking is not None:
            booking.patient = patient
        rows.append(SimpleNamespace(patient=patient, pump=pump, refill=fill, appointment=booking))

    def insert(model, objects):
        model.objects.bulk_create(objects)

    services.create_in_bulk(rows, insert)
    for row in rows:
        assert_engine_agrees(row.pump)
    assert stored(rows[1].pump)["first_refill_booking"] == date(2026, 3, 11)


# --- no hidden hooks: saving a model directly changes that row only ---------------------------


def test_direct_model_saves_and_deletes_do_not_touch_the_pumps_stored_columns(filled, clinic):
    before = stored(filled)
    Appointment(patient=filled.patient, pump=filled, local_date=date(2026, 3, 2), local_time=time(9, 0)).save()
    Refill(
        pump=filled,
        performed_on=date(2026, 3, 1),
        volume_after_ml=Decimal("5"),
        concentration_mcg_ml=Decimal("2000"),
        daily_dose_mcg=Decimal("400"),
    ).save()
    ProgramChange(pump=filled, performed_on=date(2026, 3, 5), daily_dose_mcg=Decimal("800")).save()
    plain = Pump.objects.get(pk=filled.pk)
    plain.alarm_volume_ml, plain.eri_date = Decimal("5"), date(2027, 1, 1)
    plain.save()
    editable = Clinic.objects.get(pk=clinic.pk)
    editable.buffer_days = 0
    editable.save()
    after = stored(filled)
    assert after == before
    assert after != engine_answer(filled)  # the services would have changed them
    Refill.objects.filter(pump=filled).first().delete()
    Appointment.objects.filter(pump=filled).delete()
    assert stored(filled) == before


def test_no_model_save_or_delete_of_the_domain_apps_has_side_effects():
    """Only Appointment.save is overridden (it sets its own UTC start), and no model has
    from_db change tracking."""
    overrides = {}
    for config in (apps.get_app_config(label) for label in ("clinic", "patients", "refills")):
        for model in config.get_models():
            for name in ("save", "delete", "from_db"):
                if name in vars(model):
                    overrides.setdefault(model.__name__, []).append(name)
    assert overrides == {"Appointment": ["save"]}
    tree = ast.parse(textwrap.dedent(inspect.getsource(Appointment.save)))
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert calls <= {"start_moment", "save", "super"}


def receivers(signal):
    for entry in signal.receivers:
        ref = entry[1]
        function = ref() if callable(ref) and type(ref).__name__ in ("ReferenceType", "WeakMethod") else ref
        yield getattr(function, "__module__", "")


def test_the_only_signal_receivers_are_audit_cache_and_login_tracking():
    modules = {
        module
        for signal in (signals.pre_save, signals.post_save, signals.pre_delete, signals.post_delete)
        for module in receivers(signal)
    }
    assert modules <= {"auditlog.receivers", "clinic.caseload_cache", "axes.signals"}, modules


# --- the admin writes through the services -----------------------------------------------------


@pytest.fixture
def superuser():
    return UserFactory(username="root-services", is_staff=True, is_superuser=True)


def admin_request(user):
    request = RequestFactory().post("/admin/")
    request.user = user
    return request


def test_admin_saves_and_deletes_through_the_services(filled, clinic, superuser):
    request = admin_request(superuser)
    refill_admin = admin.site._registry[Refill]
    refill = refill_on(filled, date(2026, 3, 1))
    refill_admin.save_model(request, refill, form=None, change=False)
    assert stored(filled)["last_refill_date"] == date(2026, 3, 1)
    assert_engine_agrees(filled)
    refill_admin.delete_queryset(request, Refill.objects.filter(pk=refill.pk))
    assert stored(filled)["last_refill_date"] == date(2026, 1, 1)

    change_admin = admin.site._registry[ProgramChange]
    change = ProgramChange(pump=filled, performed_on=date(2026, 1, 31), daily_dose_mcg=Decimal("800"))
    change_admin.save_model(request, change, form=None, change=False)
    assert_engine_agrees(filled)
    change_admin.delete_model(request, change)
    assert_engine_agrees(filled)

    appointment_admin = admin.site._registry[Appointment]
    appointment = visit(filled, date(2026, 3, 20))
    appointment_admin.save_model(request, appointment, form=None, change=False)
    assert stored(filled)["first_refill_booking"] == date(2026, 3, 20)

    pump_admin = admin.site._registry[Pump]
    filled.eri_date = date(2029, 1, 1)
    pump_admin.save_model(request, filled, form=None, change=True)
    assert stored(filled)["replacement_due"] == date(2029, 1, 1)

    clinic_admin = admin.site._registry[Clinic]
    editable = Clinic.objects.get(pk=clinic.pk)
    editable.buffer_days = 0
    clinic_admin.save_model(request, editable, form=None, change=True)
    assert stored(filled)["refill_due"] == date(2026, 4, 1)
    assert_engine_agrees(filled)


def test_admin_delete_page_recomputes_the_booking(client, filled, superuser):
    appointment = AppointmentFactory(patient=filled.patient, pump=filled, local_date=date(2026, 3, 20))
    assert stored(filled)["first_refill_booking"] == date(2026, 3, 20)
    client.force_login(superuser)
    response = client.post(reverse("admin:refills_appointment_delete", args=[appointment.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Appointment.objects.filter(pk=appointment.pk).exists()
    assert stored(filled)["first_refill_booking"] is None


# --- factories build through the services ------------------------------------------------------


def test_factories_store_the_dates(pump):
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    ProgramChangeFactory(pump=pump, performed_on=date(2026, 2, 1))
    AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 1))
    assert stored(pump)["first_refill_booking"] == date(2026, 3, 1)
    assert_engine_agrees(pump)
