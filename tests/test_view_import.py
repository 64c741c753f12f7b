"""Import in the browser: upload, column mapping, preview, confirm (all or nothing) and the template."""

import csv
import io
import time as timer
from datetime import date, timedelta

import openpyxl
import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from imports.columns import COLUMNS
from imports.importer import run_import
from imports.models import ColumnMapping, PendingImport
from patients.models import Patient, Pump
from refills.models import Appointment, Refill
from tests.factories import MembershipFactory, UserFactory
from tests.test_command_import_caseload import GOOD_ROWS, csv_text

NOW = "2026-03-01 10:00:00+00:00"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def jobs_run_at_once(monkeypatch):
    """The preview and the import are background jobs (imports.import_jobs, tested in
    tests/test_import_jobs.py); here a worker runs each one as soon as it is made."""
    from imports import import_jobs

    monkeypatch.setattr(import_jobs, "schedule", import_jobs.run_job)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def upload(client, content, name="caseload.csv"):
    if isinstance(content, str):
        content = content.encode("utf-8")
    return client.post(reverse("import_caseload"), {"file": SimpleUploadedFile(name, content)})


def confirm(client, action="import"):
    key = PendingImport.objects.get().key
    return client.post(reverse("import_confirm"), {"key": key, "action": action})


def counts():
    return (Patient.objects.count(), Pump.objects.count(), Refill.objects.count(), Appointment.objects.count())


def caseload_rows(count: int) -> list[dict]:
    """``count`` valid, invented rows: one patient and pump each, every third with an appointment."""
    rows = []
    for n in range(count):
        row = {
            "mrn": f"M{n:05d}",
            "first_name": f"Given{n}",
            "last_name": f"Family{n}",
            "date_of_birth": "1975-04-02",
            "email": f"m{n}@example.invalid",
            "reminders_opt_in": "yes" if n % 2 else "no",
            "pump_model": "synchromed-ii-40" if n % 5 == 0 else "synchromed-ii-20",
            "serial_number": f"SN{n:06d}",
            "implant_date": "2023-05-01",
            "last_refill_date": f"2026-02-{1 + n % 27:02d}",
            "volume_after_refill_ml": "18.5",
            "concentration_mcg_ml": "2000",
            "daily_dose_mcg": str(150 + n % 400),
            "bolus_allowance_mcg": "0",
        }
        if n % 3 == 0:
            row["next_appointment"] = f"2026-03-{2 + n % 27:02d} {8 + n % 9:02d}:{(n % 4) * 15:02d}"
        rows.append(row)
    return rows


# A dozen scattered mistakes: (row index, changes) -> the one (file line, column) reported for it.
MISTAKES = [
    (3, {"date_of_birth": "02/04/1975"}, "date_of_birth"),
    (41, {"email": "not-an-email"}, "email"),
    (77, {"pump_model": "medtronic-x"}, "pump_model"),
    (120, {"daily_dose_mcg": "5000"}, "daily_dose_mcg"),
    (166, {"concentration_mcg_ml": "50"}, "concentration_mcg_ml"),
    (199, {"volume_after_refill_ml": "25"}, "volume_after_refill_ml"),
    (250, {"serial_number": "SN000010"}, "serial_number"),  # the serial of row 12
    (301, {"last_refill_date": "2026-04-01"}, "last_refill_date"),  # in the future
    (333, {"reminders_opt_in": "maybe"}, "reminders_opt_in"),
    (402, {"next_appointment": "2026-03-10"}, "next_appointment"),  # no time
    (455, {"first_name": ""}, "first_name"),
    (498, {"implant_date": "2026-13-01"}, "implant_date"),
]


def test_500_rows_with_a_dozen_mistakes_show_every_problem_then_import_in_one_step(admin_client, capsys):
    rows = caseload_rows(500)
    for index, changes, _column in MISTAKES:
        rows[index].update(changes)

    started = timer.perf_counter()
    response = upload(admin_client, csv_text(rows))
    assert response.status_code == 302 and response["Location"] == reverse("import_preview")
    preview = admin_client.get(reverse("import_preview"))
    preview_seconds = timer.perf_counter() - started

    result = preview.context["result"]
    assert {(p.line, p.column) for p in result.problems} == {(index + 2, column) for index, _c, column in MISTAKES}
    assert len(result.problems) == 12
    page = preview.content.decode()
    for problem in result.problems:
        assert f"row {problem.line}, column {problem.column}:" in page
    assert "12 problems: nothing can be imported" in page
    assert 'value="import"' not in page  # no import button while anything is wrong
    assert counts() == (0, 0, 0, 0)

    # Confirming anyway (a forged POST) still writes nothing: the same rules run again.
    response = confirm(admin_client)
    assert response["Location"] == reverse("import_preview")
    assert counts() == (0, 0, 0, 0)

    fixed = caseload_rows(500)
    upload(admin_client, csv_text(fixed))
    preview = admin_client.get(reverse("import_preview"))
    assert preview.context["result"].ok
    assert {e: c for e, c, _ch in preview.context["counts"]} == {
        "patient": 500,
        "pump": 500,
        "refill": 500,
        "appointment": 167,
    }
    started = timer.perf_counter()
    response = confirm(admin_client)
    import_seconds = timer.perf_counter() - started
    assert response.status_code == 302
    assert counts() == (500, 500, 500, 167)
    assert not PendingImport.objects.exists()
    with capsys.disabled():
        print(f"\n500 rows: upload + preview {preview_seconds:.2f} s, confirm (import) {import_seconds:.2f} s")


