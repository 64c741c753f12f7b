"""The caseload list: default order, filters, sorting, rows, pagination and export."""

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse

from refills import schedule
from tests.dashboard_data import FROZEN, TODAY, book_refill, pump_with_status
from tests.factories import pump_model

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


URL = "/caseload/"


def mrns(response) -> list[str]:
    """MRNs of the rows on the page, in the order shown."""
    return [row.record.patient.mrn for row in response.context["table"].paginated_rows]


@pytest.fixture
def caseload(clinic, manager):
    """One pump per status, plus an equal-overdue pair of which one patient is high risk."""
    return {
        "ok": pump_with_status(clinic, schedule.OK, mrn="OK1"),
        "due_soon": pump_with_status(clinic, schedule.DUE_SOON, mrn="SOON1", manager=manager),
        "overdue": pump_with_status(clinic, schedule.OVERDUE, mrn="LATE1", last_name="Zeta"),
        "overdue_risk": pump_with_status(clinic, schedule.OVERDUE, mrn="LATE2", previous_withdrawal=True),
        "alarming": pump_with_status(clinic, schedule.ALARMING, mrn="ALARM1"),
        "empty": pump_with_status(clinic, schedule.EMPTY, mrn="EMPTY1", manager=manager),
        "no_fill": pump_with_status(clinic, schedule.NO_FILL, mrn="NOFILL1"),
    }


def test_default_order_is_most_urgent_first(client, staff, caseload):
    client.force_login(staff)
    # Severity first; the two overdue pumps share refill due, so the high-risk one leads.
    assert mrns(client.get(URL)) == ["EMPTY1", "ALARM1", "LATE2", "LATE1", "NOFILL1", "SOON1", "OK1"]


def test_rows_show_status_as_text_and_colour_class(client, staff, caseload):
    client.force_login(staff)
    html = client.get(URL).content.decode()
    assert 'class="status-empty' in html and 'class="status-overdue' in html
    assert '<span class="badge badge-alarming">Alarming</span>' in html
    assert '<span class="badge badge-risk">High risk</span>' in html
    assert html.count("High risk</span>") == 1  # only LATE2 is high risk
    assert '<th scope="col"' in html and '<th scope="row"' in html


def test_mrn_links_to_the_patient_page_when_it_exists(client, staff, caseload):
    from dashboard.templatetags.dashboard import url_if_exists

    client.force_login(staff)
    html = client.get(URL).content.decode()
    detail = url_if_exists("patient_detail", pk=caseload["ok"].patient_id)
    # Issue 12 item 11: the MRN is part of the patient cell (name and MRN in one link).
    patient = caseload["ok"].patient
    name = f"{patient.last_name}, {patient.first_name}"
    if detail:
        assert (
            f'<a class="who" href="{detail}"><span class="who-name">{name}</span> <span class="mrn">OK1</span></a>'
            in html
        )
    else:
        assert '<span class="mrn">OK1</span>' in html


def test_status_filter_takes_several_statuses(client, staff, caseload):
    client.force_login(staff)
    assert mrns(client.get(URL, {"status": ["overdue", "empty"]})) == ["EMPTY1", "LATE2", "LATE1"]
    assert mrns(client.get(URL, {"status": "due_soon"})) == ["SOON1"]


def test_booking_filter(client, staff, caseload):
    on_time = caseload["due_soon"]
    late = caseload["ok"]
    book_refill(on_time, on_time.refill_due)
    book_refill(late, late.refill_due + timedelta(days=3))
    client.force_login(staff)
    assert mrns(client.get(URL, {"booking": "booked"})) == ["SOON1"]
    assert mrns(client.get(URL, {"booking": "late"})) == ["OK1"]
    unbooked = mrns(client.get(URL, {"booking": "unbooked"}))
    assert "SOON1" not in unbooked and "OK1" not in unbooked and "LATE1" in unbooked
    # The Today card's link: due soon and not booked.
    assert mrns(client.get(URL, {"status": "due_soon", "booking": "unbooked"})) == []


