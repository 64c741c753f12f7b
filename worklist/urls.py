"""Worklist URLs."""

from django.urls import path

from worklist import views

urlpatterns = [
    path("worklist/", views.WorklistView.as_view(), name="worklist"),
    path("worklist/unbooked/", views.StandingCheckView.as_view(), name="worklist_unbooked"),
    path("worklist/items/<int:pk>/", views.ItemView.as_view(), name="worklist_item"),
    path("worklist/items/<int:pk>/claim/", views.ClaimView.as_view(), name="worklist_claim"),
    path("worklist/items/<int:pk>/release/", views.ReleaseView.as_view(), name="worklist_release"),
    path("worklist/items/<int:pk>/contact/", views.ContactView.as_view(), name="worklist_contact"),
    path("worklist/items/<int:pk>/exception/", views.ExceptionView.as_view(), name="worklist_exception"),
    path("worklist/items/<int:pk>/exception/end/", views.EndExceptionView.as_view(), name="worklist_end_exception"),
]
