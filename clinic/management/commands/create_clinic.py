"""python manage.py create_clinic SLUG --name NAME --timezone TZ [--buffer-days N] [--due-soon-days N]"""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from clinic.models import Clinic

# Model field -> the command-line option that sets it, for error messages.
OPTIONS = {
    "slug": "SLUG",
    "name": "--name",
    "time_zone": "--timezone",
    "buffer_days": "--buffer-days",
    "due_soon_days": "--due-soon-days",
}


class Command(BaseCommand):
    help = "Create a clinic (a tenant) with its time zone and schedule settings."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short name used in URLs, e.g. north-pumps.")
        parser.add_argument("--name", required=True, help="The clinic's display name.")
        parser.add_argument("--timezone", required=True, help="IANA time zone, e.g. Europe/London.")
        parser.add_argument("--buffer-days", type=int, help="Refill this many days before the alarm date (0-30).")
        parser.add_argument("--due-soon-days", type=int, help="Due soon this many days before refill due (1-60).")

    def handle(self, *args, slug, name, timezone, buffer_days, due_soon_days, **options):
        if Clinic.objects.filter(slug=slug).exists():
            raise CommandError(f"SLUG: a clinic with slug '{slug}' already exists; nothing was changed.")
        clinic = Clinic(slug=slug, name=name.strip(), time_zone=timezone)
        if buffer_days is not None:
            clinic.buffer_days = buffer_days
        if due_soon_days is not None:
            clinic.due_soon_days = due_soon_days
        try:
            clinic.full_clean()
        except ValidationError as error:
            raise CommandError(self.describe(error)) from None
        try:
            clinic.save()
        except IntegrityError:
            # Created by someone else between the check and the save.
            raise CommandError(f"SLUG: a clinic with slug '{slug}' already exists; nothing was changed.") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Created clinic '{clinic.slug}' ({clinic.name}, {clinic.time_zone}, "
                f"buffer {clinic.buffer_days} days, due soon {clinic.due_soon_days} days)."
            )
        )

    @staticmethod
    def describe(error: ValidationError) -> str:
        lines = []
        for field, messages in error.message_dict.items():
            option = OPTIONS.get(field, "" if field == NON_FIELD_ERRORS else field)
            lines.extend(f"{option}: {message}" if option else message for message in messages)
        return "Invalid clinic, nothing was saved:\n" + "\n".join(lines)
