from django.urls import path

from refills import views

urlpatterns = [
    path("", views.TodayView.as_view(), name="home"),
]
