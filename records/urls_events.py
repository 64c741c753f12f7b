"""Fill event and appointment forms, and the upcoming appointments list."""

from django.urls import path

from records import views_appointments as appointments
from records import views_events as views

urlpatterns = [
    path("pumps/<int:pk>/refill/", views.RefillCreateView.as_view(), name="refill_create"),
    path("pumps/<int:pk>/program/", views.ProgramChangeCreateView.as_view(), name="program_change_create"),
    path("appointments/", appointments.AppointmentListView.as_view(), name="appointments"),
    path(
        "patients/<int:pk>/appointments/new/", appointments.AppointmentCreateView.as_view(), name="appointment_create"
    ),
    path("appointments/<int:pk>/edit/", appointments.AppointmentEditView.as_view(), name="appointment_edit"),
    path("appointments/<int:pk>/cancel/", appointments.AppointmentCancelView.as_view(), name="appointment_cancel"),
    path(
        "appointments/<int:pk>/complete/", appointments.AppointmentCompleteView.as_view(), name="appointment_complete"
    ),
    path("appointments/<int:pk>/no-show/", appointments.AppointmentNoShowView.as_view(), name="appointment_no_show"),
]
