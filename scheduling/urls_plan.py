"""The refill plan page."""

from django.urls import path

from scheduling import views_plan

urlpatterns = [
    path("plan/", views_plan.PlanView.as_view(), name="plan"),
]
