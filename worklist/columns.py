"""The worklist's columns for the pump lists (the overdue worklist): owner and last contact.

``with_owner(pumps, today)`` annotates each pump with its current refill item's state, owner,
escalation and last contact (correlated subqueries: one query for the page, whatever its
size); the columns render those annotations. The dashboard's view passes the columns to its
table as ``extra_columns``, so the table module does not import the worklist (a higher layer).
"""

from datetime import date

import django_tables2 as tables
from django.db.models import Case, CharField, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timezone import localtime

from clinic.display import day
from worklist.conditions import state_now_expression
from worklist.models import ContactAttempt, Item


def member_name_sql(prefix: str):
    """A member's full name, else the username, in SQL (clinic.display.member_name)."""
    full = Trim(Concat(F(f"{prefix}__first_name"), Value(" "), F(f"{prefix}__last_name"), output_field=CharField()))
    return Coalesce(NullIf(full, Value("")), F(f"{prefix}__username"), output_field=CharField())


def with_owner(pumps, today: date):
    """Pumps annotated with their current fill cycle's refill item (worklist_*)."""
    item = Item.objects.filter(
        pump=OuterRef("pk"), kind=Item.Kind.REFILL, cycle_date=OuterRef("last_refill_date")
    ).exclude(state=Item.State.RESOLVED)
    item = item.annotate(
        now_state=state_now_expression(today),
        owner_name=Case(
            When(state=Item.State.CLAIMED, then=member_name_sql("claimed_by")),
            When(Q(state=Item.State.EXCEPTED, excepted_until__gte=today), then=member_name_sql("excepted_by")),
            default=Value(""),
            output_field=CharField(),
        ),
    )

    def first(field):
        return Subquery(item.values(field)[:1])

    return pumps.annotate(
        worklist_item=first("pk"),
        worklist_state=first("now_state"),
        worklist_owner=first("owner_name"),
        worklist_until=first("excepted_until"),
        worklist_escalated_at=first("escalated_at"),
        worklist_contact_method=first("last_contact__method"),
        worklist_contact_at=first("last_contact__contacted_at"),
    )


def owner_text(record, *, export: bool = False) -> str:
    """The owner as the page says it; ``export``: dates in ISO (SPEC 8: files say 2026-11-29)."""
    state = record.worklist_state
    if state is None:
        return ""
    if state == Item.State.CLAIMED:
        return record.worklist_owner
    if state == Item.State.EXCEPTED:
        until = record.worklist_until.isoformat() if export else day(record.worklist_until)
        return f"Excepted until {until} ({record.worklist_owner})"
    return "Unclaimed"


def contact_text(record, zone) -> str:
    if not record.worklist_contact_method:
        return ""
    when = localtime(record.worklist_contact_at, zone)
    return f"{ContactAttempt.Method(record.worklist_contact_method).label}, {day(when.date())} {when:%H:%M}"


def contact_value(record, zone) -> str:
    """The last contact in the exports: "2026-11-25 09:30 (Phone: no answer)", the clinic's
    local time in ISO first (SPEC 8), as the next appointment's export cell, so the column
    sorts by time in a spreadsheet."""
    if not record.worklist_contact_method:
        return ""
    when = localtime(record.worklist_contact_at, zone)
    return f"{when.date().isoformat()} {when:%H:%M} ({ContactAttempt.Method(record.worklist_contact_method).label})"


class OwnerColumn(tables.Column):
    """Who owns the pump's worklist item (a link to it), and whether it was escalated."""

    def __init__(self, zone, **kwargs):
        self.zone = zone
        kwargs.setdefault("verbose_name", "Owner")
        super().__init__(accessor="worklist_item", orderable=False, empty_values=(), **kwargs)

    def render(self, value, record):
        text = owner_text(record)
        if not value:
            return format_html('<span class="muted">{}</span>', "not on the worklist yet")
        escalated = (
            format_html(
                '<span class="escalated-note">Escalated {}</span>',
                day(localtime(record.worklist_escalated_at, self.zone).date()),
            )
            if record.worklist_escalated_at
            else ""
        )
        css = "owner-unclaimed" if text == "Unclaimed" else ""
        contact = contact_text(record, self.zone)
        # The last contact under the owner: one column on the page (the list must fit 1366 px);
        # the exports have it in a column of its own.
        contact = format_html('<span class="worklist-cell">last contact: {}</span>', contact) if contact else ""
        return format_html(
            '{}<a class="{}" href="{}">{}</a>{}',
            escalated,
            css,
            reverse("worklist_item", args=[value]),
            text,
            contact,
        )

    def value(self, value, record):
        return owner_text(record, export=True)


class LastContactColumn(tables.Column):
    """The last contact attempt: in the exports (the page shows it in the owner's cell)."""

    def __init__(self, zone, **kwargs):
        self.zone = zone
        kwargs.setdefault("verbose_name", "Last contact")
        kwargs.setdefault("visible", False)
        super().__init__(accessor="worklist_contact_method", orderable=False, empty_values=(), **kwargs)

    def render(self, value, record):
        return contact_text(record, self.zone) or format_html('<span class="muted">{}</span>', "none yet")

    def value(self, value, record):
        return contact_value(record, self.zone)


def owner_columns(zone) -> list:
    """The (name, column) pairs a pump table takes as ``extra_columns`` (times in the clinic's ``zone``)."""
    return [("owner", OwnerColumn(zone)), ("last_contact", LastContactColumn(zone))]
