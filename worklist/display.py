"""How an item reads on the pages: what it is about, who owns it, the last contact, the next action."""

from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.timezone import localtime

from clinic.display import day, member_name
from worklist.conditions import NEED_LABELS, NEED_TONES, need_of
from worklist.models import Item


def moment(value, zone) -> str:
    """A moment in the clinic's zone: "Wed 25 Nov 2026 14:05"."""
    if value is None:
        return ""
    local = localtime(value, zone)
    return f"{day(local.date())} {local:%H:%M}"


def need(item) -> str:
    """What the item is about now (annotated ``need_rank``; the pump's state at display time)."""
    return need_of(item.need_rank)


def need_badge(item):
    key = need(item)
    return format_html('<span class="badge badge-{}">{}</span>', NEED_TONES[key], NEED_LABELS[key])


def owner_text(item, zone) -> str:
    state = getattr(item, "state_now", item.state)
    if state == Item.State.CLAIMED:
        return f"{member_name(item.claimed_by)}, since {moment(item.claimed_at, zone)}"
    if state == Item.State.EXCEPTED:
        return f"Excepted by {member_name(item.excepted_by)} until {day(item.excepted_until)}"
    return "Unclaimed"


def last_contact_text(item, zone) -> str:
    contact = item.last_contact
    if contact is None:
        return ""
    who = member_name(contact.recorded_by)
    text = f"{contact.get_method_display()}, {moment(contact.contacted_at, zone)}"
    return f"{text} ({who})" if who else text


def book_url(item) -> str:
    """The pump's booking page (its proposal comes from the scheduling helper's form)."""
    patient_id = item.pump.patient_id
    if item.kind == Item.Kind.REVIEW:
        return f"{reverse('review')}#refill-{item.refill_id}"
    kind = "replacement" if item.kind == Item.Kind.REPLACEMENT else "refill"
    return f"{reverse('appointment_create', kwargs={'pk': patient_id})}?{urlencode({'kind': kind})}"


def book_label(item) -> str:
    if item.kind == Item.Kind.REVIEW:
        return "Open the review"
    if item.kind == Item.Kind.REPLACEMENT:
        return "Book replacement"
    booked = item.pump.first_refill_booking
    if booked is not None:  # an empty, alarming or overdue pump already booked: say when
        late = item.pump.refill_due is not None and booked > item.pump.refill_due
        return f"Booked {day(booked)}, late: book earlier" if late else f"Booked {day(booked)}"
    return "Book earlier" if need(item) == "booked_late" else "Book refill"


def escalated_text(item, zone) -> str:
    return f"Escalated {moment(item.escalated_at, zone)}" if item.escalated_at else ""


def due_text(item) -> str:
    """Days to refill due in words (refill items), else the replacement or review date."""
    if item.kind == Item.Kind.REPLACEMENT:
        return f"replacement due {day(item.pump.replacement_due)}"
    if item.kind == Item.Kind.REVIEW:
        return f"refill of {day(item.refill.performed_on)}"
    days = item.days_to_due
    if days is None:
        return ""
    if days == 0:
        return "due today"
    if days > 0:
        return f"due in {days} day{'s' if days != 1 else ''}"
    return f"{-days} day{'s' if days != -1 else ''} overdue"
