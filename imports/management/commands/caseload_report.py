"""python manage.py caseload_report --clinic SLUG [--as-of YYYY-MM-DD] [--format csv|json]

One row per active pump of an active patient, sorted by refill due then MRN. Status and
booking come from the SQL annotation (PumpQuerySet.with_status), and rows are streamed
with values() and iterator(), so the report stays flat in memory on 100,000 pumps.
"""

import csv
import json
from datetime import date

from django.core.management.base import BaseCommand
from django.db.models import F

from clinic.commands import clinic_and_day
from clinic.models import Clinic
from clinic.spreadsheet_cells import spreadsheet_safe
from patients.models import Pump

COLUMNS = (
    "mrn",
    "serial_number",
    "last_refill_date",
    "alarm_date",
    "empty_date",
    "refill_due",
    "status",
    "booked",
    "next_appointment",
    "replacement_due",
    "replacement_estimated",
    # Extra columns come after the contract's.
    "pump_model",
    "high_risk",
    "days_to_due",
)

# Report column -> queryset value, for the columns that are a value as-is.
SOURCES = {
    "mrn": "patient__mrn",
    "serial_number": "serial_number",
    "last_refill_date": "last_refill_date",
    "alarm_date": "alarm_date",
    "empty_date": "empty_date",
    "refill_due": "refill_due",
    "status": "status_now",
    "booked": "booking",
    "replacement_due": "replacement_due",
    "replacement_estimated": "replacement_estimated",
    "pump_model": "model__code",
    "high_risk": "patient__high_risk",
    "days_to_due": "days_to_due",
}


def report_rows(clinic: Clinic, as_of: date):
    """The report's rows as dicts of JSON-ready values, in report order."""
    pumps = (
        Pump.objects.active()
        .filter(clinic=clinic)
        .with_status(as_of)
        # Pumps with no fill recorded (no refill due) first, as in the caseload list.
        .order_by(F("refill_due").asc(nulls_first=True), "patient__mrn", "serial_number")
        .values(*SOURCES.values(), "next_appointment_date", "next_appointment_time")
    )
    for pump in pumps.iterator(chunk_size=2000):
        row = {}
        for column in COLUMNS:
            if column == "next_appointment":
                day, at = pump["next_appointment_date"], pump["next_appointment_time"]
                row[column] = f"{day.isoformat()} {at:%H:%M}" if day else None
            else:
                value = pump[SOURCES[column]]
                row[column] = value.isoformat() if isinstance(value, date) else value
        yield row


class Command(BaseCommand):
    help = "Print the caseload of a clinic: one row per active pump, by refill due."

    def add_arguments(self, parser):
        parser.add_argument("--clinic", required=True, help="The clinic's slug.")
        parser.add_argument("--as-of", help="The date to compute statuses on (YYYY-MM-DD); default today.")
        parser.add_argument("--format", dest="output_format", choices=["csv", "json"], default="csv")

    def handle(self, *args, clinic, as_of, output_format, **options):
        target, day = clinic_and_day(clinic, as_of)
        rows = report_rows(target, day)
        if output_format == "json":
            self.write_json(rows)
        else:
            self.write_csv(rows)

    def write_csv(self, rows) -> None:
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([csv_cell(row[column]) for column in COLUMNS])

    def write_json(self, rows) -> None:
        # A list written item by item, so 100,000 pumps never sit in one string.
        self.stdout.write("[", ending="")
        for index, row in enumerate(rows):
            self.stdout.write(("," if index else "") + "\n" + json.dumps(row), ending="")
        self.stdout.write("\n]")


def csv_cell(value) -> str:
    """A CSV cell: text a spreadsheet would run as a formula is quoted (JSON stays raw)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return str(value)  # numbers (days to due may be negative) stay numbers
