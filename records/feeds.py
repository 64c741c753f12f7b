"""Calendar feeds (iCalendar, RFC 5545) and a patient's next appointment as an .ics file.

A member subscribes their calendar program to a private feed URL: the appointments
assigned to them, or the whole clinic's, from 30 days ago on. Calendar programs cannot
log in, so the URL's random token is the credential (only its hash is stored) and the
feed view is the one clinic view outside ClinicAccessMixin: an unknown or revoked
token, or a member who left the clinic, is a 404. Events name the kind, MRN and
initials only: a feed is read on phones and shared calendars.

The first fetch of a feed per clinic-local day is recorded with log_export (calendar
programs poll every few minutes to hours; one entry a day keeps the trail readable).
"""

from datetime import datetime, timedelta

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView
from icalendar import Alarm, Calendar, Event

from clinic.access import ClinicAccessMixin, Role
from clinic.audit import log_export
from clinic.models import CalendarFeed, Membership
from patients.models import Patient
from refills.models import Appointment

EVENT_LENGTH = timedelta(minutes=30)
FEED_HISTORY_DAYS = 30
NEW_FEED_SESSION_KEY = "new_calendar_feed"
SAFETY_LINE = (
    "Sudden return of spasticity, itching, fever, confusion or a pump alarm: call the clinic at once "
    "or go to the emergency department and mention the pump."
)
STATUS = {
    Appointment.Status.SCHEDULED: "CONFIRMED",
    Appointment.Status.COMPLETED: "CONFIRMED",
    Appointment.Status.NO_SHOW: "CONFIRMED",
    Appointment.Status.CANCELLED: "CANCELLED",
}


def event_uid(appointment: Appointment) -> str:
    """Stable per appointment, so a calendar updates the event instead of adding another."""
    return f"appointment-{appointment.pk}@itb-caseload"


