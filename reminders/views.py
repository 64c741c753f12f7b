"""The reminder outbox page, its retry actions, the health view and unsubscribe links."""

import logging
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
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import ListView

from clinic import job_runs
from clinic.access import ClinicAccessMixin, Role
from patients.models import Patient
from reminders.models import Reminder, SweepRun, patient_id_from_token
from reminders.tables import OutboxTable
from reminders.tasks import enqueue_send

Status = Reminder.Status
logger = logging.getLogger(__name__)
RETRY_CHUNK = 500  # ids per UPDATE (SQLite's limit on query parameters)


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
            table=OutboxTable(
                context["reminders"],
                request=self.request,
                paginator=context["paginator"],
                time_zone=self.clinic.time_zone,
                filtered_status=self.filter_form.is_bound and self.filter_form.cleaned_data.get("status"),
            ),
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
            logger.info("outbox: reminder %s retried by user %s", self.object.pk, request.user.pk)
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


class OutboxRetryFailedView(ClinicAccessMixin, View):
    """POST: send every failed reminder of the clinic again, after a confirmation.

    It sends emails, so the first POST (the outbox's button) only shows what would be
    sent and asks; the second, with ``confirm``, requeues. No JavaScript needed.
    """

    role = Role.STAFF
    template_name = "refills/outbox_retry_failed.html"
    http_method_names = ["post", "options"]

    def post(self, request):
        failed = self.scoped(Reminder).failed()
        if request.POST.get("confirm") != "yes":
            by_kind = dict(failed.values_list("kind").annotate(n=Count("pk")).order_by().values_list("kind", "n"))
            context = {
                "failed_count": sum(by_kind.values()),
                "by_kind": [(label, by_kind[value]) for value, label in Reminder.Kind.choices if value in by_kind],
            }
            return render(request, self.template_name, context)
        now = timezone.now()
        with transaction.atomic():
            # Locked, then updated only while still failed: a second click requeues nothing twice.
            ids = list(failed.select_for_update().order_by("pk").values_list("pk", flat=True))
            retried = []
            for start in range(0, len(ids), RETRY_CHUNK):
                chunk = ids[start : start + RETRY_CHUNK]
                Reminder.objects.filter(pk__in=chunk, status=Status.FAILED).update(
                    status=Status.PENDING, attempts=0, next_attempt_at=now, updated_at=now
                )
                retried += chunk
            for reminder_id in retried:
                enqueue_send(reminder_id)
        if retried:
            logger.info(
                "outbox: %d failed reminders of clinic %s retried by user %s (ids %s to %s)",
                len(retried),
                self.clinic.pk,
                request.user.pk,
                retried[0],
                retried[-1],
            )
            messages.success(
                request,
                ngettext(
                    "%(count)d failed reminder will be sent again.",
                    "%(count)d failed reminders will be sent again.",
                    len(retried),
                )
                % {"count": len(retried)},
            )
        else:
            messages.info(request, _("There were no failed reminders to retry."))
        return redirect("outbox")


# Health ---------------------------------------------------------------------------------

BROKER_TIMEOUT_SECONDS = 2
FAILING_WINDOW = timedelta(minutes=15)  # "reminders failing now": a send attempt failed this recently


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
    """Database, broker, age of the last finished sweep, reminders failing now and failed, periodic jobs (all clinics)."""
    now = now or timezone.now()
    report = {"database": "ok" if database_ok() else "error", "broker": "ok" if broker_ok() else "error"}
    last_sweep_age = failed = failing = jobs = None
    sweep_failed = False
    if report["database"] == "ok":
        last = SweepRun.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()
        last_sweep_age = int((now - last.finished_at).total_seconds()) if last else None
        latest = SweepRun.objects.order_by("-started_at").first()
        # The last run failed: a clinic's sweep raised (e.g. "database is locked"), or a run
        # started more than an interval ago never finished (it raised outside the clinics).
        sweep_failed = latest is not None and (
            latest.clinics_failed > 0
            or (
                latest.finished_at is None
                and (now - latest.started_at).total_seconds() > settings.REMINDER_SWEEP_SECONDS
            )
        )
        failed = Reminder.objects.failed().count()
        failing = Reminder.objects.failing_since_count(now - FAILING_WINDOW)
        # Every registered periodic job (the sweep, the worklist sync...): its last run failed,
        # or it has not succeeded within three of its periods (beat or the workers stalled).
        jobs = job_runs.job_states(now)
    # Three missed sweeps in a row: beat or the workers are not running.
    max_age = timedelta(seconds=3 * settings.REMINDER_SWEEP_SECONDS).total_seconds()
    sweep_ok = last_sweep_age is not None and last_sweep_age <= max_age and not sweep_failed
    # A send attempt failed within the window: the mail relay may be down now, hours before
    # the rows run out of attempts and show as failed.
    reminders_ok = failing == 0
    report.update(
        sweep="ok" if sweep_ok else ("failed" if sweep_failed else "late"),
        last_sweep_age_seconds=last_sweep_age,
        reminders="ok" if reminders_ok else "failing",
        reminders_failing_now=failing,
        failed_reminders=failed,
        jobs=jobs,
        jobs_failing=[name for name, state in (jobs or {}).items() if state["status"] != "ok"],
    )
    jobs_ok = jobs is not None and not report["jobs_failing"]
    healthy = report["database"] == report["broker"] == "ok" and sweep_ok and reminders_ok and jobs_ok
    report["status"] = "ok" if healthy else "error"
    return report


class HealthView(View):
    """Public JSON for an external monitor: 200 when healthy, 503 otherwise.

    Reminders failing now (an attempt failed in the last 15 minutes) make it unhealthy:
    the outage shows while the rows still retry. Failed reminders (out of attempts) are
    counted but do not: once the cause is gone they wait for a person in the outbox. ``?check=web`` is for a load
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
