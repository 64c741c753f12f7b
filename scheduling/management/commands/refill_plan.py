"""python manage.py refill_plan --clinic SLUG [--as-of YYYY-MM-DD] [--weeks N] [--format csv|json]

SPEC 9's stable contract: one row per week, Monday to Sunday, from the week containing
--as-of (default today in the clinic's zone), N rows (default 12), with week_start, due,
booked, capacity and due_unbooked. The numbers are the plan page's (scheduling.plan.plan_weeks).
"""

import csv
import json

from django.core.management.base import BaseCommand, CommandError

from clinic.commands import clinic_and_day
from scheduling.plan import COLUMNS, DEFAULT_WEEKS, MAX_WEEKS, plan_weeks


def parse_weeks(text: str) -> int:
    """A whole number of weeks from 1 to MAX_WEEKS."""
    cleaned = text.strip()
    if not cleaned.isdigit():
        raise ValueError(f"expected a whole number of weeks from 1 to {MAX_WEEKS}, got '{text}'.")
    weeks = int(cleaned)
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"expected a whole number of weeks from 1 to {MAX_WEEKS}, got {weeks}.")
    return weeks


class Command(BaseCommand):
    help = "Print the refill plan of a clinic: per week, refills due, booked, capacity and due but unbooked."

    def add_arguments(self, parser):
        parser.add_argument("--clinic", required=True, help="The clinic's slug.")
        parser.add_argument("--as-of", help="A date in the first week (YYYY-MM-DD); default today.")
        parser.add_argument("--weeks", default=str(DEFAULT_WEEKS), help=f"How many weeks (default {DEFAULT_WEEKS}).")
        parser.add_argument("--format", dest="output_format", choices=["csv", "json"], default="csv")

    def handle(self, *args, clinic, as_of, weeks, output_format, **options):
        target, day = clinic_and_day(clinic, as_of)
        try:
            count = parse_weeks(str(weeks))
        except ValueError as error:
            raise CommandError(f"--weeks: {error}") from None
        rows = [week.as_row() for week in plan_weeks(target, day, count)]
        if output_format == "json":
            self.stdout.write(json.dumps(rows, indent=1))
        else:
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(COLUMNS)
            for row in rows:
                writer.writerow([row[column] for column in COLUMNS])
