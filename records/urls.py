from django.urls import path

from records import views

urlpatterns = [
    path("patients/new/", views.PatientCreateView.as_view(), name="patient_create"),
    path("patients/<int:pk>/", views.PatientDetailView.as_view(), name="patient_detail"),
    path("patients/<int:pk>/edit/", views.PatientEditView.as_view(), name="patient_edit"),
    path("patients/<int:pk>/history/", views.PatientHistoryView.as_view(), name="patient_history"),
    path("patients/<int:pk>/pumps/new/", views.PumpCreateView.as_view(), name="pump_create"),
    path("patients/<int:pk>/wallet-card/", views.WalletCardView.as_view(), name="wallet_card"),
    path("pumps/<int:pk>/edit/", views.PumpEditView.as_view(), name="pump_edit"),
    path("pumps/<int:pk>/explant/", views.PumpExplantView.as_view(), name="pump_explant"),
]
