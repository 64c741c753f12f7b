"""Optional TOTP two-factor sign-in, which a clinic admin can require."""

from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def code(device, offset=0):
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset):06d}"


def test_setup_with_a_valid_code_turns_it_on(client, staff):
    client.force_login(staff)
    page = client.get(reverse("two_factor_setup"))
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"token": code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed


def test_setup_with_a_wrong_code_is_a_field_error(client, staff):
    client.force_login(staff)
    client.get(reverse("two_factor_setup"))
    response = client.post(reverse("two_factor_setup"), {"token": "000000"})
    assert response.status_code == 200
    assert "not right" in response.context["form"].errors["token"][0]
    assert not TOTPDevice.objects.filter(user=staff, confirmed=True).exists()


def test_member_with_a_device_must_confirm_a_code_after_password(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client.post(reverse("login"), {"username": staff.username, "password": "correct-horse-battery"})
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("two_factor_verify") in response["Location"]
    response = client.post(f"{reverse('two_factor_verify')}?next=/", {"token": code(device)})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_clinic_that_requires_two_factor_sends_members_to_setup(client, clinic, staff):
    clinic.require_two_factor = True
    clinic.save()
    client.force_login(staff)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("two_factor_setup")