def test_preview_lists_rows_and_writes_nothing_then_confirm_imports_with_the_actor(admin_client, admin_user):
    upload(admin_client, csv_text(GOOD_ROWS))
    preview = admin_client.get(reverse("import_preview"))

    page = preview.content.decode()
    assert counts() == (0, 0, 0, 0)
    assert [(row["line"], row["mrn"]) for row in preview.context["changing_rows"]] == [
        (2, "A100"),
        (3, "B200"),
        (4, "C300"),
    ]
    assert "patient created, pump created, refill created, appointment created" in page
    assert "Ada" not in page and "Example" not in page  # MRNs and actions, never names

    response = confirm(admin_client)

    assert response.status_code == 302
    assert counts() == (3, 3, 2, 1)
    patient = Patient.objects.get(mrn="A100")
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Patient),
        object_pk=str(patient.pk),
        action=LogEntry.Action.CREATE,
    )
    assert entry.actor == admin_user
    refill_entry = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Refill)).first()
    assert refill_entry.actor == admin_user


def test_preview_shows_changes_against_stored_data(admin_client, clinic):
    run_import(clinic, csv_text(GOOD_ROWS))
    rows = [dict(row) for row in GOOD_ROWS]
    rows[1]["alarm_volume_ml"] = "3.5"
    upload(admin_client, csv_text(rows))

    preview = admin_client.get(reverse("import_preview"))

    assert [(r["line"], r["actions_text"]) for r in preview.context["changing_rows"]] == [
        (3, "pump changed (alarm_volume_ml)")
    ]
    assert preview.context["unchanged_count"] == 2
    assert Pump.objects.get(serial_number="SN-2").alarm_volume_ml == 4


def own_headers_csv(rows) -> str:
    """GOOD_ROWS under a clinic's own header names for three columns."""
    own = {"serial_number": "Pump Serial #", "date_of_birth": "DOB", "mrn": "Hospital Number"}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([own.get(column, column) for column in COLUMNS] + ["Consultant"])
    for row in rows:
        writer.writerow([row.get(column, "") for column in COLUMNS] + ["Dr Who"])
    return out.getvalue()


def test_mapping_step_for_own_headers_is_remembered_for_the_next_import(admin_client, clinic):
    response = upload(admin_client, own_headers_csv(GOOD_ROWS))
    assert response["Location"] == reverse("import_mapping")

    page = admin_client.get(reverse("import_mapping"))
    form = page.context["form"]
    suggested = {field.label: field.initial for field in form}
    assert suggested == {
        "Hospital Number": "mrn",
        "DOB": "date_of_birth",
        "Pump Serial #": "serial_number",
        "Consultant": "ignore",
    }
    assert page.context["missing_required"] == ["mrn", "serial_number"]

    response = admin_client.post(
        reverse("import_mapping"),
        {"header_0": "mrn", "header_1": "date_of_birth", "header_2": "serial_number", "header_3": "ignore"},
    )
    assert response["Location"] == reverse("import_preview")
    assert ColumnMapping.for_clinic(clinic) == {
        "hospital number": "mrn",
        "dob": "date_of_birth",
        "pump serial #": "serial_number",
        "consultant": "",
    }
    preview = admin_client.get(reverse("import_preview"))
    assert preview.context["result"].ok
    assert preview.context["result"].warnings == []  # "Consultant" ignored on purpose
    confirm(admin_client)
    assert set(Pump.objects.values_list("serial_number", flat=True)) == {"SN-1", "SN-2", "SN-3"}
    assert str(Patient.objects.get(mrn="A100").date_of_birth) == "1980-05-17"

    # Next time the same headers go straight to the preview.
    response = upload(admin_client, own_headers_csv(GOOD_ROWS))
    assert response["Location"] == reverse("import_preview")
    preview = admin_client.get(reverse("import_preview"))
    assert preview.context["result"].ok and preview.context["changing_rows"] == []


