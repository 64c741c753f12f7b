"""Import in the browser (admins) and the whole-clinic export in the import format."""

from django.urls import path

from refills import views_import as views

urlpatterns = [
    path("import/", views.ImportUploadView.as_view(), name="import_caseload"),
    path("import/columns/", views.ImportMappingView.as_view(), name="import_mapping"),
    path("import/preview/", views.ImportPreviewView.as_view(), name="import_preview"),
    path("import/confirm/", views.ImportConfirmView.as_view(), name="import_confirm"),
    path("import/template.csv", views.ImportTemplateView.as_view(), name="import_template"),
    path("export/clinic/", views.ClinicExportView.as_view(), name="export_clinic"),
]
