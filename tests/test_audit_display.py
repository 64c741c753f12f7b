"""The audit trail in the clinic's words (issue 12 item 9, SPEC 8): labels and human values,
no internal ids, the latest entries on the patient page, the right actor."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.audit import acting_as, log_export, patient_history
from clinic.audit_display import describe_entries
from demo import seeder as demo
from records.views import AUDIT_ENTRIES_ON_PAGE
from refills.models import Appointment, ProgramChange, Refill
from tests.factories import AppointmentFactory, PatientFactory, ProgramChangeFactory, PumpFactory, RefillFactory

RAW = [
    "refills.ProgramChange.None",
    "refills.Refill.None",
    "patients.Pump.None",
    ".None",
    "True",
    "False",
    "synchromed-ii-20",
    "20.00",
    "2026-01-01",
]


def cells(html: str) -> str:
    """The audit table's text, tags dropped."""
    table = html.split('<table class="table audit">')[1].split("</table>")[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table))


@pytest.fixture
def history(clinic, manager):
    """A patient with a pump, a first fill, a program change, an appointment, and edits."""
    with acting_as(manager):
        patient = PatientFactory(clinic=clinic, first_name="Ada", last_name="Lovelace", mrn="MRN-9", manager=manager)
        pump = PumpFactory(patient=patient, serial_number="NGP4242")
        RefillFactory(pump=pump, is_initial_fill=True, performed_by=manager)
        ProgramChangeFactory(pump=pump, performed_by=manager)
        AppointmentFactory(patient=patient, pump=pump, assigned_to=manager)
        patient.reminders_opt_in = True
        patient.status = "inactive"
        patient.save()
        pump.alarm_volume_ml = Decimal("3.50")
        pump.eri_date = date(2030, 5, 6)
        pump.save()
    return patient, pump


def test_history_page_shows_labels_and_human_values(client, staff, manager, history):
    patient, pump = history
    client.force_login(staff)
    text = cells(client.get(reverse("patient_history", args=[patient.pk])).content.decode())
    # Foreign keys by name, choices by label, booleans in words, dates in words, numbers plain.
    assert "Pump: SynchroMed II 20 mL, serial NGP4242" in text
    assert f"Performed by: {manager.get_full_name()}" in text
    assert f"Pump manager: {manager.get_full_name()}" in text
    assert "Dosing mode: Simple continuous" in text
    assert "First fill at implant: Yes" in text
    assert "Email reminders: No → Yes" in text
    assert "Status: Active → Inactive" in text
    assert "Low-reservoir alarm volume (mL): 2 → 3.5" in text
    assert "ERI date: — → Mon 6 May 2030" in text or "Mon 6 May 2030" in text
    assert "Date: Thu 1 Jan 2026" in text
    assert "Concentration (mcg/mL): 2000" in text and "Volume added (mL): 20 " in text
    assert "Refill visit on Sun 1 Mar 2026 at 10:00" in text
    assert "Program change: Sun 1 Feb 2026" in text, "a program change belongs to the patient's history"
    # No internal ids, reverse relations, codes or raw values.
    for raw in RAW:
        assert raw not in text, raw
    assert not re.search(r"\b(id|pk|clinic|pump id|program changes|refills|appointments)\s*:", text, re.I)
    fk_labels = "Pump|Pump model|Performed by|Pump manager|Assigned to|Created by|Patient|User"
    assert not re.search(rf"\b({fk_labels}): (— → )?\d+\b", text), "a foreign key shown as its id"


def test_update_shows_only_what_changed(client, staff, history):
    patient, _pump = history
    client.force_login(staff)
    with acting_as(staff):
        patient.phone = "0100 999 0000"
        patient.save()
    entry = patient_history(patient.clinic, patient).first()
    row = describe_entries([entry])[0]
    assert row.action == "Changed"
    assert [(c.label, c.old, c.new) for c in row.changes] == [("Phone", "0100 111 2222", "0100 999 0000")]
    assert row.who == staff.get_full_name()


def test_patient_page_shows_the_latest_entries_and_links_to_the_full_history(client, staff, history):
    patient, pump = history
    with acting_as(staff):
        for day in range(1, 9):
            RefillFactory(pump=pump, performed_on=date(2026, 1, 1) + timedelta(days=day), volume_removed_ml=19)
    assert patient_history(patient.clinic, patient).count() > AUDIT_ENTRIES_ON_PAGE
    client.force_login(staff)
    html = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    audit = html.split('id="h-audit"')[1]
    assert AUDIT_ENTRIES_ON_PAGE == 5
    assert audit.count('<td class="audit-when">') == AUDIT_ENTRIES_ON_PAGE
    assert f'href="{reverse("patient_history", args=[patient.pk])}">Full history' in audit
    full = client.get(reverse("patient_history", args=[patient.pk])).content.decode()
    assert full.count('<td class="audit-when">') == patient_history(patient.clinic, patient).count()