def test_mapping_refuses_a_column_twice_or_one_the_file_has(admin_client, clinic):
    upload(admin_client, own_headers_csv(GOOD_ROWS))

    response = admin_client.post(
        reverse("import_mapping"),
        {"header_0": "serial_number", "header_1": "first_name", "header_2": "serial_number", "header_3": "ignore"},
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["header_1"] == ["The file already has a first_name column."]
    assert errors["header_2"] == ["serial_number is already chosen for 'Hospital Number'."]
    assert not ColumnMapping.objects.exists()


def test_unmapped_required_column_is_a_problem_in_the_preview(admin_client):
    upload(admin_client, own_headers_csv(GOOD_ROWS))
    admin_client.post(
        reverse("import_mapping"),
        {"header_0": "mrn", "header_1": "ignore", "header_2": "ignore", "header_3": "ignore"},
    )

    preview = admin_client.get(reverse("import_preview"))

    assert [str(p) for p in preview.context["result"].problems] == [
        "row 1, column serial_number: The header has no serial_number column (required)."
    ]
    assert 'value="import"' not in preview.content.decode()


def test_xlsx_upload_imports_through_the_same_steps(admin_client):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["MRN", "First_Name", "last_name", "pump_model", "serial_number", "implant_date", "eri_date"])
    sheet.append(["X1", "Xena", "Sample", "synchromed-ii-20", "SNX1", date(2024, 2, 3), None])
    out = io.BytesIO()
    workbook.save(out)

    response = upload(admin_client, out.getvalue(), name="caseload.XLSX")
    assert response["Location"] == reverse("import_preview")
    assert admin_client.get(reverse("import_preview")).context["result"].ok
    confirm(admin_client)

    assert str(Pump.objects.get(serial_number="SNX1").implant_date) == "2024-02-03"


def test_too_large_wrong_kind_and_unreadable_files_are_refused(admin_client, monkeypatch):
    monkeypatch.setattr(PendingImport, "MAX_BYTES", 100)
    response = upload(admin_client, "x" * 101)
    assert response.status_code == 200
    assert "the limit is 16 MB" in response.context["form"].errors["file"][0]

    response = upload(admin_client, "mrn\n", name="caseload.pdf")
    assert response.context["form"].errors["file"] == ["Choose a .csv or .xlsx file."]

    response = upload(admin_client, b"not a workbook", name="caseload.xlsx")
    assert "not a readable XLSX workbook" in response.context["form"].errors["file"][0]
    assert not PendingImport.objects.exists()


def test_pending_file_belongs_to_its_uploader_and_clinic(admin_client, client, clinic):
    upload(admin_client, csv_text(GOOD_ROWS))
    key = PendingImport.objects.get().key

    other_admin = MembershipFactory(clinic=clinic, role="admin", user=UserFactory(username="other-admin")).user
    client.force_login(other_admin)
    session = client.session
    session["pending_import"] = key  # even holding the key, it is not theirs
    session.save()

    assert client.get(reverse("import_preview"))["Location"] == reverse("import_caseload")
    response = client.post(reverse("import_confirm"), {"key": key, "action": "import"})
    assert response["Location"] == reverse("import_caseload")
    assert counts() == (0, 0, 0, 0)


def test_confirm_with_a_stale_key_imports_nothing(admin_client):
    upload(admin_client, csv_text(GOOD_ROWS))

    response = admin_client.post(reverse("import_confirm"), {"key": "an-older-upload", "action": "import"})

    assert response["Location"] == reverse("import_caseload")
    assert counts() == (0, 0, 0, 0)
    assert PendingImport.objects.count() == 1


def test_discard_deletes_the_uploaded_file(admin_client):
    upload(admin_client, csv_text(GOOD_ROWS))

    confirm(admin_client, action="discard")

    assert not PendingImport.objects.exists()
    assert counts() == (0, 0, 0, 0)
    assert admin_client.get(reverse("import_preview"))["Location"] == reverse("import_caseload")


def test_expired_pending_file_is_not_used(admin_client):
    upload(admin_client, csv_text(GOOD_ROWS))
    PendingImport.objects.update(created_at=timezone.now() - timedelta(hours=25))

    assert admin_client.get(reverse("import_preview"))["Location"] == reverse("import_caseload")
    upload(admin_client, csv_text(GOOD_ROWS))  # a new upload clears expired files
    assert PendingImport.objects.count() == 1


def test_the_hourly_task_purges_expired_files_only(admin_client, settings):
    from imports.tasks import purge_stale_imports

    upload(admin_client, csv_text(GOOD_ROWS))
    assert purge_stale_imports() == 0
    PendingImport.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_stale_imports() == 1
    assert not PendingImport.objects.exists()
    assert settings.CELERY_BEAT_SCHEDULE["purge-stale-imports"]["task"] == "refills.tasks.purge_stale_imports"


