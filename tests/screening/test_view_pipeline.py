"""The pipeline page: candidates by stage with days waiting, filters, CSV and XLSX (audited,
formula-safe); implanted patients and other clinics' candidates never listed; access."""

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from screening.models import Cause, Stage
from tests.factories import PumpFactory
from tests.screening_data import make_candidate, make_trial

URL = "/screening/"
TODAY = date(2026, 11, 25)


@pytest.fixture
def cast(clinic, manager, other_clinic):
    return {
        "waiting": make_candidate(
            clinic,
            mrn="P-WAIT",
            stage=Stage.ASSESSED,
            referral_date=date(2026, 10, 1),
            stage_date=date(2026, 10, 20),
            clinician=manager,
        ),
        "recent": make_candidate(clinic, mrn="P-NEW", referral_date=date(2026, 11, 20), cause=Cause.CEREBRAL_PALSY),
        "tried": make_candidate(
            clinic,
            mrn="P-TRIED",
            stage=Stage.TRIAL_DONE,
            referral_date=date(2026, 9, 1),
            stage_date=date(2026, 11, 2),
            cause=Cause.SPINAL_CORD_INJURY,
            injury_level="C5",
        ),
        "closed": make_candidate(
            clinic,
            mrn="P-CLOSED",
            stage=Stage.CLOSED,
            closed_reason="declined",
            referral_date=date(2026, 8, 1),
            stage_date=date(2026, 9, 1),
        ),
        "implanted": make_candidate(
            clinic, mrn="P-IMPL", stage=Stage.IMPLANTED, referral_date=date(2026, 6, 1), stage_date=date(2026, 9, 1)
        ),
        "elsewhere": make_candidate(other_clinic, mrn="P-ELSE", referral_date=date(2026, 10, 1)),
    }


def mrns(response):
    return [c.patient.mrn for c in response.context["table"].data]


def test_candidates_by_stage_with_days_waiting(client, staff, cast):
    make_trial(cast["tried"], given_at=datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("Europe/London")), dose="75")
    client.force_login(staff)
    response = client.get(URL)
    assert response.status_code == 200
    # Open stages in pipeline order, earliest referral first; closed only on request; never implanted.
    assert mrns(response) == ["P-NEW", "P-WAIT", "P-TRIED"]
    html = response.content.decode()
    waiting = next(c for c in response.context["table"].data if c.patient.mrn == "P-WAIT")
    assert (waiting.days_in_stage, waiting.days_since_referral) == (36, 55)
    assert "over target" in html and '<tr class="over-target' in html  # 55 days > 42, no trial yet
    assert "Spinal cord injury (C5)" in html and "Tue 20 Oct 2026" in html
    assert "75 mcg, responder" in html and reverse("trial_detail", args=[cast["tried"].trials.get().pk]) in html


def test_a_pump_patient_never_appears_even_if_the_stage_was_not_moved(client, staff, cast):
    PumpFactory(patient=cast["recent"].patient)  # implanted from elsewhere: a pump patient now
    client.force_login(staff)
    assert "P-NEW" not in mrns(client.get(URL))
    assert "P-IMPL" not in mrns(client.get(URL, {"stage": "implanted"}))  # not even a choice


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"stage": "closed"}, ["P-CLOSED"]),
        ({"stage": "assessed"}, ["P-WAIT"]),
        ({"cause": "cp"}, ["P-NEW"]),
        ({"waiting": "true"}, ["P-WAIT"]),
    ],
)
def test_filters(client, staff, cast, query, expected):
    client.force_login(staff)
    assert mrns(client.get(URL, query)) == expected


def test_clinician_filter(client, staff, manager, cast):
    client.force_login(staff)
    assert mrns(client.get(URL, {"clinician": manager.pk})) == ["P-WAIT"]
    assert mrns(client.get(URL, {"clinician": "null"})) == ["P-NEW", "P-TRIED"]


def test_the_target_is_the_clinics_setting(client, staff, clinic, cast):
    clinic.screening_target_days = 60
    clinic.save()
    client.force_login(staff)
    assert mrns(client.get(URL, {"waiting": "true"})) == []  # 55 days is within 60


def test_csv_export_is_iso_formula_safe_and_audited(client, staff, clinic, cast):
    cast["recent"].patient.last_name = "=HYPERLINK(1)"
    cast["recent"].patient.save()
    client.force_login(staff)
    response = client.get(URL, {"_export": "csv"})
    assert "pipeline-north-2026-11-25.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["MRN"] for r in rows] == ["P-NEW", "P-WAIT", "P-TRIED"]
    waiting = rows[1]
    assert waiting["Referred"] == "2026-10-01" and waiting["Days since referral"] == "55"
    assert waiting["Stage"] == "Assessed" and waiting["Clinician"] == "Test " + waiting["Clinician"].split(" ", 1)[1]
    assert rows[0]["Candidate"].startswith("'=HYPERLINK")
    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS)
    assert entry.actor == staff and entry.changes["export"] == ["pipeline", "csv, 3 rows"]


def test_xlsx_export(client, manager, cast):
    client.force_login(manager)
    response = client.get(URL, {"stage": "closed", "_export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[0][0] == "MRN" and [row[0] for row in values[1:]] == ["P-CLOSED"]
    assert "Closed: declined" in values[1]


def test_access(client, outsider, cast):
    client.force_login(outsider)
    assert mrns(client.get(URL)) == ["P-ELSE"]  # their own clinic's only
    client.logout()
    assert reverse("login") in client.get(URL)["Location"]


def test_managers_get_each_candidates_next_step_staff_do_not(client, manager, staff, clinic, cast):
    make_trial(cast["tried"], given_at=datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("Europe/London")))
    scheduled = make_candidate(clinic, mrn="P-SCHED", stage=Stage.TRIAL_SCHEDULED, referral_date=date(2026, 10, 5))
    client.force_login(manager)
    html = client.get(URL).content.decode()
    assert reverse("trial_create", args=[scheduled.pk]) in html and "Record the trial" in html
    assert reverse("candidate_implant_book", args=[cast["tried"].pk]) in html  # a responder: book the implant
    assert reverse("candidate_move", args=[cast["waiting"].pk]) in html
    rows = list(csv.reader(io.StringIO(client.get(URL, {"_export": "csv"}).content.decode())))
    assert "Next step" not in rows[0]
    client.force_login(staff)
    html = client.get(URL).content.decode()
    assert "Next step" not in html and reverse("trial_create", args=[scheduled.pk]) not in html


def test_rows_and_exports_through_the_one_row_path(client, manager, cast):
    """Every column takes the row path's shortcut, which writes what django-tables2 writes."""
    import django_tables2

    from dashboard.templatetags import dashboard
    from tests.test_table_body import library_body

    make_trial(cast["tried"], given_at=datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("Europe/London")))
    client.force_login(manager)
    table = client.get(URL).context["table"]
    renderer = table.row_renderer(table)
    assert [column.name for column in table.columns if renderer.cells.get(column.name) is None] == []
    assert dashboard.table_rows(table).splitlines() == library_body(client.get(URL).context["table"]).splitlines()
    export = client.get(URL, {"_export": "csv"})
    assert export.status_code == 200
    table = client.get(URL).context["table"]
    assert list(table.as_values()) == list(django_tables2.Table.as_values(table))
