"""The audit trail records who changed what, with old and new values."""

from auditlog.models import LogEntry
from django.urls import reverse

from clinic.audit import acting_as, clinic_history, log_export, patient_history
from tests.factories import AppointmentFactory, PatientFactory, PumpFactory, RefillFactory


def test_form_edit_is_recorded_with_the_acting_user(client, admin_user, clinic):
    client.force_login(admin_user)
    data = {
        "name": clinic.name,
        "phone": "0100 999 9999",
        "email": "",
        "time_zone": "Europe/London",
        "buffer_days": 10,
        "due_soon_days": 14,
        "replacement_window_days": 180,
        "reminders_enabled": "on",
        "digest_hour": 7,
        "appointment_reminder_lead_days": "7, 1",
        "working_days": [0, 1, 2, 3, 4],
        "screening_target_days": 42,
        "escalation_delay_hours": 2,
    }
    response = client.post(reverse("clinic_settings"), data)
    assert response.status_code == 302
    entry = clinic_history(clinic).filter(action=LogEntry.Action.UPDATE).first()
    assert entry.actor == admin_user
    assert entry.changes_dict["buffer_days"] == ["7", "10"]
    assert entry.changes_dict["phone"][1] == "0100 999 9999"


def test_patient_history_gathers_pump_fill_and_appointment_changes(clinic, manager):
    with acting_as(manager):
        patient = PatientFactory(clinic=clinic)
        pump = PumpFactory(patient=patient)
        RefillFactory(pump=pump, is_initial_fill=True)
        AppointmentFactory(patient=patient, pump=pump)
        patient.phone = "0100 555 0000"
        patient.save()
    other = PatientFactory(clinic=clinic)
    entries = list(patient_history(clinic, patient))
    kinds = {entry.content_type.model for entry in entries}
    assert kinds == {"patient", "pump", "refill", "appointment"}
    assert all(entry.actor == manager for entry in entries)
    assert not patient_history(clinic, other).filter(additional_data__patient_id=patient.pk).exists()
    update = next(e for e in entries if e.action == LogEntry.Action.UPDATE and e.content_type.model == "patient")
    assert update.changes_dict["phone"] == ["0100 111 2222", "0100 555 0000"]


def test_computed_pump_columns_are_not_noise_in_the_trail(clinic):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic))
    RefillFactory(pump=pump, is_initial_fill=True)
    pump.refresh_from_db()
    pump.alarm_volume_ml = "3.00"
    pump.save()
    update = LogEntry.objects.get_for_object(pump).filter(action=LogEntry.Action.UPDATE).first()
    assert set(update.changes_dict) == {"alarm_volume_ml"}


def test_export_is_logged(clinic, staff):
    entry = log_export(clinic, staff, what="caseload", fmt="csv", rows=12)
    assert entry.action == LogEntry.Action.ACCESS
    assert entry.actor == staff
    assert clinic_history(clinic).filter(pk=entry.pk).exists()


def test_patient_history_page_shows_the_change_and_who(client, clinic, manager, staff):
    with acting_as(manager):
        patient = PatientFactory(clinic=clinic)
        patient.phone = "0100 777 0000"
        patient.save()
    client.force_login(staff)
    page = client.get(reverse("patient_history", kwargs={"pk": patient.pk}))
    assert b"0100 777 0000" in page.content
    assert manager.get_full_name().encode() in page.content


def test_import_changes_are_recorded_with_the_acting_user(tmp_path, clinic, admin_user):
    from django.core.management import call_command

    csv = tmp_path / "caseload.csv"
    header = "mrn,first_name,last_name,phone,pump_model,serial_number,implant_date,last_refill_date,volume_after_refill_ml,concentration_mcg_ml,daily_dose_mcg\n"
    csv.write_text(
        header + "A100,Test,Person,0100 000 0001,synchromed-ii-20,SN-A100,2025-01-10,2025-01-10,20,2000,400\n"
    )
    call_command("import_caseload", str(csv), clinic=clinic.slug, user=admin_user.username)
    csv.write_text(
        header + "A100,Test,Person,0100 000 0002,synchromed-ii-20,SN-A100,2025-01-10,2025-01-10,20,2000,400\n"
    )
    call_command("import_caseload", str(csv), clinic=clinic.slug, user=admin_user.username)
    from patients.models import Patient

    patient = Patient.objects.get(clinic=clinic, mrn="A100")
    entries = patient_history(clinic, patient)
    assert {e.content_type.model for e in entries} >= {"patient", "pump", "refill"}
    assert all(e.actor == admin_user for e in entries)
    phone_change = entries.filter(action=LogEntry.Action.UPDATE, content_type__model="patient").first()
    assert phone_change.changes_dict["phone"] == ["0100 000 0001", "0100 000 0002"]


def test_acting_as_leaves_no_receiver_behind_when_a_plain_set_actor_nests_inside(clinic, manager, staff):
    """auditlog's request middleware uses set_actor, which ends by disconnecting whatever context
    is current: inside acting_as (a request made during an import job) that used to leave
    acting_as's receiver connected for the life of the process, stamping later entries."""
    from auditlog.context import set_actor
    from django.db.models import signals

    before = len(signals.pre_save.receivers)
    with acting_as(manager), set_actor(staff):
        PatientFactory(clinic=clinic, mrn="INNER-1")
    assert len(signals.pre_save.receivers) == before
    PatientFactory(clinic=clinic, mrn="AFTER-1")
    actors = {e.object_repr: e.actor for e in clinic_history(clinic).filter(action=LogEntry.Action.CREATE)}
    inner, after = (next(a for r, a in actors.items() if mrn in r) for mrn in ("INNER-1", "AFTER-1"))
    assert (inner, after) == (staff, None)
