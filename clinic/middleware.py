"""Two-factor sign-in: members with an authenticator must confirm a code, and clinics
that require it send members without one to set it up."""

from django.shortcuts import redirect
from django.urls import reverse

from clinic.access import active_membership

EXEMPT_PREFIXES = ("/account/two-factor/", "/accounts/logout/", "/static/", "/health/", "/unsubscribe/")


def has_totp_device(user) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not user.is_verified()
        ):
            if has_totp_device(user):
                return redirect(f"{reverse('two_factor_verify')}?next={request.path}")
            membership = active_membership(request)
            if membership is not None and membership.clinic.require_two_factor:
                return redirect("two_factor_setup")
        return self.get_response(request)
