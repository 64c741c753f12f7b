"""The monthly accountability report."""

from django.urls import path

from worklist import views_report

urlpatterns = [
    path("reports/monthly/", views_report.ReportView.as_view(), name="accountability_report"),
]
