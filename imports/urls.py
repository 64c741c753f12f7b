"""Import in the browser (admins) and the whole-clinic export in the import format."""

from django.urls import path

from imports import views as views
from imports import views_jobs as job_views

urlpatterns = [
    path("import/", views.ImportUploadView.as_view(), name="import_caseload"),
    path("import/columns/", views.ImportMappingView.as_view(), name="import_mapping"),
    path("import/preview/", views.ImportPreviewView.as_view(), name="import_preview"),
    path("import/confirm/", views.ImportConfirmView.as_view(), name="import_confirm"),
    path("import/jobs/<int:pk>/", job_views.ImportJobView.as_view(), name="import_job"),
    path("import/jobs/<int:pk>/status/", job_views.ImportJobStatusView.as_view(), name="import_job_status"),
    path("import/template.csv", views.ImportTemplateView.as_view(), name="import_template"),
    path("export/clinic/", views.ClinicExportView.as_view(), name="export_clinic"),
]
