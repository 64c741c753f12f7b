"""Counting the queries of a page as a returning user's visit makes them (the query-count tests)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def logged_in(client, user):
    """Logged in, with the session's once-a-minute refresh (SessionRefreshMiddleware) done."""
    client.force_login(user)
    client.get("/")
    return client


def count_queries(client, url) -> int:
    """The queries of one GET of ``url``, which must succeed."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)
