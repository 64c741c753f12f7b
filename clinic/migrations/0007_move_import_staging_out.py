"""PendingImport and ColumnMapping move to the imports app (issue 14).

State only: the tables clinic_pendingimport and clinic_columnmapping stay.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0006_clinic_screening_target_days"),
        ("refills", "0006_move_outbox_and_import_jobs_out"),  # ImportJob's foreign key to PendingImport goes first
    ]

    operations = [
        # State only: the tables stay as they are (db_table), nothing is copied or renamed.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="pendingimport",
                    name="clinic",
                ),
                migrations.RemoveField(
                    model_name="pendingimport",
                    name="user",
                ),
                migrations.DeleteModel(
                    name="ColumnMapping",
                ),
                migrations.DeleteModel(
                    name="PendingImport",
                ),
            ],
        ),
    ]
