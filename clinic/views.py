"""Clinic-level pages: switching clinic, members, audit history, two-factor (the settings page is
refills/views_settings.py: saving it recomputes every pump's dates)."""

import segno
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_GET
from django.views.generic import FormView, ListView, TemplateView
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic import members
from clinic.access import ClinicAccessMixin, Role, switch_clinic
from clinic.audit import clinic_history
from clinic.forms import InviteForm, MembershipForm, TokenForm
from clinic.models import Membership
from clinic.tables import MembersTable


class SwitchClinicView(LoginRequiredMixin, View):
    """POST clinic=<id>: work in another of my clinics."""

    def post(self, request):
        try:
            clinic_id = int(request.POST.get("clinic", ""))
        except ValueError:
            return redirect("home")
        membership = switch_clinic(request, clinic_id)
        messages.info(request, _("You are now working in %(clinic)s.") % {"clinic": membership.clinic.name})
        return redirect("home")


class MembersView(ClinicAccessMixin, FormView):
    role = Role.ADMIN
    template_name = "clinic/members.html"
    form_class = InviteForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["memberships"] = self.scoped(Membership.objects.select_related("user")).order_by(
            "user__last_name", "user__username"
        )
        context["roles"] = Membership.Role.choices
        context["table"] = MembersTable(context["memberships"], request=self.request, roles=context["roles"])
        return context

    def form_valid(self, form):
        try:
            membership = members.invite(
                self.clinic, base_url=self.request.build_absolute_uri("/")[:-1], **form.cleaned_data
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
            return self.form_invalid(form)
        messages.success(self.request, _("Invitation sent to %(email)s.") % {"email": membership.user.email})
        return redirect("members")


class MembershipUpdateView(ClinicAccessMixin, View):
    role = Role.ADMIN

    def load_objects(self):
        self.object = self.get_scoped(Membership, pk=self.kwargs["pk"])

    def post(self, request, pk):
        form = MembershipForm(request.POST, instance=Membership.objects.get(pk=self.object.pk))
        if not form.is_valid():
            for field, errors in form.errors.items():
                messages.error(request, f"{field}: {' '.join(errors)}")
            return redirect("members")
        try:
            members.change_role(self.object, form.cleaned_data["role"], form.cleaned_data["digest_opt_in"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Membership updated."))
        return redirect("members")


class MembershipRemoveView(ClinicAccessMixin, View):
    role = Role.ADMIN

    def load_objects(self):
        self.object = self.get_scoped(Membership, pk=self.kwargs["pk"])

    def post(self, request, pk):
        try:
            members.remove(self.object)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Member removed. Their calendar feeds no longer work."))
        return redirect("members")


class AuditLogView(ClinicAccessMixin, ListView):
    """The clinic's whole audit trail (admins)."""

    role = Role.ADMIN
    template_name = "clinic/audit_log.html"
    paginate_by = 50
    context_object_name = "entries"

    def get_queryset(self):
        return clinic_history(self.clinic)


class TwoFactorSetupView(LoginRequiredMixin, TemplateView):
    """Add an authenticator app: show the key as a QR code, confirm with a first code."""

    template_name = "clinic/two_factor_setup.html"

    def device(self):
        device = TOTPDevice.objects.filter(user=self.request.user, confirmed=False).first()
        return device or TOTPDevice.objects.create(user=self.request.user, name="Authenticator", confirmed=False)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        device = self.device()
        context["form"] = kwargs.get("form") or TokenForm()
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(scale=4)
        context["secret"] = device.config_url.split("secret=")[1].split("&")[0]
        context["has_device"] = TOTPDevice.objects.filter(user=self.request.user, confirmed=True).exists()
        return context

    def post(self, request):
        form = TokenForm(request.POST)
        device = self.device()
        if form.is_valid() and device.verify_token(form.cleaned_data["token"].strip()):
            TOTPDevice.objects.filter(user=request.user, confirmed=True).delete()
            device.confirmed = True
            device.save()
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on."))
            return redirect("home")
        form.add_error("token", _("That code is not right; check the time on your phone and try again."))
        return self.render_to_response(self.get_context_data(form=form))


class TwoFactorVerifyView(LoginRequiredMixin, FormView):
    """Second step of sign-in for members with an authenticator."""

    template_name = "clinic/two_factor_verify.html"
    form_class = TokenForm

    def form_valid(self, form):
        for device in TOTPDevice.objects.filter(user=self.request.user, confirmed=True):
            if device.verify_token(form.cleaned_data["token"].strip()):
                otp_login(self.request, device)
                target = self.request.GET.get("next", "")
                return redirect(target if target.startswith("/") and not target.startswith("//") else reverse("home"))
        form.add_error("token", _("That code is not right."))
        return self.form_invalid(form)


@require_GET
def favicon(request):
    """``/favicon.ico``, asked for by browsers and tools that ignore the pages' icon link: the
    static icon (a temporary redirect: the static file's name changes with its content)."""
    return redirect(static("img/favicon.svg"))