def test_related_rows_are_read_once_per_page_not_per_entry(clinic, manager, staff):
    with acting_as(manager):
        pump = PumpFactory(patient=PatientFactory(clinic=clinic))
        RefillFactory(pump=pump, is_initial_fill=True, performed_by=manager)
        ProgramChangeFactory(pump=pump, performed_by=manager)

    def queries():
        entries = list(patient_history(clinic, pump.patient))
        with CaptureQueriesContext(connection) as captured:
            describe_entries(entries, with_patient=True)
        return len(captured), len(entries)

    few, before = queries()
    with acting_as(staff):
        for day in range(1, 30):
            RefillFactory(pump=pump, performed_on=date(2026, 1, 1) + timedelta(days=day), performed_by=staff)
            ProgramChangeFactory(pump=pump, performed_on=date(2026, 3, 1) + timedelta(days=day), performed_by=manager)
    many, after = queries()
    assert after > before + 50
    assert many == few


def test_clinic_trail_names_the_patient_and_exports_in_words(client, admin_user, clinic, history):
    patient, _pump = history
    log_export(clinic, admin_user, what="caseload", fmt="csv", rows=12)
    client.force_login(admin_user)
    text = cells(client.get(reverse("audit_log")).content.decode())
    assert "Patient: Lovelace, Ada (MRN-9)" in text
    assert "Caseload export" in text and "Export: caseload (csv, 12 rows)" in text
    assert ".None" not in text and "True" not in text


def test_deleted_rows_are_described_without_ids(clinic, manager):
    with acting_as(manager):
        pump = PumpFactory(patient=PatientFactory(clinic=clinic))
        RefillFactory(pump=pump, is_initial_fill=True)
        extra = RefillFactory(pump=pump, performed_on=date(2026, 2, 3), volume_removed_ml=10)
        extra.delete()
    deleted = LogEntry.objects.filter(action=LogEntry.Action.DELETE).first()
    assert deleted.object_repr == f"Refill 2026-02-03 of {pump.pk}"
    row = describe_entries([deleted])[0]
    assert row.action == "Deleted"
    assert row.what == "Refill: Tue 3 Feb 2026"
    assert ("Volume removed (mL)", "10") in [(c.label, c.new) for c in row.changes]


def test_times_are_the_clinic_local_time(client, admin_user, clinic):
    with time_machine.travel("2026-07-01 08:05Z", tick=False):
        log_export(clinic, admin_user, what="caseload", fmt="csv", rows=1)
    client.force_login(admin_user)
    text = cells(client.get(reverse("audit_log")).content.decode())
    assert "Wed 1 Jul 2026 09:05" in text  # London summer time, not UTC


def test_nested_acting_as_restores_the_outer_actor(clinic, admin_user, manager):
    with acting_as(admin_user):
        first = PatientFactory(clinic=clinic)
        with acting_as(manager):
            second = PatientFactory(clinic=clinic)
        third = PatientFactory(clinic=clinic)
    actors = {p.pk: LogEntry.objects.get_for_object(p).get().actor for p in (first, second, third)}
    assert actors == {first.pk: admin_user, second.pk: manager, third.pk: admin_user}


@pytest.mark.django_db
def test_seeded_fills_are_attributed_to_their_performer():
    """The demo seeded every fill as the admin while the timeline named the manager."""
    with time_machine.travel("2026-11-25 10:00Z", tick=False):
        clinic, _plan, _today = demo.create_demo()
    entries = LogEntry.objects.filter(action=LogEntry.Action.CREATE, additional_data__clinic_id=clinic.pk)
    checked = 0
    for model, who in ((Refill, "performed_by_id"), (ProgramChange, "performed_by_id"), (Appointment, "created_by_id")):
        scope = {"patient__clinic": clinic} if model is Appointment else {"pump__clinic": clinic}
        rows = {row.pk: getattr(row, who) for row in model.objects.filter(**scope)}
        for entry in entries.filter(content_type__model=model._meta.model_name):
            assert entry.actor_id == rows[entry.object_id], f"{model.__name__} {entry.object_repr}"
            checked += 1
    assert checked > 300
    acknowledged = Refill.objects.filter(pump__clinic=clinic, reviewed_by__isnull=False).first()
    review = LogEntry.objects.get_for_object(acknowledged).filter(action=LogEntry.Action.UPDATE).get()
    assert review.actor_id == acknowledged.reviewed_by_id