def new_calendar(clinic, name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//ITB Caseload//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", clinic.time_zone)
    return calendar


def base_event(appointment: Appointment, clinic, stamp: datetime) -> Event:
    start = datetime.combine(appointment.local_date, appointment.local_time, tzinfo=clinic.zone)
    event = Event()
    event.add("uid", event_uid(appointment))
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", start + EVENT_LENGTH)
    event.add("last-modified", appointment.updated_at)
    event.add("status", STATUS[appointment.status])
    return event


def feed_summary(appointment: Appointment) -> str:
    """Kind, MRN and initials; the status when it is not simply booked. Never a name or dose."""
    patient = appointment.patient
    summary = f"{appointment.get_kind_display()}: {patient.mrn} {patient.initials}"
    if appointment.status != Appointment.Status.SCHEDULED:
        summary += f" ({appointment.get_status_display().lower()})"
    return summary


def feed_appointments(feed: CalendarFeed, today):
    appointments = Appointment.objects.filter(
        patient__clinic=feed.clinic, local_date__gte=today - timedelta(days=FEED_HISTORY_DAYS)
    )
    if feed.scope == CalendarFeed.Scope.MINE:
        appointments = appointments.filter(assigned_to=feed.user)
    return appointments.select_related("patient").order_by("local_date", "local_time", "pk")


def feed_calendar(feed: CalendarFeed, appointments, *, link) -> Calendar:
    """The feed as a Calendar; ``link(appointment)`` is the patient page's absolute URL."""
    clinic = feed.clinic
    if feed.scope == CalendarFeed.Scope.MINE:
        name = _("%(clinic)s: my appointments") % {"clinic": clinic.name}
    else:
        name = _("%(clinic)s: all appointments") % {"clinic": clinic.name}
    calendar = new_calendar(clinic, name)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    stamp = timezone.now()
    for appointment in appointments:
        event = base_event(appointment, clinic, stamp)
        event.add("summary", feed_summary(appointment))
        url = link(appointment)
        event.add("url", url)
        event.add("description", url)
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar


def patient_calendar(appointment: Appointment) -> Calendar:
    """One appointment, worded for the patient: clinic, phone, how to rebook, the safety line."""
    clinic = appointment.patient.clinic
    kind = appointment.get_kind_display().lower()
    calendar = new_calendar(clinic, clinic.name)
    calendar.add("method", "PUBLISH")
    event = base_event(appointment, clinic, timezone.now())
    event.add("summary", _("Pump %(kind)s appointment at %(clinic)s") % {"kind": kind, "clinic": clinic.name})
    event.add("location", clinic.name)
    lines = [
        _("Your pump %(kind)s appointment at %(clinic)s on %(date)s at %(time)s.")
        % {
            "kind": kind,
            "clinic": clinic.name,
            "date": appointment.local_date.strftime("%A %d %B %Y"),
            "time": appointment.local_time.strftime("%H:%M"),
        }
    ]
    if clinic.phone:
        lines.append(_("To rebook, call the clinic on %(phone)s.") % {"phone": clinic.phone})
    lines.append(SAFETY_LINE)
    event.add("description", "\n\n".join(lines))
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", _("Pump appointment tomorrow at %(clinic)s") % {"clinic": clinic.name})
    alarm.add("trigger", timedelta(days=-1))
    event.add_component(alarm)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar


def ics_response(calendar: Calendar, filename: str, *, attachment: bool) -> HttpResponse:
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


class CalendarFeedView(View):
    """GET /feeds/<token>.ics: public (the token is the credential), 404 unless live."""

    def get(self, request, token):
        feed = CalendarFeed.live_for_token(token)
        if feed is None or not feed.user.is_active:
            raise Http404("No such feed.")
        membership = Membership.objects.filter(user=feed.user, clinic=feed.clinic).only("created_at").first()
        # A feed made before the current membership began belongs to an earlier one: removing
        # a member revokes their feeds, and this also covers a membership deleted elsewhere
        # (the admin), so re-adding the person never revives an old URL.
        if membership is None or feed.created_at < membership.created_at:
            raise Http404("No such feed.")
        today = feed.clinic.today()
        appointments = list(feed_appointments(feed, today))

        def link(appointment):
            return request.build_absolute_uri(reverse("patient_detail", args=[appointment.patient_id]))

        calendar = feed_calendar(feed, appointments, link=link)
        # Conditional update: of concurrent first fetches of the day, one logs.
        if CalendarFeed.objects.filter(pk=feed.pk).exclude(last_fetched_on=today).update(last_fetched_on=today):
            what = f"calendar feed ({feed.get_scope_display().lower()})"  # words, not the scope's code
            log_export(feed.clinic, feed.user, what=what, fmt="ics", rows=len(appointments))
        return ics_response(calendar, f"{feed.clinic.slug}-{feed.scope}.ics", attachment=False)


class CalendarFeedsView(ClinicAccessMixin, TemplateView):
    """The member's feed URLs: create (or replace) and revoke; also the whole-clinic export links."""

    role = Role.STAFF
    template_name = "clinic/feeds.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        live = {
            feed.scope: feed
            for feed in CalendarFeed.objects.filter(clinic=self.clinic, user=self.request.user, revoked_at__isnull=True)
        }
        new = self.request.session.pop(NEW_FEED_SESSION_KEY, None)
        context["feeds"] = [
            {
                "scope": scope,
                "label": label,
                "feed": live.get(scope),
                "new_url": new["url"] if new and new["scope"] == scope else None,
            }
            for scope, label in CalendarFeed.Scope.choices
        ]
        return context

    def post(self, request):
        action, scope = request.POST.get("action"), request.POST.get("scope")
        if scope not in CalendarFeed.Scope.values or action not in ("create", "revoke"):
            messages.error(request, _("Choose a feed and what to do with it."))
            return redirect("calendar_feeds")
        label = CalendarFeed.Scope(scope).label
        if action == "revoke":
            with transaction.atomic():
                revoked = CalendarFeed.revoke_live(self.clinic, request.user, scope)
            if revoked:
                messages.success(request, _("Feed '%(label)s' revoked: its URL no longer works.") % {"label": label})
            else:
                messages.info(request, _("Feed '%(label)s' had no live URL.") % {"label": label})
            return redirect("calendar_feeds")
        try:
            _feed, token = CalendarFeed.issue(self.clinic, request.user, scope)
        except IntegrityError:  # a double click: the other request made the URL
            messages.error(request, _("The feed was being changed at the same time: try again."))
            return redirect("calendar_feeds")
        url = request.build_absolute_uri(reverse("calendar_feed", args=[token]))
        # Shown once on the next page view: only the token's hash is kept.
        request.session[NEW_FEED_SESSION_KEY] = {"scope": scope, "url": url}
        messages.success(
            request, _("New URL for '%(label)s'; any earlier URL of this feed stopped working.") % {"label": label}
        )
        return redirect("calendar_feeds")


class PatientAppointmentIcsView(ClinicAccessMixin, View):
    """GET: the patient's next scheduled appointment as an .ics file to send them."""

    role = Role.STAFF

    def load_objects(self):
        self.patient = self.get_scoped(Patient, pk=self.kwargs["pk"])

    def get(self, request, pk):
        appointment = (
            self.patient.appointments.filter(status=Appointment.Status.SCHEDULED, starts_at__gte=timezone.now())
            .select_related("patient__clinic")
            .order_by("starts_at", "pk")
            .first()
        )
        if appointment is None:
            messages.info(request, _("This patient has no upcoming appointment."))
            return redirect("patient_detail", pk=self.patient.pk)
        log_export(self.clinic, request.user, what="next appointment", fmt="ics", rows=1, patient=self.patient)
        filename = f"appointment-{appointment.local_date.isoformat()}.ics"
        return ics_response(patient_calendar(appointment), filename, attachment=True)
