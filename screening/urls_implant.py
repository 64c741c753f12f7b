"""URLs of the implant from a trial and of titration (issue 16 items 4 and 5)."""

from django.urls import path

from screening import titration_views, views_implant

urlpatterns = [
    path(
        "screening/candidates/<int:pk>/implant/book/",
        views_implant.ImplantBookView.as_view(),
        name="candidate_implant_book",
    ),
    path("screening/candidates/<int:pk>/implant/", views_implant.ImplantView.as_view(), name="candidate_implant"),
    path(
        "pumps/<int:pk>/titration/new/",
        titration_views.TitrationReviewCreateView.as_view(),
        name="titration_review_create",
    ),
    path("titration/<int:pk>/edit/", titration_views.TitrationReviewEditView.as_view(), name="titration_review_edit"),
    path(
        "titration/<int:pk>/delete/",
        titration_views.TitrationReviewDeleteView.as_view(),
        name="titration_review_delete",
    ),
]
