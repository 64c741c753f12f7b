"""Reading a date written as YYYY-MM-DD (an import cell, a command's argument), with a
message that says what was expected."""

import re
from datetime import date

from django.utils.translation import gettext as _

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str) -> date:
    if not DATE_RE.fullmatch(text):
        raise ValueError(_("Expected a date as YYYY-MM-DD."))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("This is not a real date (YYYY-MM-DD).")) from None
