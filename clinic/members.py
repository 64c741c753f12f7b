"""Inviting, re-roling and removing clinic members; a clinic always keeps an admin."""

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from clinic.models import CalendarFeed, Membership


def set_password_path(user) -> str:
    """A set-password link with an expiring signed token (Django's reset tokens)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


@transaction.atomic
def invite(clinic, *, email: str, role: str, first_name: str = "", last_name: str = "", base_url: str) -> Membership:
    """Add a member by email; a new user gets an email with a set-password link."""
    users = get_user_model()
    email = users.objects.normalize_email(email).lower()
    user = users.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = users(username=email, email=email, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        user.save()
    if Membership.objects.filter(user=user, clinic=clinic).exists():
        raise ValidationError({"email": _("%(email)s is already a member of this clinic.") % {"email": email}})
    membership = Membership.objects.create(user=user, clinic=clinic, role=role)
    link = base_url + (set_password_path(user) if created or not user.has_usable_password() else reverse("login"))
    context = {"clinic": clinic, "link": link, "role": membership.get_role_display(), "new_user": created}
    # Sent after commit so a rolled-back invite sends nothing.
    transaction.on_commit(
        lambda: send_mail(
            _("You are invited to %(clinic)s on ITB Caseload") % {"clinic": clinic.name},
            render_to_string("clinic/email/invite.txt", context),
            None,
            [email],
        )
    )
    return membership


def _other_admins(membership: Membership) -> int:
    return (
        Membership.objects.select_for_update()
        .filter(clinic_id=membership.clinic_id, role=Membership.Role.ADMIN)
        .exclude(pk=membership.pk)
        .count()
    )


@transaction.atomic
def change_role(membership: Membership, role: str, digest_opt_in: bool | None = None) -> Membership:
    if membership.role == Membership.Role.ADMIN and role != Membership.Role.ADMIN and not _other_admins(membership):
        raise ValidationError({"role": _("The last admin of a clinic cannot be demoted.")})
    membership.role = role
    if digest_opt_in is not None:
        membership.digest_opt_in = digest_opt_in
    membership.save()
    return membership


@transaction.atomic
def remove(membership: Membership) -> int:
    """Remove a member and revoke their calendar feed URLs; returns how many were revoked.

    A feed only answered while its owner was a member, so re-adding the same person revived
    the old URL (issue 13, defect 5). Now it is revoked for good, one audited save per feed.
    """
    if membership.role == Membership.Role.ADMIN and not _other_admins(membership):
        raise ValidationError(_("The last admin of a clinic cannot be removed."))
    revoked = sum(
        CalendarFeed.revoke_live(membership.clinic, membership.user, scope) for scope in CalendarFeed.Scope.values
    )
    membership.delete()
    return revoked
