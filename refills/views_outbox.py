"""The reminder outbox page, its retry action, the health view and unsubscribe links."""

from datetime import timedelta

from auditlog.context import set_extra_data
from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import connection, transaction
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import ListView

from clinic.access import ClinicAccessMixin, Role
from patients.models import Patient
from refills.outbox import Reminder, SweepRun, patient_id_from_token
from refills.tasks import enqueue_send

Status = Reminder.Status


class OutboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), choices=[("", gettext_lazy("All"))] + Status.choices, required=False
    )


class OutboxView(ClinicAccessMixin, ListView):
    """Recent reminder rows of the clinic, failures first in the eye."""

    role = Role.STAFF
    post_role = None  # GET only
    template_name = "refills/outbox.html"
    context_object_name = "reminders"
    paginate_by = 50
    http_method_names = ["get", "head", "options"]

    def get_queryset(self):
        self.filter_form = OutboxFilterForm(self.request.GET or None)
        rows = self.scoped(Reminder.objects.select_related("patient", "recipient_user")).order_by("-created_at", "-pk")
        if self.filter_form.is_bound and not self.filter_form.is_valid():
            for field, errors in self.filter_form.errors.items():
                label = self.filter_form.fields[field].label if field in self.filter_form.fields else field
                messages.error(self.request, f"{label}: {' '.join(errors)}")
            return rows
        status = self.filter_form.cleaned_data.get("status") if self.filter_form.is_bound else ""
        return rows.filter(status=status) if status else rows

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        counts = dict(
            self.scoped(Reminder).values_list("status").annotate(n=Count("pk")).order_by().values_list("status", "n")
        )
        context.update(
            filter_form=self.filter_form,
            status_counts=[(value, label, counts.get(value, 0)) for value, label in Status.choices],
            failed_count=counts.get(Status.FAILED, 0),
        )
        return context


class OutboxRetryView(ClinicAccessMixin, View):
    """POST: send a failed reminder again, with a fresh set of attempts."""

    role = Role.STAFF

    def load_objects(self):
        self.object = self.get_scoped(Reminder, pk=self.kwargs["pk"])

    def post(self, request, pk):
        now = timezone.now()
        with transaction.atomic():
            # Conditional: only a row that is still failed (two clicks queue it once).
            changed = Reminder.objects.filter(pk=self.object.pk, status=Status.FAILED).update(
                status=Status.PENDING, attempts=0, next_attempt_at=now, updated_at=now
            )
            if changed:
                enqueue_send(self.object.pk)
        if changed:
            messages.success(request, _("Reminder #%(id)s will be sent again.") % {"id": self.object.pk})
        else:
            messages.error(
                request,
                _("Only a failed reminder can be retried; #%(id)s is %(status)s.")
                % {
                    "id": self.object.pk,
                    "status": Reminder.objects.get(pk=self.object.pk).get_status_display().lower(),
                },
            )
        return redirect("outbox")


# Health ---------------------------------------------------------------------------------

BROKER_TIMEOUT_SECONDS = 2


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def broker_ok() -> bool:
    """Can we reach the Celery broker within a couple of seconds?"""
    from clinic.celery import app

    try:
        with app.connection_for_write(
            settings.CELERY_BROKER_URL,
            connect_timeout=BROKER_TIMEOUT_SECONDS,
            transport_options={
                "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
                "socket_timeout": BROKER_TIMEOUT_SECONDS,
                "max_retries": 0,
            },
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
        return True
    except Exception:
        return False


def health_report(now=None) -> dict:
    """Database, broker, age of the last finished sweep and failed reminders (all clinics)."""
    now = now or timezone.now()
    report = {"database": "ok" if database_ok() else "error", "broker": "ok" if broker_ok() else "error"}
    last_sweep_age = failed = None
    if report["database"] == "ok":
        last = SweepRun.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()
        last_sweep_age = int((now - last.finished_at).total_seconds()) if last else None
        failed = Reminder.objects.failed().count()
    # Three missed sweeps in a row: beat or the workers are not running.
    max_age = timedelta(seconds=3 * settings.REMINDER_SWEEP_SECONDS).total_seconds()
    sweep_ok = last_sweep_age is not None and last_sweep_age <= max_age
    report.update(
        sweep="ok" if sweep_ok else "late",
        last_sweep_age_seconds=last_sweep_age,
        failed_reminders=failed,
        status="ok" if report["database"] == report["broker"] == "ok" and sweep_ok else "error",
    )
    return report


class HealthView(View):
    """Public JSON for an external monitor: 200 when healthy, 503 otherwise.

    Failed reminders are counted (a monitor may alert on them) but do not make the
    service unhealthy: they wait for a person in the outbox. ``?check=web`` is for a load
    balancer: 503 only when this web node cannot serve (its database is down), so a late
    sweep (beat or workers down) does not take every web node out of rotation.
    """

    http_method_names = ["get", "head"]

    def get(self, request):
        report = health_report()
        healthy = report["database"] == "ok" if request.GET.get("check") == "web" else report["status"] == "ok"
        response = JsonResponse(report, status=200 if healthy else 503)
        response["Cache-Control"] = "no-store"
        return response


# Unsubscribe ------------------------------------------------------------------------------


@method_decorator(csrf_exempt, name="dispatch")  # the signed token is the credential; mail clients POST (RFC 8058)
class UnsubscribeView(View):
    """A patient's one-click unsubscribe link: GET asks, POST turns reminders off (audited)."""

    template_name = "reminders/unsubscribe.html"

    def dispatch(self, request, token):
        patient_id = patient_id_from_token(token)
        self.patient = Patient.objects.select_related("clinic").filter(pk=patient_id).first() if patient_id else None
        if self.patient is None:
            return render(request, self.template_name, {"invalid": True}, status=400)
        return super().dispatch(request, token)

    def get(self, request, token):
        return render(
            request, self.template_name, {"clinic": self.patient.clinic, "opted_in": self.patient.reminders_opt_in}
        )

    def post(self, request, token):
        patient = self.patient
        if patient.reminders_opt_in:
            extra = {**patient.get_additional_data(), "via": "unsubscribe link in a reminder email"}
            audit = {"additional_data": extra, "remote_addr": request.META.get("REMOTE_ADDR")}
            with transaction.atomic(), set_extra_data(audit):
                patient.reminders_opt_in = False
                patient.save(update_fields=["reminders_opt_in", "updated_at"])
        return redirect(request.path)
