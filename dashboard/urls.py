"""Dashboard URLs: Today, the lists, and acknowledging a review."""

from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.TodayView.as_view(), name="home"),
    path("caseload/", views.CaseloadView.as_view(), name="caseload"),
    path("overdue/", views.OverdueView.as_view(), name="overdue"),
    path("replacements/", views.ReplacementsView.as_view(), name="replacements"),
    path("review/", views.ReviewView.as_view(), name="review"),
    path("review/<int:pk>/acknowledge/", views.AcknowledgeReviewView.as_view(), name="refill_acknowledge"),
]
