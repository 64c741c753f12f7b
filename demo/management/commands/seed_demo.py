"""python manage.py seed_demo [--check-only] [--reset]

Creates the synthetic demo clinic (slug ``demo``) with about 40 invented patients whose
pumps cover every status relative to the clinic's today, and three demo logins
(demo-admin, demo-manager, demo-staff; password demo-password-2026).
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import ProtectedError

from clinic.models import Clinic
from demo import seeder as demo


class Command(BaseCommand):
    help = "Create the demo clinic with invented patients, pumps, refills and appointments (dates relative to today)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check-only",
            action="store_true",
            help="Write nothing; exit 0 if the demo clinic exists, non-zero if it does not.",
        )
        parser.add_argument("--reset", action="store_true", help="Delete the demo clinic's data and create it again.")

    def handle(self, *args, check_only=False, reset=False, **options):
        if check_only and reset:
            raise CommandError("--check-only and --reset cannot be combined.")
        if check_only:
            if Clinic.objects.filter(slug=demo.SLUG).exists():
                self.stdout.write(f"The demo clinic '{demo.SLUG}' exists.")
                return
            raise CommandError(f"The demo clinic '{demo.SLUG}' does not exist; run `manage.py seed_demo`.")

        with transaction.atomic():
            existing = Clinic.objects.select_for_update().filter(slug=demo.SLUG).first()
            if existing is not None and not reset:
                self.stdout.write(
                    f"The demo clinic already exists ('{demo.SLUG}'); nothing was changed (--reset re-creates it)."
                )
                return
            if existing is not None:
                try:
                    demo.delete_demo(existing)
                except ProtectedError as error:
                    raise CommandError(f"Cannot delete the demo clinic: {error.args[0]}") from None
                self.stdout.write(f"Deleted the demo clinic '{demo.SLUG}'.")
            try:
                clinic, plan, today = demo.create_demo()
            except (ValidationError, demo.DemoDataError, demo.DemoPlanError) as error:
                raise CommandError(f"The demo data could not be created, nothing was saved: {error}") from None
            summary = demo.verify_demo(clinic, plan, today)
            if summary.mismatches:
                # Rolls the transaction back: better no demo than a demo that lies.
                raise CommandError("Seeded statuses differ from the plan:\n" + "\n".join(summary.mismatches))

        self.stdout.write(self.style.SUCCESS(f"Created the demo clinic '{clinic.name}' (slug {clinic.slug})."))
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(
            f"Logins (password {demo.PASSWORD}): "
            + ", ".join(f"{username} ({role})" for username, role, *_ in demo.USERS)
        )
