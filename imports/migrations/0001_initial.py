"""The imports app's models, moved from older apps with their tables (db_table): state only (issue 14)."""

import django.db.models.deletion
import django.utils.timezone
import secrets
from django.conf import settings
from django.db import migrations, models

APP = "imports"
MOVED = [("clinic", "pendingimport"), ("clinic", "columnmapping"), ("refills", "importjob")]


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
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # State only: the tables stay as they are (db_table), nothing is copied or renamed.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PendingImport",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("key", models.CharField(default=secrets.token_urlsafe, max_length=64, unique=True)),
                        ("filename", models.CharField(max_length=255)),
                        ("content", models.BinaryField()),
                        ("column_map", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "clinic",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="clinic.clinic"
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "clinic_pendingimport",
                    },
                ),
                migrations.CreateModel(
                    name="ColumnMapping",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("header", models.CharField(max_length=200, verbose_name="header in the file")),
                        ("column", models.CharField(blank=True, max_length=40, verbose_name="caseload column")),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "clinic",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="column_mappings",
                                to="clinic.clinic",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "clinic_columnmapping",
                        "ordering": ["header"],
                        "constraints": [
                            models.UniqueConstraint(fields=("clinic", "header"), name="column_mapping_one_per_header")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ImportJob",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(choices=[("preview", "Preview"), ("import", "Import")], max_length=10),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Waiting for a worker"),
                                    ("running", "Running"),
                                    ("done", "Done"),
                                    ("failed", "Failed"),
                                ],
                                default="queued",
                                max_length=10,
                            ),
                        ),
                        ("pending_key", models.CharField(max_length=64)),
                        ("filename", models.CharField(max_length=255)),
                        ("column_map", models.JSONField(blank=True, default=dict)),
                        ("rows_total", models.PositiveIntegerField(blank=True, null=True)),
                        ("rows_checked", models.PositiveIntegerField(default=0)),
                        ("result", models.JSONField(blank=True, null=True)),
                        ("failure", models.CharField(blank=True, max_length=300)),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "clinic",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="clinic.clinic"
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "pending",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="jobs",
                                to="imports.pendingimport",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "refills_importjob",
                        "ordering": ["-created_at", "-pk"],
                        "indexes": [
                            models.Index(fields=["status", "heartbeat_at"], name="import_job_status_heartbeat")
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
