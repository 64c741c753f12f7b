"""The client address that login throttling (django-axes) counts failures against.

Behind reverse proxies REMOTE_ADDR is the nearest proxy's address, the same for everyone:
five failed logins from anywhere would then lock that username for every user at every
address. Each proxy appends the address it received the request from to X-Forwarded-For,
so with TRUSTED_PROXY_COUNT = N the client is the N-th address from the right. Addresses
further left were sent by the client itself and are never trusted (they could be forged
to dodge the lock). With 0 (the default, no proxy) the header is ignored.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the address of the client as the trusted proxies saw it."""
    remote = request.META.get("REMOTE_ADDR")
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote  # not through the proxy (e.g. the container's own health check)
    # Fewer entries than proxies: the leftmost is the furthest address any proxy recorded.
    candidate = forwarded[-min(count, len(forwarded))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote  # not an address (a port, a name, junk): count it against the proxy
