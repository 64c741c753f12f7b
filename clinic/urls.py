"""URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from clinic import views
from clinic.forms import LoginForm
from records import feeds
from refills import views_settings

urlpatterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/set-password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            post_reset_login=False, success_url="/accounts/login/?password_set=1"
        ),
        name="password_reset_confirm",
    ),
    path("account/two-factor/", views.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("account/two-factor/verify/", views.TwoFactorVerifyView.as_view(), name="two_factor_verify"),
    path("clinic/switch/", views.SwitchClinicView.as_view(), name="switch_clinic"),
    path("clinic/members/", views.MembersView.as_view(), name="members"),
    path("clinic/members/<int:pk>/", views.MembershipUpdateView.as_view(), name="membership_update"),
    path("clinic/members/<int:pk>/remove/", views.MembershipRemoveView.as_view(), name="membership_remove"),
    path("clinic/settings/", views_settings.ClinicSettingsView.as_view(), name="clinic_settings"),
    path("clinic/audit/", views.AuditLogView.as_view(), name="audit_log"),
    path("clinic/calendar-feeds/", feeds.CalendarFeedsView.as_view(), name="calendar_feeds"),
    re_path(r"^feeds/(?P<token>[A-Za-z0-9_-]{20,100})\.ics$", feeds.CalendarFeedView.as_view(), name="calendar_feed"),
    path(
        "patients/<int:pk>/next-appointment.ics",
        feeds.PatientAppointmentIcsView.as_view(),
        name="patient_appointment_ics",
    ),
    path("admin/", admin.site.urls),
    path("", include("records.urls")),
    path("", include("dashboard.urls")),
    path("", include("records.urls_events")),
    path("", include("reminders.urls")),
    path("", include("imports.urls")),
    path("", include("screening.urls")),
    path("", include("worklist.urls")),
    path("", include("screening.urls_implant")),
    path("", include("scheduling.urls_plan")),
    path("", include("scheduling.urls")),
    path("", include("worklist.urls_report")),
]