def test_template_has_the_header_and_one_example_row_that_imports(admin_client, clinic):
    response = admin_client.get(reverse("import_template"))

    assert response["Content-Disposition"] == 'attachment; filename="caseload-template.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == list(COLUMNS)
    assert len(rows) == 2
    assert rows[1][COLUMNS.index("next_appointment")] == "2026-03-31 10:00"
    result = run_import(clinic, response.content, dry_run=True)
    assert result.ok and result.counts()["patient"]["created"] == 1


def test_managers_cannot_import(client, manager):
    client.force_login(manager)

    assert client.get(reverse("import_caseload")).status_code == 403
    assert client.post(reverse("import_caseload"), {"file": SimpleUploadedFile("a.csv", b"mrn\n")}).status_code == 403
    assert not PendingImport.objects.exists()


def run_jobs(response):
    """Run the background job a page sent the browser to (imports.import_jobs), as a worker would."""
    from imports import import_jobs

    location = response.get("Location", "") if response.status_code == 302 else ""
    if "/import/jobs/" in location:
        import_jobs.run_job(int(location.rstrip("/").split("/")[-1]))
    return response


def preview_page(client):
    """The preview page, once its check has run."""
    run_jobs(client.get(reverse("import_preview")))
    return client.get(reverse("import_preview"))


def confirm_and_run(client):
    return run_jobs(confirm(client))


def test_a_file_with_1500_unknown_columns_can_be_mapped_and_imported(admin_client, clinic):
    """Issue 13, defect 6: a 13 MB mapping page, then a bare 400 from Django's field limit."""
    extras = [f"Extra {n:04d}" for n in range(1500)]
    own = {"mrn": "Hospital Number"}  # the clinic's name for a required column, after the extras
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(extras + [own.get(column, column) for column in COLUMNS])
    for row in GOOD_ROWS:
        writer.writerow([f"x{n}" for n in range(1500)] + [row.get(column, "") for column in COLUMNS])

    response = upload(admin_client, out.getvalue())
    assert response["Location"] == reverse("import_mapping")
    page = admin_client.get(reverse("import_mapping"))

    assert page.status_code == 200 and len(page.content) < 200_000
    offered = {field.label: field.initial for field in page.context["form"]}
    assert len(offered) == 40 and offered["Hospital Number"] == "mrn"  # the column that can matter is offered
    assert "1461 other columns ignored" in page.content.decode()
    posted = {field.html_name: field.initial for field in page.context["form"]}
    response = admin_client.post(reverse("import_mapping"), posted)
    assert response.status_code == 302 and response["Location"] == reverse("import_preview")

    preview = preview_page(admin_client)
    result = preview.context["result"]
    assert result.ok, [str(p) for p in result.problems]
    assert [str(w) for w in result.warnings] == [
        "Ignoring 1461 unknown columns, among them 'Extra 0039', 'Extra 0040', 'Extra 0041', 'Extra 0042', "
        "'Extra 0043', 'Extra 0044', 'Extra 0045', 'Extra 0046', 'Extra 0047', 'Extra 0048'."
    ]
    confirm_and_run(admin_client)
    assert counts() == (3, 3, 2, 1)
    # The same file again goes straight to the preview: its offered columns are remembered.
    assert upload(admin_client, out.getvalue())["Location"] == reverse("import_preview")


def test_preview_counts_rows_with_problems_and_lists_warnings(admin_client):
    """Issue 12 items 7 and 8: every problem of a row, the rows counted; reminders without email warn."""
    rows = caseload_rows(6)
    rows[1].update(pump_model="medtronic-x", concentration_mcg_ml="50")  # two problems on one row
    rows[4].update(email="")  # opted in (odd rows), no email: a warning
    rows[3].update(email="", reminders_opt_in="yes", date_of_birth="1975-02-30")

    upload(admin_client, csv_text(rows))
    page = preview_page(admin_client).content.decode()

    assert "<h1>Preview of 6 rows</h1>" in page
    assert "2 rows with 3 problems: nothing can be imported" in page
    assert "row 3, column pump_model: Unknown pump model" in page
    assert "row 3, column concentration_mcg_ml: 50 mcg/mL is the screening strength" in page
    assert "row 5, column date_of_birth: This is not a real date" in page
    warnings = page.split('id="warnings"')[1].split("</ul>")[0]
    assert "row 5, column email: Reminders are on but there is no email address" in warnings
    assert "row 6" not in warnings  # row 6 is not opted in


def test_reminders_without_email_import_through_the_browser_with_a_warning(admin_client):
    rows = caseload_rows(3)
    rows[1]["email"] = ""  # opted in

    upload(admin_client, csv_text(rows))
    preview = preview_page(admin_client)
    assert preview.context["result"].ok
    assert "Warnings: 1 row" in preview.content.decode()
    confirm_and_run(admin_client)

    patient = Patient.objects.get(mrn="M00001")
    assert patient.reminders_opt_in is True and patient.email == ""
    assert counts()[0] == 3
