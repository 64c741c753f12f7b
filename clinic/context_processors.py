"""Navigation context: the active clinic and the clinics a user may switch to."""

from clinic.access import active_membership, has_role, memberships_of


def clinic_nav(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = active_membership(request)
    return {
        "nav_membership": membership,
        "nav_clinic": membership.clinic if membership else None,
        "nav_can_manage": has_role(membership, "manager"),
        "nav_is_admin": has_role(membership, "admin"),
        "nav_memberships": nav_memberships(request) if membership else [],
    }


def nav_memberships(request):
    """The user's memberships, as already read by active_membership (no second query)."""
    memberships = getattr(request, "_memberships", None)
    return memberships if memberships is not None else memberships_of(request.user)
