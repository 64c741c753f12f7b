"""The one access path for clinic-scoped data.

Every view that shows or changes clinic data goes through ClinicAccessMixin:
anonymous users are sent to log in, objects of a clinic the user is not working in
are a 404 (no hint that they exist), and a role that may not do the action is a 403.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404
from django.shortcuts import get_object_or_404

from clinic.models import Clinic, Membership
from clinic.scoping import clinic_path

Role = Membership.Role
ROLE_RANK = {Role.STAFF: 0, Role.MANAGER: 1, Role.ADMIN: 2}
SESSION_KEY = "active_clinic_id"


def has_role(membership: Membership | None, role: str) -> bool:
    return membership is not None and ROLE_RANK[membership.role] >= ROLE_RANK[role]


def memberships_of(user):
    return Membership.objects.filter(user=user).select_related("clinic").order_by("clinic__name")


def active_membership(request) -> Membership | None:
    """The membership of the clinic the user is working in (chosen explicitly, else the first)."""
    if hasattr(request, "_active_membership"):
        return request._active_membership
    membership = None
    if request.user.is_authenticated:
        chosen = request.session.get(SESSION_KEY)
        # One query; the navigation's clinic switcher reuses the list (request._memberships).
        memberships = request._memberships = list(memberships_of(request.user))
        if chosen is not None:
            membership = next((m for m in memberships if m.clinic_id == chosen), None)
        if membership is None:
            membership = memberships[0] if memberships else None
            if membership is not None:
                request.session[SESSION_KEY] = membership.clinic_id
    request._active_membership = membership
    return membership


def switch_clinic(request, clinic_id: int) -> Membership:
    """Make another of the user's clinics the active one; 404 if not a member."""
    membership = get_object_or_404(memberships_of(request.user), clinic_id=clinic_id)
    request.session[SESSION_KEY] = membership.clinic_id
    request._active_membership = membership
    return membership


def scoped(queryset_or_model, clinic: Clinic) -> models.QuerySet:
    """A queryset limited to one clinic's rows."""
    queryset = queryset_or_model._default_manager.all() if isinstance(queryset_or_model, type) else queryset_or_model
    path = clinic_path(queryset.model)  # declared on the model (clinic_scope)
    return queryset.filter(**{path: clinic})


class ClinicAccessMixin(LoginRequiredMixin):
    """Login, active clinic, role check and clinic-scoped object lookup for a view.

    ``role`` is the least role that may GET; ``post_role`` the least that may POST
    (defaults to ``role``). Subclasses that work on an object from the URL override
    ``load_objects`` and fetch it with ``get_scoped`` so an outsider gets a 404 before
    any role check can hint that it exists.
    """

    role: str = Role.STAFF
    post_role: str | None = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.membership = active_membership(request)
        if self.membership is None:
            raise PermissionDenied("You are not a member of any clinic.")
        self.clinic = self.membership.clinic
        self.today = self.clinic.today()  # read once per request and passed down
        self.load_objects()
        safe = request.method in ("GET", "HEAD", "OPTIONS")
        needed = self.role if safe else (self.post_role or self.role)
        if not has_role(self.membership, needed):
            # The 403 page (templates/403.html) names who can help: the role this action needs.
            request.needed_role = needed
            raise PermissionDenied(f"This needs the role {Role(needed).label} or above.")
        return super().dispatch(request, *args, **kwargs)

    def load_objects(self) -> None:
        """Fetch the URL's objects (with get_scoped); runs before the role check."""

    def scoped(self, queryset_or_model) -> models.QuerySet:
        return scoped(queryset_or_model, self.clinic)

    def get_scoped(self, queryset_or_model, **lookup):
        try:
            return self.scoped(queryset_or_model).get(**lookup)
        except (models.ObjectDoesNotExist, ValueError, TypeError):
            raise Http404("Not found.") from None

    @property
    def can_manage(self) -> bool:
        return has_role(self.membership, Role.MANAGER)

    @property
    def is_clinic_admin(self) -> bool:
        return has_role(self.membership, Role.ADMIN)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            clinic=self.clinic,
            membership=self.membership,
            today=self.today,
            can_manage=self.can_manage,
            is_clinic_admin=self.is_clinic_admin,
        )
        return context
