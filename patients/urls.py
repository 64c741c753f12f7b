from django.urls import path

from patients import views

urlpatterns = [
    path("patients/<int:pk>/history/", views.PatientHistoryView.as_view(), name="patient_history"),
]
