"""The reminders app's models, moved from older apps with their tables (db_table): state only (issue 14)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

APP = "reminders"
MOVED = [("refills", "reminder"), ("refills", "sweeprun")]


def move_content_types(apps, schema_editor):
    """Existing content types (permissions, audit entries) follow the models to this app."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for old_app, model in MOVED:
        if not ContentType.objects.filter(app_label=APP, model=model).exists():
            ContentType.objects.filter(app_label=old_app, model=model).update(app_label=APP)


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for old_app, model in MOVED:
        if not ContentType.objects.filter(app_label=old_app, model=model).exists():
            ContentType.objects.filter(app_label=APP, model=model).update(app_label=old_app)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("clinic", "0007_move_import_staging_out"),
        ("patients", "0004_first_refill_booking"),
        ("refills", "0006_move_outbox_and_import_jobs_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # State only: the tables stay as they are (db_table), nothing is copied or renamed.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SweepRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("started_at", models.DateTimeField(db_index=True, verbose_name="started at")),
                        (
                            "finished_at",
                            models.DateTimeField(blank=True, db_index=True, null=True, verbose_name="finished at"),
                        ),
                        ("rows_created", models.PositiveIntegerField(default=0, verbose_name="rows created")),
                        ("rows_requeued", models.PositiveIntegerField(default=0, verbose_name="rows requeued")),
                        ("clinics_failed", models.PositiveIntegerField(default=0, verbose_name="clinics that failed")),
                    ],
                    options={
                        "db_table": "refills_sweeprun",
                        "ordering": ["-started_at"],
                    },
                ),
                migrations.CreateModel(
                    name="Reminder",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("appointment", "Appointment reminder"),
                                    ("refill_needed", "Refill needed, not booked"),
                                    ("digest", "Staff digest"),
                                    ("escalation", "Escalation"),
                                    ("unclaimed", "Worklist item unclaimed"),
                                ],
                                max_length=16,
                                verbose_name="kind",
                            ),
                        ),
                        ("target", models.CharField(max_length=100, verbose_name="target")),
                        ("key_date", models.DateField(verbose_name="date")),
                        ("recipient_email", models.EmailField(blank=True, max_length=254, verbose_name="recipient")),
                        ("pump_status", models.CharField(blank=True, max_length=12, verbose_name="pump status")),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                    ("skipped", "Skipped"),
                                ],
                                default="pending",
                                max_length=8,
                                verbose_name="status",
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="attempts")),
                        ("last_error", models.TextField(blank=True, verbose_name="last error")),
                        ("due_at", models.DateTimeField(verbose_name="due at")),
                        ("expires_at", models.DateTimeField(blank=True, null=True, verbose_name="not after")),
                        ("next_attempt_at", models.DateTimeField(verbose_name="next attempt")),
                        ("claimed_at", models.DateTimeField(blank=True, null=True, verbose_name="claimed at")),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                        (
                            "appointment",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="reminders",
                                to="refills.appointment",
                            ),
                        ),
                        (
                            "clinic",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="reminders",
                                to="clinic.clinic",
                            ),
                        ),
                        (
                            "patient",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="reminders",
                                to="patients.patient",
                            ),
                        ),
                        (
                            "pump",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="reminders",
                                to="patients.pump",
                            ),
                        ),
                        (
                            "recipient_user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "refills_reminder",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["clinic", "-created_at"], name="reminder_outbox_recent"),
                            models.Index(
                                condition=models.Q(("status", "pending")),
                                fields=["next_attempt_at"],
                                name="reminder_pending_requeue",
                            ),
                            models.Index(
                                condition=models.Q(("status", "sending")),
                                fields=["claimed_at"],
                                name="reminder_sending_stuck",
                            ),
                            models.Index(
                                condition=models.Q(("status", "failed")), fields=["clinic"], name="reminder_failed"
                            ),
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("kind", "target", "key_date"), name="reminder_one_per_kind_target_date"
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
