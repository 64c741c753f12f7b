"""What the staff digest and escalation emails show about pumps.

Rows carry MRN, initials, status, dates and a link: never a name, diagnosis or dose,
because an email can end up in the wrong inbox.
"""

from datetime import date, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from patients.models import Pump
from refills import schedule
from refills.labels import BOOKING_LABELS, STATUS_LABELS
from refills.models import Refill

SECTION_LIMIT = 50  # rows per section; the link to the app shows the rest


def patient_url(patient_id: int) -> str:
    return f"{settings.SITE_URL}{reverse('patient_detail', args=[patient_id])}"


def pump_row(pump: Pump) -> dict:
    """One line about a pump annotated by ``with_status``."""
    patient = pump.patient
    return {
        "mrn": patient.mrn,
        "initials": patient.initials,
        "status": pump.status_now,
        "status_label": str(STATUS_LABELS.get(pump.status_now, pump.status_now)),
        "booking_label": str(BOOKING_LABELS.get(pump.booking, pump.booking)),
        "refill_due": pump.refill_due,
        "alarm_date": pump.alarm_date,
        "empty_date": pump.empty_date,
        "next_appointment": pump.next_appointment_date,
        "replacement_due": pump.replacement_due,
        "url": patient_url(patient.pk),
    }


def _listed(queryset, limit: int) -> tuple[list, int]:
    """The first ``limit`` objects and the total (counted only when the list is cut)."""
    objects = list(queryset[:limit])
    return objects, (len(objects) if len(objects) < limit else queryset.count())


def _section(title, queryset, key: str) -> dict:
    pumps, total = _listed(queryset, SECTION_LIMIT)
    return {
        "key": key,
        "title": title,
        "rows": [pump_row(p) for p in pumps],
        "total": total,
        "more": total - len(pumps),
    }


def digest_context(clinic, today: date) -> dict:
    """The digest's sections for a clinic on its local ``today``.

    Every row is one item: ``attention_count`` is the number of rows the digest lists
    (plus those cut from a long section, which it counts as "N more"). A pump is listed
    once for its refill: an empty, alarming or overdue pump whose only booking is late
    shows that in its Booking column, not a second time under "Booked late". A
    replacement is a separate item (another appointment, another team).
    """
    pumps = Pump.objects.active().filter(clinic=clinic).with_status(today).select_related("patient").urgent_first()
    sections = [
        _section(_("Empty or alarming"), pumps.with_status_in([schedule.EMPTY, schedule.ALARMING], today), "urgent"),
        _section(_("Overdue"), pumps.with_status_in([schedule.OVERDUE], today), "overdue"),
        _section(
            _("Due soon, not booked"),
            pumps.with_status_in([schedule.DUE_SOON], today).filter(booking=schedule.UNBOOKED),
            "due_soon",
        ),
        _section(
            _("Booked late"),
            pumps.with_status_in([schedule.DUE_SOON, schedule.OK], today).filter(booking=schedule.BOOKED_LATE),
            "late",
        ),
        _section(
            _("Replacements due within 90 days"),
            pumps.filter(replacement_due__lte=today + timedelta(days=schedule.URGENT_REPLACEMENT_DAYS)).order_by(
                "replacement_due", "patient__mrn"
            ),
            "replacements",
        ),
    ]
    reviews, reviews_total = _listed(
        Refill.objects.filter(pump__clinic=clinic, needs_review=True)
        .select_related("pump__patient")
        .order_by("performed_on", "pk"),
        SECTION_LIMIT,
    )
    review_rows = [
        {
            "mrn": r.pump.patient.mrn,
            "initials": r.pump.patient.initials,
            "performed_on": r.performed_on,
            "url": patient_url(r.pump.patient_id),
        }
        for r in reviews
    ]
    return {
        "today": today,
        "sections": sections,
        "reviews": review_rows,
        "reviews_total": reviews_total,
        "reviews_more": reviews_total - len(review_rows),
        "attention_count": sum(s["total"] for s in sections) + reviews_total,
        "home_url": f"{settings.SITE_URL}{reverse('home')}",
    }
