"""Screening URLs: the pipeline, candidates and their trials (SPEC 10)."""

from django.urls import path

from screening import views, views_pipeline, views_trials

urlpatterns = [
    path("screening/", views_pipeline.PipelineView.as_view(), name="pipeline"),
    path("screening/candidates/new/", views.CandidateCreateView.as_view(), name="candidate_create"),
    path("patients/<int:pk>/candidate/new/", views.CandidateFromPatientView.as_view(), name="candidate_from_patient"),
    path("screening/candidates/<int:pk>/", views.CandidateDetailView.as_view(), name="candidate_detail"),
    path("screening/candidates/<int:pk>/edit/", views.CandidateEditView.as_view(), name="candidate_edit"),
    path("screening/candidates/<int:pk>/move/", views.StageMoveView.as_view(), name="candidate_move"),
    path("screening/candidates/<int:pk>/trials/new/", views_trials.TrialCreateView.as_view(), name="trial_create"),
    path("screening/trials/<int:pk>/", views_trials.TrialDetailView.as_view(), name="trial_detail"),
    path("screening/trials/<int:pk>/edit/", views_trials.TrialEditView.as_view(), name="trial_edit"),
    path("screening/trials/<int:pk>/delete/", views_trials.TrialDeleteView.as_view(), name="trial_delete"),
]
