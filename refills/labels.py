"""The clinic's words for pump status and booking state, shared by pages, tables and emails."""

from django.utils.translation import gettext_lazy as _

from refills import schedule

STATUS_LABELS = {
    schedule.EMPTY: _("Empty"),
    schedule.ALARMING: _("Alarming"),
    schedule.OVERDUE: _("Overdue"),
    schedule.NO_FILL: _("No fill recorded"),
    schedule.DUE_SOON: _("Due soon"),
    schedule.OK: _("OK"),
}
BOOKING_LABELS = {
    schedule.BOOKED: _("Booked"),
    schedule.BOOKED_LATE: _("Booked late"),
    schedule.UNBOOKED: _("Not booked"),
}
