"""The outbox (Reminder, SweepRun) moves to the reminders app and ImportJob to imports (issue 14).

State only: the tables refills_reminder, refills_sweeprun and refills_importjob stay.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("refills", "0005_reminder_kind_unclaimed"),
    ]

    operations = [
        # State only: the tables stay as they are (db_table), nothing is copied or renamed.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="importjob",
                    name="clinic",
                ),
                migrations.RemoveField(
                    model_name="importjob",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="importjob",
                    name="pending",
                ),
                migrations.RemoveField(
                    model_name="reminder",
                    name="appointment",
                ),
                migrations.RemoveField(
                    model_name="reminder",
                    name="clinic",
                ),
                migrations.RemoveField(
                    model_name="reminder",
                    name="patient",
                ),
                migrations.RemoveField(
                    model_name="reminder",
                    name="pump",
                ),
                migrations.RemoveField(
                    model_name="reminder",
                    name="recipient_user",
                ),
                migrations.DeleteModel(
                    name="SweepRun",
                ),
                migrations.DeleteModel(
                    name="ImportJob",
                ),
                migrations.DeleteModel(
                    name="Reminder",
                ),
            ],
        ),
    ]
