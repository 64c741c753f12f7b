"""Import (admins), the whole-clinic export and calendar feeds (every member), public feed URLs."""

from clinic.models import CalendarFeed
from imports.models import ImportJob, PendingImport
from tests.url_rules import ADMIN, NOT_ALLOWED, PUBLIC, STAFF, Rule

RULES = {
    "import_caseload": Rule(ADMIN, ADMIN),
    "import_mapping": Rule(ADMIN, ADMIN),
    "import_preview": Rule(ADMIN, NOT_ALLOWED),
    "import_confirm": Rule(NOT_ALLOWED, ADMIN),
    "import_template": Rule(ADMIN, NOT_ALLOWED),
    # Background jobs (issue 13): the job of another clinic is a 404, staff and managers 403.
    "import_job": Rule(ADMIN, NOT_ALLOWED, {"pk": "import_job"}),
    "import_job_status": Rule(ADMIN, NOT_ALLOWED, {"pk": "import_job"}),
    "export_clinic": Rule(STAFF, NOT_ALLOWED),
    "calendar_feeds": Rule(STAFF, STAFF),
    # The token is the credential: no login, not about the visitor's clinic.
    "calendar_feed": Rule(PUBLIC, NOT_ALLOWED, {"token": "feed_token"}, scoped=False),
    "patient_appointment_ics": Rule(STAFF, NOT_ALLOWED, {"pk": "patient"}),
}


def extra_objects(clinic, objects):
    _feed, token = CalendarFeed.issue(clinic, objects["membership"].user, CalendarFeed.Scope.CLINIC)
    uploader = objects["membership"].user
    pending = PendingImport.objects.create(clinic=clinic, user=uploader, filename="c.csv", content=b"mrn\n")
    job = ImportJob.objects.create(
        clinic=clinic, created_by=uploader, kind=ImportJob.Kind.PREVIEW, pending=pending, pending_key=pending.key
    )
    return {"feed_token": token, "import_job": job}