def test_manager_filter_and_its_choices_are_this_clinics_members(client, staff, manager, outsider, caseload):
    client.force_login(staff)
    response = client.get(URL, {"manager": manager.pk})
    assert mrns(response) == ["EMPTY1", "SOON1"]
    choices = dict(response.context["filter"].form.fields["manager"].choices)
    assert str(manager.pk) in choices and str(staff.pk) in choices and str(outsider.pk) not in choices
    assert choices[str(manager.pk)] == manager.get_full_name()
    # Another clinic's member is not a valid choice: the form says so and lists nothing.
    refused = client.get(URL, {"manager": outsider.pk})
    assert mrns(refused) == [] and refused.context["filter"].form.errors["manager"]
    unassigned = mrns(client.get(URL, {"manager": "null"}))
    assert "EMPTY1" not in unassigned and "OK1" in unassigned


def test_high_risk_filter(client, staff, caseload):
    client.force_login(staff)
    assert mrns(client.get(URL, {"high_risk": "true"})) == ["LATE2"]
    assert "LATE2" not in mrns(client.get(URL, {"high_risk": "false"}))


def test_pump_model_filter(client, staff, clinic, caseload):
    prometra = pump_with_status(clinic, schedule.OK, mrn="PROM1", pump_fields={"model": pump_model("prometra-ii-20")})
    client.force_login(staff)
    assert mrns(client.get(URL, {"model": prometra.model.code})) == ["PROM1"]


def test_search_by_mrn_or_name(client, staff, caseload):
    client.force_login(staff)
    assert mrns(client.get(URL, {"q": "late"})) == ["LATE2", "LATE1"]
    zeta = caseload["overdue"].patient
    assert mrns(client.get(URL, {"q": f"{zeta.last_name}, {zeta.first_name}"})) == ["LATE1"]
    assert mrns(client.get(URL, {"q": "no-such-person"})) == []


def test_sorting_is_done_by_the_database_on_annotations(client, staff, caseload):
    client.force_login(staff)
    by_days = mrns(client.get(URL, {"sort": "-days_to_due"}))
    assert by_days[0] == "OK1" and by_days[-1] == "NOFILL1"  # no fill, no days: last both ways
    assert mrns(client.get(URL, {"sort": "days_to_due"}))[-1] == "NOFILL1"
    by_mrn = mrns(client.get(URL, {"sort": "mrn"}))
    assert by_mrn == sorted(by_mrn)
    by_status = mrns(client.get(URL, {"sort": "-status"}))
    assert by_status[0] == "OK1" and by_status[-1] == "EMPTY1"


def test_fifty_rows_a_page(client, staff, clinic):
    for n in range(51):
        pump_with_status(clinic, schedule.OK, mrn=f"P{n:03d}", refill_ago=n % 60)
    client.force_login(staff)
    first = client.get(URL)
    assert len(mrns(first)) == 50 and first.context["table"].paginator.num_pages == 2
    assert len(mrns(client.get(URL, {"page": 2}))) == 1


def test_only_this_clinics_pumps(client, staff, outsider, other_clinic, caseload):
    pump_with_status(other_clinic, schedule.EMPTY, mrn="SOUTH1")
    client.force_login(staff)
    assert "SOUTH1" not in mrns(client.get(URL))
    client.force_login(outsider)
    assert mrns(client.get(URL)) == ["SOUTH1"]


def test_explanted_pumps_and_inactive_patients_are_not_listed(client, staff, clinic, caseload):
    gone = pump_with_status(clinic, schedule.EMPTY, mrn="GONE1")
    gone.status = "explanted"
    gone.explant_date = TODAY
    gone.save()
    moved = pump_with_status(clinic, schedule.EMPTY, mrn="MOVED1")
    moved.patient.status = "transferred"
    moved.patient.save()
    client.force_login(staff)
    listed = mrns(client.get(URL))
    assert "GONE1" not in listed and "MOVED1" not in listed


