"""The fixed cast (admin, manager, staff, outsider) and common fixtures."""

import pytest

from clinic.models import Membership
from tests.factories import ClinicFactory, MembershipFactory, UserFactory


@pytest.fixture
def clinic(db):
    return ClinicFactory(slug="north", name="North Pump Clinic", time_zone="Europe/London")


@pytest.fixture
def other_clinic(db):
    return ClinicFactory(slug="south", name="South Pump Clinic", time_zone="America/New_York")


def _member(clinic, role, username):
    return MembershipFactory(clinic=clinic, role=role, user=UserFactory(username=username)).user


@pytest.fixture
def admin_user(clinic):
    return _member(clinic, Membership.Role.ADMIN, "alice-admin")


@pytest.fixture
def manager(clinic):
    return _member(clinic, Membership.Role.MANAGER, "mark-manager")


@pytest.fixture
def staff(clinic):
    return _member(clinic, Membership.Role.STAFF, "sam-staff")


@pytest.fixture
def outsider(other_clinic):
    return _member(other_clinic, Membership.Role.ADMIN, "oscar-outsider")
