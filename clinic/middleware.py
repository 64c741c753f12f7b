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


class SessionRefreshMiddleware:
    """Slide the idle timeout without writing the session on every request.

    SESSION_SAVE_EVERY_REQUEST cost an UPDATE and a COMMIT (a disk flush) on every page.
    Instead the session is saved, and its expiry moved to now + SESSION_COOKIE_AGE, when
    it was last refreshed more than SESSION_REFRESH_SECONDS ago (or when it changed), so a
    session still idles out after SESSION_COOKIE_AGE, give or take that interval.
    Placed right after SessionMiddleware so the mark is set before the session is saved.
    """

    KEY = "_refreshed_at"

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.interval = getattr(settings, "SESSION_REFRESH_SECONDS", 60)

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.is_empty() or response.status_code == 500:
            return response
        import time

        now = int(time.time())
        if now - session.get(self.KEY, 0) >= self.interval:
            session[self.KEY] = now  # marks the session modified: SessionMiddleware saves it
        return response
