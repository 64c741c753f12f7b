"""URL patterns (filled in by its area)."""

urlpatterns: list = []
