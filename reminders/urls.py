"""The reminder outbox, the health view and the patients' unsubscribe links."""

from django.urls import path

from reminders import views as views

urlpatterns = [
    path("outbox/", views.OutboxView.as_view(), name="outbox"),
    path("outbox/<int:pk>/retry/", views.OutboxRetryView.as_view(), name="outbox_retry"),
    path("outbox/retry-failed/", views.OutboxRetryFailedView.as_view(), name="outbox_retry_failed"),
    path("health/", views.HealthView.as_view(), name="health"),
    path("unsubscribe/<str:token>/", views.UnsubscribeView.as_view(), name="unsubscribe"),
]
