"""The import's bulk-inserted rows get the very audit entries auditlog's receivers wrote
(imports.import_audit replaces the receivers' per-row cost, not their content)."""

import contextlib
import re

import pytest
import time_machine
from auditlog.models import LogEntry
from django.db import transaction

from clinic.audit import acting_as
from imports import import_audit
from imports.importer import run_import
from tests.test_command_import_caseload import csv_text
from tests.test_view_import import caseload_rows

IDS = {"id", "patient", "pump", "clinic", "model"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-03-01 10:00:00+00:00", tick=False):
        yield


def entries_after(before: int) -> list[tuple]:
    """The audit entries written since ``before``, with database ids left out (two runs get different ones)."""
    rows = []
    for entry in LogEntry.objects.filter(pk__gt=before).order_by("pk"):
        changes = {k: (v if k not in IDS else "<id>") for k, v in entry.changes.items()}
        scope = {k: v for k, v in (entry.additional_data or {}).items() if k != "patient_id"}
        rows.append(
            (
                entry.content_type.model,
                entry.action,
                re.sub(r" of \d+$", " of <id>", entry.object_repr),  # a fill names its pump's id
                changes,
                scope,
                entry.actor_id,
                entry.serialized_data,
                entry.remote_addr,
                entry.cid,
            )
        )
    return rows


def test_bulk_inserted_rows_have_the_entries_auditlogs_receivers_write(clinic, admin_user, monkeypatch):
    content = csv_text(caseload_rows(12))

    def run_and_roll_back():
        before = LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with transaction.atomic(), acting_as(admin_user):
            assert run_import(clinic, content).applied
            written = entries_after(before)
            transaction.set_rollback(True)
        return written

    fast = run_and_roll_back()
    # auditlog's own receivers, as before imports.import_audit.
    monkeypatch.setattr(import_audit, "without_receivers", contextlib.nullcontext)
    monkeypatch.setattr(import_audit, "log_created", lambda model, objects: None)
    receivers = run_and_roll_back()

    assert len(fast) == 12 * 3 + 4  # patients, pumps, fills, and the four appointments
    assert fast == receivers
    # Spot check of the content itself: a created pump with its serial, by the importing member.
    pump = next(row for row in fast if row[0] == "pump")
    assert pump[1] == LogEntry.Action.CREATE and pump[5] == admin_user.pk
    assert pump[3]["serial_number"] == ["None", "SN000000"]
    # Another model's foreign key to it: auditlog's text of the related manager, on every entry.
    visits = [row for row in fast if row[0] == "appointment"]
    assert [row[3]["reminders"] for row in visits] == [["None", "reminders.Reminder.None"]] * 4
