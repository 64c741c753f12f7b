"""Styled error pages (issue 12 item 12): the navigation and what to do next, with DEBUG off."""

import pytest
from django.conf import settings
from django.template import loader
from django.test import Client
from django.urls import path, reverse

from clinic.urls import urlpatterns as project_urlpatterns
from tests.factories import PatientFactory, PumpFactory

pytestmark = pytest.mark.django_db


def _broken(request):
    raise RuntimeError("a bug")


urlpatterns = [*project_urlpatterns, path("broken/", _broken)]


def test_debug_is_off_for_these_tests():
    assert settings.DEBUG is False


def test_404_has_the_navigation_and_says_what_to_do(client, staff, other_clinic):
    elsewhere = PatientFactory(clinic=other_clinic)
    client.force_login(staff)
    response = client.get(f"/patients/{elsewhere.pk}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert '<nav aria-label="Main">' in html and 'href="/caseload/"' in html
    assert "This page does not exist or belongs to another clinic." in html
    assert '<a href="/">Go to Today</a>' in html
    assert "<h1>Page not found</h1>" in html


def test_404_for_an_unknown_address_when_logged_out(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist" in html and 'href="/accounts/login/"' in html
    assert '<nav aria-label="Main">' not in html  # no clinic navigation for a stranger


def test_403_names_the_role_and_who_can_help(client, staff):
    client.force_login(staff)
    response = client.get("/clinic/members/")  # clinic admins only
    assert response.status_code == 403
    html = response.content.decode()
    assert '<nav aria-label="Main">' in html
    assert "Your role (staff) in North Pump Clinic cannot do this." in html
    assert "Ask a clinic admin to do it" in html  # a pump manager may not either
    assert "pump manager" not in html
    assert '<a href="/">Go to Today</a>' in html


@pytest.mark.urls(__name__)
def test_500_is_styled_and_needs_no_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        html = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in html and 'href="/static/css/app.css"' in html
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_csrf_failure_page_is_styled(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post("/clinic/switch/", {"clinic": "1"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "This form has expired" in html and "Nothing was saved." in html
    assert 'href="/static/css/app.css"' in html


def test_403_for_a_manager_points_to_a_clinic_admin(client, manager):
    client.force_login(manager)
    html = client.get("/clinic/members/").content.decode()
    assert "Your role (pump manager) in North Pump Clinic cannot do this. Ask a clinic admin" in html


def test_403_names_the_role_the_page_needs_not_the_next_one_up(client, staff, clinic):
    """Staff are sent to whoever may do it: a clinic admin for the import (admins only),
    a pump manager or a clinic admin for recording a refill (managers and up)."""
    client.force_login(staff)
    response = client.get(reverse("import_caseload"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "Your role (staff) in North Pump Clinic cannot do this. Ask a clinic admin to do it" in html
    assert "pump manager" not in html

    pump = PumpFactory(patient=PatientFactory(clinic=clinic))
    response = client.get(reverse("refill_create", args=[pump.pk]))
    assert response.status_code == 403
    assert "cannot do this. Ask a pump manager or a clinic admin to do it" in response.content.decode()
