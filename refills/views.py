"""Dashboard pages (the access path is clinic.access.ClinicAccessMixin)."""

from django.db.models import Count
from django.views.generic import TemplateView

from clinic.access import ClinicAccessMixin
from patients.models import Pump


class TodayView(ClinicAccessMixin, TemplateView):
    template_name = "refills/today.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        pumps = self.scoped(Pump.objects.active()).with_status(self.today)
        context["status_counts"] = {
            row["status_now"]: row["n"] for row in pumps.values("status_now").annotate(n=Count("pk"))
        }
        return context
