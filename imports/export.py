"""The whole clinic in the import format of SPEC section 7 (CSV or XLSX).

One row per active pump of an active patient, so that importing the file into an
empty clinic (same time zone and settings) reproduces the caseload report. What the
format cannot carry is left behind: risk flags, assigned manager, notes, earlier fills,
program changes (the last refill's own dose is exported, as recorded: a program change
after it is not in the file), appointments other than the next one, and that one's kind
(the import books it as a refill).
"""

import csv
import io
from datetime import date, datetime, time
from decimal import Decimal

import openpyxl
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from openpyxl.cell import WriteOnlyCell

from clinic.spreadsheet_cells import spreadsheet_safe
from imports.columns import COLUMNS, DATE_COLUMNS, DECIMAL_COLUMNS
from patients.models import Pump
from refills.models import Appointment, Refill

# Columns kept as text in a workbook, so that "00123" stays "00123".
TEXT_COLUMNS = ("mrn", "first_name", "last_name", "email", "phone", "pump_model", "serial_number")


def export_pumps(clinic):
    """The exported pumps with their last refill id and next appointment, by MRN."""
    last_refill = Refill.objects.filter(pump=OuterRef("pk")).order_by("-performed_on", "-id")
    # The next appointment still to come: a stale one in the past would be refused on import.
    next_visit = Appointment.objects.filter(
        pump=OuterRef("pk"), status=Appointment.Status.SCHEDULED, starts_at__gte=timezone.now()
    ).order_by("starts_at", "id")
    return (
        Pump.objects.active()
        .filter(clinic=clinic)
        .select_related("patient", "model")
        .annotate(
            last_refill_id=Subquery(last_refill.values("id")[:1]),
            next_visit_date=Subquery(next_visit.values("local_date")[:1]),
            next_visit_time=Subquery(next_visit.values("local_time")[:1]),
        )
        .order_by("patient__mrn", "serial_number")
    )


def export_rows(clinic) -> list[dict]:
    """The rows as typed values (dates, Decimals, booleans, None), keyed by SPEC column."""
    pumps = list(export_pumps(clinic))
    refills = Refill.objects.in_bulk([p.last_refill_id for p in pumps if p.last_refill_id])
    rows = []
    for pump in pumps:
        patient = pump.patient
        refill = refills.get(pump.last_refill_id)
        row = {
            "mrn": patient.mrn,
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "date_of_birth": patient.date_of_birth,
            "email": patient.email,
            "phone": patient.phone,
            "reminders_opt_in": patient.reminders_opt_in,
            "pump_model": pump.model.code,
            "serial_number": pump.serial_number,
            "reservoir_ml": pump.reservoir_ml,
            "alarm_volume_ml": pump.alarm_volume_ml,
            "implant_date": pump.implant_date,
            "eri_date": pump.eri_date,
            "last_refill_date": refill.performed_on if refill else None,
            "volume_after_refill_ml": refill.volume_after_ml if refill else None,
            "concentration_mcg_ml": refill.concentration_mcg_ml if refill else None,
            "daily_dose_mcg": refill.daily_dose_mcg if refill else None,
            "bolus_allowance_mcg": refill.bolus_allowance_mcg if refill else None,
            "compounded": refill.compounded if refill else None,
            "next_appointment": (
                datetime.combine(pump.next_visit_date, pump.next_visit_time) if pump.next_visit_date else None
            ),
        }
        rows.append(row)
    return rows


def text(value) -> str:
    """A value as the import reads it back; text a spreadsheet would run is quoted."""
    if value is None:
        return ""
    if isinstance(value, str):
        return spreadsheet_safe(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


def to_csv(rows: list[dict]) -> bytes:
    """UTF-8 with a byte order mark, so spreadsheet programs read accents right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([text(row[column]) for column in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict]) -> bytes:
    """A workbook with real dates and numbers, which the XLSX reader turns back into the same text."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("caseload")
    sheet.freeze_panes = "A2"
    sheet.append(list(COLUMNS))
    for row in rows:
        cells = []
        for column in COLUMNS:
            value = row[column]
            cell = WriteOnlyCell(sheet)
            if value is None:
                cell.value = None
            elif column in TEXT_COLUMNS:
                cell.value = spreadsheet_safe(str(value))  # never starts like a formula: written as text
                cell.number_format = "@"
            elif column in DATE_COLUMNS:
                cell.value = value
                cell.number_format = "yyyy-mm-dd"
            elif column == "next_appointment":
                cell.value = value
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif column in DECIMAL_COLUMNS:
                cell.value = Decimal(value)
            else:
                cell.value = text(value)
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
