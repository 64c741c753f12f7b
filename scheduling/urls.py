"""The clinic's week: refill sessions, absences, book the week."""

from django.urls import path

from scheduling import views, views_book_week

urlpatterns = [
    path("clinic/sessions/", views.SessionListView.as_view(), name="sessions"),
    path("clinic/sessions/new/", views.SessionCreateView.as_view(), name="session_create"),
    path("clinic/sessions/<int:pk>/", views.SessionEditView.as_view(), name="session_edit"),
    path("clinic/sessions/<int:pk>/delete/", views.SessionDeleteView.as_view(), name="session_delete"),
    path("clinic/absences/", views.AbsenceListView.as_view(), name="absences"),
    path("clinic/absences/new/", views.AbsenceCreateView.as_view(), name="absence_create"),
    path("clinic/absences/<int:pk>/", views.AbsenceEditView.as_view(), name="absence_edit"),
    path("clinic/absences/<int:pk>/delete/", views.AbsenceDeleteView.as_view(), name="absence_delete"),
    path("book-the-week/", views_book_week.BookWeekView.as_view(), name="book_week"),
]
