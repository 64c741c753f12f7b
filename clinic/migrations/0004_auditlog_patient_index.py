"""An index for a patient's audit trail (clinic.audit.patient_history).

The trail selects entries by ``additional_data -> 'patient_id'`` (a JSON key that
django-auditlog does not index): without this index the patient page read every audit
entry of the installation (bench/RESULTS.md). The table belongs to django-auditlog, so the
index is created with SQL; PostgreSQL only (SQLite's JSON operators differ, and the
embedded SQLite default holds small clinics).
"""

from django.db import migrations

INDEX = "auditlog_logentry_patient_id"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON auditlog_logentry ((additional_data -> 'patient_id'))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0003_pendingimport_calendarfeed_columnmapping"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
