"""The import's path for new patients and pumps (checked against unsaved objects, written in
bulk) stores and audits exactly what the row-by-row path stores, and reports the same problems."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.audit import acting_as
from imports import importer
from imports.columns import COLUMNS
from patients.models import Patient, Pump, PumpModel
from refills.models import Appointment, Refill
from refills.services import compute_schedule
from tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db

HEADER = COLUMNS  # the SPEC section 7 format; a column this file leaves out is an empty cell


def row(n, **changes):
    values = {
        "mrn": f"N{n:03d}",
        "first_name": "Ada",
        "last_name": f"Example{n}",
        "email": f"n{n}@example.invalid",
        "reminders_opt_in": "yes",
        "pump_model": ["synchromed-ii-20", "prometra-ii-40", "other"][n % 3],
        "serial_number": f"S{n:04d}",
        "reservoir_ml": "20" if n % 3 == 2 else "",
        "alarm_volume_ml": "2.5" if n % 3 == 2 else "",
        "implant_date": "2024-01-10",
        "eri_date": "2030-01-01" if n % 3 == 2 else "",
        "last_refill_date": f"2026-03-{1 + n % 20:02d}",
        "volume_after_refill_ml": "20",
        "concentration_mcg_ml": ["2000", "1000", "500"][n % 3],
        "daily_dose_mcg": str(100 + 37 * n),
        "next_appointment": f"2026-04-{10 + n % 10} 09:30" if n % 2 else "",
    }
    values.update(changes)
    return [values.get(column, "") for column in HEADER]


def csv_bytes(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


class Everything(set):
    """Makes every MRN look known, so every row takes the row-by-row path."""

    def __contains__(self, item):
        return True


@pytest.fixture
def row_by_row(monkeypatch):
    def use_row_by_row():
        original = importer.RowImporter.__init__

        def init(self, clinic):
            original(self, clinic)
            self.known_mrns = Everything()

        monkeypatch.setattr(importer.RowImporter, "__init__", init)

    return use_row_by_row


def stored(clinic):
    """What the import stored for a clinic, without ids and timestamps."""
    skip = {"_state", "id", "clinic_id", "patient_id", "pump_id", "created_at", "updated_at"}
    out = []
    for patient in Patient.objects.filter(clinic=clinic).order_by("mrn"):
        pump = patient.pumps.get()
        entries = LogEntry.objects.filter(additional_data__patient_id=patient.pk).order_by("content_type_id")
        out.append(
            {
                "patient": {k: v for k, v in vars(patient).items() if k not in skip},
                "pump": {k: v for k, v in vars(pump).items() if k not in skip},
                "refills": [{k: v for k, v in vars(r).items() if k not in skip} for r in pump.refills.all()],
                "appointments": [
                    {k: v for k, v in vars(a).items() if k not in skip} for a in patient.appointments.all()
                ],
                "audit": [
                    (
                        e.content_type_id,
                        e.action,
                        e.actor_id,
                        {k: v for k, v in e.changes.items() if k not in ("id", "patient", "pump", "clinic")},
                        sorted(e.additional_data),
                    )
                    for e in entries
                ],
            }
        )
    return out


def test_new_rows_store_and_audit_what_the_row_by_row_path_does(clinic, admin_user, row_by_row):
    content = csv_bytes([row(n) for n in range(12)])
    other = ClinicFactory(slug="twin", name=clinic.name, time_zone=clinic.time_zone)
    with time_machine.travel("2026-04-01 10:00:00Z", tick=False):
        with acting_as(admin_user), CaptureQueriesContext(connection) as fast_queries:
            fast = importer.run_import(clinic, content)
        row_by_row()
        with acting_as(admin_user):
            slow = importer.run_import(other, content)
    assert fast.applied and slow.applied
    assert (
        fast.counts()
        == slow.counts()
        == {
            "patient": {"created": 12, "changed": 0},
            "pump": {"created": 12, "changed": 0},
            "refill": {"created": 12, "changed": 0},
            "appointment": {"created": 6, "changed": 0},
        }
    )
    for mine, theirs in zip(stored(clinic), stored(other), strict=True):
        for key in mine:
            assert mine[key] == theirs[key], key
    assert LogEntry.objects.filter(actor=admin_user, additional_data__clinic_id=clinic.pk).count() == 42
    # Stored schedules agree with the engine reading the saved events.
    for pump in Pump.objects.filter(clinic=clinic).select_related("clinic", "model"):
        assert {k: getattr(pump, k) for k in compute_schedule(pump)} == compute_schedule(pump)
    # The new rows were written in bulk: far fewer statements than rows.
    inserts = [q for q in fast_queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) <= 6, len(inserts)


def test_new_and_existing_rows_in_one_file(clinic):
    with time_machine.travel("2026-04-01 10:00:00Z", tick=False):
        assert importer.run_import(clinic, csv_bytes([row(0), row(1)])).applied
        result = importer.run_import(clinic, csv_bytes([row(0, daily_dose_mcg="150"), row(1), row(2)]))
    assert result.applied
    assert [r.actions for r in result.rows] == [
        {"patient": "unchanged", "pump": "unchanged", "refill": "changed"},
        {"patient": "unchanged", "pump": "unchanged", "refill": "unchanged", "appointment": "unchanged"},
        {"patient": "created", "pump": "created", "refill": "created"},
    ]
    assert Refill.objects.get(pump__serial_number="S0000").daily_dose_mcg == 150
    assert Appointment.objects.filter(patient__clinic=clinic).count() == 1


def test_new_rows_report_the_same_problems_as_the_row_by_row_path(clinic, row_by_row):
    rows = [
        row(0, pump_model="nope"),
        row(1, reservoir_ml="200", pump_model="other", eri_date=""),
        row(2, implant_date="2099-01-01", concentration_mcg_ml="50"),
        row(3, email="not-an-email", volume_after_refill_ml="99"),
        row(4, next_appointment="2000-01-01 10:00", daily_dose_mcg="0"),
        row(5, last_refill_date="2023-01-01"),
        row(6, serial_number="S0005"),
        row(7),
    ]
    with time_machine.travel("2026-04-01 10:00:00Z", tick=False):
        fast = importer.run_import(clinic, csv_bytes(rows), dry_run=True)
        row_by_row()
        slow = importer.run_import(clinic, csv_bytes(rows), dry_run=True)
    assert not fast.ok
    assert [str(p) for p in fast.problems] == [str(p) for p in slow.problems]
    assert len(fast.problems) >= 9
    assert not Patient.objects.filter(clinic=clinic).exists()


def test_insert_rows_writes_what_bulk_create_writes(clinic, manager):
    """importer.insert_rows (COPY on PostgreSQL) stores the same rows as bulk_create and leaves
    the objects as bulk_create does: keys set, saved, related keys copied, generated column read."""

    def patients(prefix):
        return [
            Patient(
                clinic=clinic,
                mrn=f"{prefix}{n}",
                first_name="Ada",
                last_name=f"Example{n}",
                manager=manager if n % 2 else None,
                sci_t6_or_above=n == 1,
                email=f"{prefix}{n}@example.invalid",
            )
            for n in range(3)
        ]

    def pumps(owners, prefix):
        model = PumpModel.objects.get(code="synchromed-ii-20")
        return [
            Pump(
                clinic=clinic,
                patient=owner,
                model=model,
                serial_number=f"{prefix}{n}",
                implant_date=date(2024, 1, 10),
                reservoir_ml=Decimal(20),
                alarm_volume_ml=Decimal(2),
            )
            for n, owner in enumerate(owners)
        ]

    with time_machine.travel("2026-04-01 10:00:00Z", tick=False):
        copied, bulk = patients("C"), patients("B")
        importer.insert_rows(Patient, copied)
        Patient.objects.bulk_create(bulk)
        copied_pumps, bulk_pumps = pumps(copied, "C"), pumps(bulk, "B")  # patient_id copied from the saved patients
        importer.insert_rows(Pump, copied_pumps)
        Pump.objects.bulk_create(bulk_pumps)

    def rows(model, objects):
        skip = {"id", "mrn", "email", "serial_number", "patient_id", "_state"}
        return [
            {k: v for k, v in vars(obj).items() if k not in skip}
            for obj in model.objects.filter(pk__in=[o.pk for o in objects]).order_by("pk")
        ]

    assert rows(Patient, copied) == rows(Patient, bulk)
    assert rows(Pump, copied_pumps) == rows(Pump, bulk_pumps)
    assert [p.patient_id for p in copied_pumps] == [p.pk for p in copied]
    for obj in copied + copied_pumps:
        assert obj.pk is not None and not obj._state.adding and obj._state.db == "default"
    assert [p.high_risk for p in copied] == [False, True, False]  # the database's generated column
