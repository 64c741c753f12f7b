"""What the operators' commands share (SPEC 7 and 9): the clinic named by --clinic and the
day of --as-of (default today in the clinic's zone), each refused with the option's name."""

from datetime import date

from django.core.management.base import CommandError

from clinic.dates import parse_date
from clinic.models import Clinic


def clinic_and_day(slug: str, as_of: str | None) -> tuple[Clinic, date]:
    clinic = Clinic.objects.filter(slug=slug).first()
    if clinic is None:
        raise CommandError(f"--clinic: no clinic with slug '{slug}'.")
    if as_of is None:
        return clinic, clinic.today()
    try:
        return clinic, parse_date(as_of.strip())
    except ValueError as error:
        raise CommandError(f"--as-of: {error}") from None