def test_csv_export_has_the_filtered_rows_and_is_logged(client, staff, clinic, caseload):
    client.force_login(staff)
    response = client.get(URL, {"status": "overdue", "_export": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        "attachment" in response["Content-Disposition"]
        and "caseload-north-2026-04-01.csv" in response["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["MRN"] for row in rows] == ["LATE2", "LATE1"]
    late = caseload["overdue"]
    assert rows[1]["Refill due"] == late.refill_due.isoformat()
    assert rows[1]["Status"] == "Overdue" and rows[0]["Risk"] == "High risk" and rows[1]["Risk"] == ""
    assert rows[1]["Days to due"] == "-4"
    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS)
    assert entry.actor == staff
    assert entry.additional_data == {"clinic_id": clinic.pk, "patient_id": None, "export": "caseload"}
    assert entry.changes["export"] == ["caseload", "csv, 2 rows"]


def test_xlsx_export_has_all_filtered_rows_not_just_one_page(client, staff, clinic):
    for n in range(55):
        pump_with_status(clinic, schedule.OK, mrn=f"X{n:03d}")
    pump_with_status(clinic, schedule.EMPTY, mrn="E001")
    client.force_login(staff)
    response = client.get(URL, {"status": "ok", "_export": "xlsx"})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[0][0] == "MRN" and len(values) == 1 + 55
    assert "E001" not in {row[0] for row in values}
    assert values[1][5].date() > TODAY  # refill due is a real date cell
    assert LogEntry.objects.get(action=LogEntry.Action.ACCESS).changes["export"] == ["caseload", "xlsx, 55 rows"]


def test_export_cells_cannot_run_as_formulas(client, staff, clinic):
    pump_with_status(clinic, schedule.OK, mrn="F1", last_name='=HYPERLINK("http://x.invalid")')
    client.force_login(staff)
    rows = list(csv.reader(io.StringIO(client.get(URL, {"_export": "csv"}).content.decode())))
    assert rows[1][1].startswith("'=HYPERLINK")


def test_other_formats_are_not_offered(client, staff, caseload):
    client.force_login(staff)
    response = client.get(URL, {"_export": "json"})
    assert response["Content-Type"].startswith("text/html")
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS).exists()


def test_export_links_keep_the_filters(client, staff, caseload):
    client.force_login(staff)
    html = client.get(URL, {"status": "overdue", "page": "1"}).content.decode()
    assert 'href="?status=overdue&amp;_export=csv"' in html
    assert reverse("caseload") == URL


def test_page_reads_in_the_clinics_words_and_exports_stay_iso(client, staff, manager, caseload):
    """SPEC 8 (issue 12 item 10): dates as "Mon 23 Mar 2026", the pump model by name, the
    manager by full name, days in words; the CSV keeps ISO dates and model codes."""
    late = caseload["overdue"]
    client.force_login(staff)
    html = client.get(URL).content.decode()
    due = late.refill_due
    assert f'<time datetime="{due.isoformat()}">{due:%a} {due.day} {due:%b %Y}</time>' in html
    assert ">2026-" not in html  # no ISO date shown as text
    assert "SynchroMed II 20 mL" in html and ">synchromed-ii-20" not in html  # the code is the filter's value only
    assert manager.get_full_name() in html
    assert "4 days overdue" in html
    rows = list(csv.DictReader(io.StringIO(client.get(URL, {"_export": "csv"}).content.decode())))
    row = next(r for r in rows if r["MRN"] == "LATE1")
    assert row["Refill due"] == due.isoformat() and row["Pump"].startswith("synchromed-ii-20 ")
    assert row["Days to due"] == "-4" and row["Risk"] == ""


def test_every_cell_names_its_column_for_narrow_screens(client, staff, caseload):
    client.force_login(staff)
    html = client.get(URL).content.decode()
    for label in ("Patient", "Pump", "Status", "Refill due", "Refill booked", "Pump manager"):
        assert f'data-label="{label}"' in html


def test_today_heading_uses_the_one_date_format(client, staff):
    client.force_login(staff)
    assert "<h1>Today, Wed 1 Apr 2026</h1>" in client.get("/").content.decode()


def test_a_search_finding_no_pump_points_to_matching_candidates(client, staff, clinic, caseload):
    from tests.screening_data import make_candidate

    make_candidate(clinic, mrn="CAND0005")
    client.force_login(staff)
    response = client.get(URL, {"q": "CAND0005"})
    html = response.content.decode()
    assert "No pumps match; 1 candidate in the screening pipeline matches" in html
    assert '/screening/?q=CAND0005"' in html
    pipeline = client.get("/screening/", {"q": "CAND0005"})
    assert [c.patient.mrn for c in pipeline.context["table"].data] == ["CAND0005"]
    # A search that finds pumps does not count candidates.
    assert "candidates_matching" not in client.get(URL, {"q": "LATE1"}).context
    assert "screening pipeline" not in client.get(URL, {"q": "NOBODY"}).content.decode()
