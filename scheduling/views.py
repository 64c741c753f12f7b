"""Refill sessions (clinic admins) and absences (each member their own; admins anyone's).

Changes are POSTs that redirect; a deletion's GET is a confirmation page and its POST
deletes nothing without ``confirm=yes``. Every change is in the audit trail (auditlog).
"""

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.generic import TemplateView

from clinic import display
from clinic.access import ClinicAccessMixin, Role
from refills.booking import working_days_text, working_weekdays
from scheduling import plan
from scheduling.forms import AbsenceForm, RefillSessionForm
from scheduling.models import Absence, RefillSession


def session_words(session: RefillSession) -> str:
    who = display.member_name(session.member.user) if session.member_id else _("Clinic session")
    return _("%(who)s, %(day)s %(time)s") % {
        "who": who,
        "day": session.get_weekday_display(),
        "time": f"{session.start_time:%H:%M}",
    }


def absence_words(absence: Absence) -> str:
    return _("%(name)s away %(first)s to %(last)s") % {
        "name": display.member_name(absence.member.user),
        "first": display.day(absence.first_day),
        "last": display.day(absence.last_day),
    }


class SessionListView(ClinicAccessMixin, TemplateView):
    role = Role.ADMIN
    template_name = "scheduling/sessions.html"

    def get_context_data(self, **kwargs):
        sessions = list(self.scoped(RefillSession.objects.select_related("member__user")))
        working = working_weekdays(self.clinic.working_days)
        for session in sessions:  # the working days may have changed since it was saved
            session.offered = session.active and session.weekday in working
        return super().get_context_data(
            sessions=sessions,
            listed=bool(sessions),
            weekly_slots=sum(s.slots for s in sessions if s.offered),
            working_days=working_days_text(self.clinic.working_days),
            **kwargs,
        )


class FormPageView(ClinicAccessMixin, TemplateView):
    """One form that saves, says what it saved and goes back to its list (a refill session, an
    absence): GET shows it, a refused POST shows it again with its errors (nothing saved).
    ``object`` is the row edited (None: a new one), in the context as ``context_name``."""

    form_class = None
    context_name = ""
    back_url_name = ""
    back_label = ""
    form_label = ""
    save_label = ""
    object = None

    def form_kwargs(self) -> dict:
        return {"clinic": self.clinic}

    def make_form(self, data=None):
        return self.form_class(data, instance=self.object, **self.form_kwargs())

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.make_form()))

    def post(self, request, *args, **kwargs):
        form = self.make_form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        self.saved(form)
        return redirect(self.back_url_name)

    def saved(self, form) -> None:
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            **{self.context_name: self.object},
            back_url=reverse(self.back_url_name),
            back_label=self.back_label,
            form_label=self.form_label,
            save_label=self.save_label,
            **kwargs,
        )


class SessionFormView(FormPageView):
    role = Role.ADMIN
    template_name = "scheduling/session_form.html"
    form_class = RefillSessionForm
    context_name = "session"
    back_url_name = "sessions"
    back_label = gettext_lazy("refill sessions")
    form_label = gettext_lazy("Refill session")
    save_label = gettext_lazy("Save session")

    def saved(self, form) -> None:
        session = form.save(commit=False)
        session.clinic = self.clinic
        session.save()
        messages.success(self.request, _("Refill session saved: %(what)s.") % {"what": session_words(session)})


class SessionCreateView(SessionFormView):
    pass


class SessionEditView(SessionFormView):
    def load_objects(self):
        self.object = self.get_scoped(RefillSession.objects.select_related("member__user"), pk=self.kwargs["pk"])


class ConfirmDeleteView(ClinicAccessMixin, TemplateView):
    """GET asks; POST with confirm=yes deletes; POST without it asks again, deleting nothing."""

    template_name = "scheduling/confirm_delete.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(what=self.describe(), heading=self.heading, back_url=self.back_url(), **kwargs)

    def post(self, request, *args, **kwargs):
        if request.POST.get("confirm") != "yes":
            return self.render_to_response(self.get_context_data(unconfirmed=True))
        what = self.describe()
        self.object.delete()
        messages.success(request, _("Deleted: %(what)s.") % {"what": what})
        return redirect(self.back_url())


class SessionDeleteView(ConfirmDeleteView):
    role = Role.ADMIN
    heading = gettext_lazy("Delete this refill session?")

    def load_objects(self):
        self.object = self.get_scoped(RefillSession.objects.select_related("member__user"), pk=self.kwargs["pk"])

    def describe(self) -> str:
        return _("refill session %(what)s") % {"what": session_words(self.object)}

    def back_url(self) -> str:
        return reverse("sessions")


class AbsenceListView(ClinicAccessMixin, TemplateView):
    """Current and coming absences of every member (booking needs to know); past ones are kept
    but not listed. Each member changes their own; admins anyone's."""

    role = Role.STAFF
    template_name = "scheduling/absences.html"

    def get_context_data(self, **kwargs):
        absences = list(
            self.scoped(Absence.objects.select_related("member__user"))
            .filter(last_day__gte=self.today)
            .order_by("first_day", "member__user__last_name")
        )
        for absence in absences:
            absence.editable = self.is_clinic_admin or absence.member_id == self.membership.pk
        return super().get_context_data(absences=absences, listed=bool(absences), **kwargs)


class OwnAbsenceMixin:
    """Non-admins may change only their own absences (someone else's is a 403 for them)."""

    def load_objects(self):
        self.object = self.get_scoped(Absence.objects.select_related("member__user"), pk=self.kwargs["pk"])
        if self.object.member_id != self.membership.pk:
            self.role = self.post_role = Role.ADMIN


class AbsenceFormView(FormPageView):
    role = Role.STAFF
    template_name = "scheduling/absence_form.html"
    form_class = AbsenceForm
    context_name = "absence"
    back_url_name = "absences"
    back_label = gettext_lazy("absences")
    form_label = gettext_lazy("Absence")
    save_label = gettext_lazy("Save absence")

    def form_kwargs(self) -> dict:
        return {"clinic": self.clinic, "membership": self.membership, "can_choose_member": self.is_clinic_admin}

    def saved(self, form) -> None:
        absence = form.save()
        messages.success(self.request, _("Absence saved: %(what)s.") % {"what": absence_words(absence)})
        booked = (
            plan.scheduled_refills_between(self.clinic, absence.first_day, absence.last_day + timedelta(days=1))
            .filter(assigned_to_id=absence.member.user_id)
            .count()
        )
        if booked:
            messages.warning(
                self.request,
                format_html(
                    '{} <a href="{}#absence-heading">{}</a>',
                    ngettext(
                        "%(count)d booked refill falls in this absence.",
                        "%(count)d booked refills fall in this absence.",
                        booked,
                    )
                    % {"count": booked},
                    reverse("plan"),
                    _("Move them from the plan's list"),
                ),
            )


class AbsenceCreateView(AbsenceFormView):
    pass


class AbsenceEditView(OwnAbsenceMixin, AbsenceFormView):
    pass


class AbsenceDeleteView(OwnAbsenceMixin, ConfirmDeleteView):
    role = Role.STAFF
    heading = gettext_lazy("Delete this absence?")

    def describe(self) -> str:
        return _("absence: %(what)s") % {"what": absence_words(self.object)}

    def back_url(self) -> str:
        return reverse("absences")
