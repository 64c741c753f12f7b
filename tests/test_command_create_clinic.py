"""manage.py create_clinic: validated by the model, nothing saved on error."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from clinic.models import Clinic


def create(*args):
    out = StringIO()
    call_command("create_clinic", *args, stdout=out)
    return out.getvalue()


def test_creates_a_clinic_with_defaults(db):
    out = create("north", "--name", "North Pump Clinic", "--timezone", "Europe/London")

    clinic = Clinic.objects.get(slug="north")
    assert (clinic.name, clinic.time_zone, clinic.buffer_days, clinic.due_soon_days) == (
        "North Pump Clinic",
        "Europe/London",
        7,
        14,
    )
    assert "Created clinic 'north'" in out


def test_creates_a_clinic_with_schedule_settings(db):
    create("east", "--name", "East", "--timezone", "America/New_York", "--buffer-days", "0", "--due-soon-days", "60")

    clinic = Clinic.objects.get(slug="east")
    assert (clinic.buffer_days, clinic.due_soon_days) == (0, 60)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--timezone", "Mars/Olympus"], "--timezone: Mars/Olympus is not an IANA time zone"),
        (["--buffer-days", "31"], "--buffer-days: Ensure this value is less than or equal to 30."),
        (["--buffer-days", "-1"], "--buffer-days: Ensure this value is greater than or equal to 0."),
        (["--due-soon-days", "0"], "--due-soon-days: Ensure this value is greater than or equal to 1."),
        (["--due-soon-days", "61"], "--due-soon-days: Ensure this value is less than or equal to 60."),
        (["--name", "   "], "--name: This field cannot be blank."),
    ],
)
def test_invalid_option_names_the_option_and_saves_nothing(db, args, expected):
    options = {"--name": "West", "--timezone": "Europe/Paris"}
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [part for pair in options.items() for part in pair]

    with pytest.raises(CommandError) as failure:
        create("west", *flat)

    assert expected in str(failure.value)
    assert not Clinic.objects.exists()


def test_invalid_slug_is_refused(db):
    with pytest.raises(CommandError, match="SLUG: "):
        create("not a slug!", "--name", "West", "--timezone", "Europe/Paris")
    assert not Clinic.objects.exists()


def test_several_errors_are_all_reported(db):
    with pytest.raises(CommandError) as failure:
        create("west", "--name", "West", "--timezone", "Nowhere", "--buffer-days", "99")

    assert "--timezone:" in str(failure.value) and "--buffer-days:" in str(failure.value)


def test_existing_slug_is_refused_and_left_alone(clinic):
    with pytest.raises(CommandError, match="a clinic with slug 'north' already exists"):
        create("north", "--name", "Another", "--timezone", "Europe/Paris", "--buffer-days", "3")

    clinic.refresh_from_db()
    assert (clinic.name, clinic.time_zone, clinic.buffer_days) == ("North Pump Clinic", "Europe/London", 7)
    assert Clinic.objects.count() == 1


def test_missing_required_option_is_refused(db):
    with pytest.raises(CommandError, match="--timezone"):
        create("west", "--name", "West")
    assert not Clinic.objects.exists()
