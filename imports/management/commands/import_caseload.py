"""python manage.py import_caseload FILE.csv --clinic SLUG [--dry-run]

A thin caller of imports.importer.run_import, the code path the browser upload uses too.
Prints row numbers, MRNs and counts only: never names, doses or diagnoses.
"""

from contextlib import nullcontext

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from clinic.audit import acting_as
from clinic.models import Clinic
from imports.importer import run_import


class Command(BaseCommand):
    help = "Import a clinic's caseload from a CSV file: all rows or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", help="UTF-8 CSV (or XLSX) with a header row (SPEC section 7).")
        parser.add_argument("--clinic", required=True, help="The clinic's slug.")
        parser.add_argument("--dry-run", action="store_true", help="Check and report, write nothing.")
        parser.add_argument("--user", help="Username recorded as the actor in the audit trail (optional).")

    def handle(self, *args, file, clinic, dry_run, user=None, **options):
        target = Clinic.objects.filter(slug=clinic).first()
        if target is None:
            raise CommandError(f"--clinic: no clinic with slug '{clinic}'.")
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user, memberships__clinic=target).first()
            if actor is None:
                raise CommandError(f"--user: no member '{user}' in clinic '{clinic}'.")
        try:
            with open(file, "rb") as handle:
                content = handle.read()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None

        with acting_as(actor) if actor else nullcontext():
            result = run_import(target, content, filename=file, dry_run=dry_run)
        # Warnings never make the import fail (e.g. reminders without an email address).
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(warning_line(warning)))
        if not result.ok:
            for problem in result.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{len(result.problems)} problem(s) found; nothing was imported.")
        if dry_run:
            for row in result.rows:
                self.stdout.write(row.describe())
            self.stdout.write("Dry run: nothing was written. It would make these changes:")
        for line in result.summary_lines():
            self.stdout.write(line)
        if not dry_run:
            self.stdout.write(self.style.SUCCESS("Import complete."))


def warning_line(warning) -> str:
    """``row N, column X: warning: message`` for a row, ``Warning: message`` for the file."""
    if warning.line is None:
        return f"Warning: {warning.message}"
    where = f"row {warning.line}" + (f", column {warning.column}" if warning.column else "")
    return f"{where}: warning: {warning.message}"
