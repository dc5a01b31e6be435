"""Where the client may send credentials: https anywhere, plain http only to a loopback address.

Secrets (client secret, password, bearer and refresh tokens) only travel over TLS, except to a literal
loopback address (127.0.0.0/8, ::1) where a local test server or proxy runs. The name ``localhost`` is
not loopback here: it is resolved like any name and is refused, as the config flow does. A URL carrying
a user name or password is refused so credentials never sit in a URL, a log line or diagnostics.
"""

from __future__ import annotations

import ipaddress

from yarl import URL


def is_loopback_host(host: str | None) -> bool:
    """Return True for a literal loopback address (127.0.0.0/8, ::1)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def insecure_reason(url: URL) -> str | None:
    """Why credentials may not be sent to ``url``, or None when they may.

    The reason names the scheme and host at most, never the URL's user info, path or query.
    """
    if not url.is_absolute() or not url.host:
        return "is not an absolute URL"
    if url.user is not None or url.password is not None:
        return "must not contain a user name or password"
    if url.scheme == "https":
        return None
    if url.scheme == "http" and is_loopback_host(url.host):
        return None
    if url.scheme == "http":
        return (
            f"uses plain http to {url.host}; https is required "
            "(plain http is allowed only to a loopback address such as 127.0.0.1)"
        )
    return f"has the unsupported scheme {url.scheme!r}; https is required"


def require_secure_url(value: str, what: str) -> URL:
    """Parse ``value`` and return it, or raise ValueError when no credential may be sent there."""
    try:
        url = URL(value.strip())
    except (TypeError, ValueError):
        raise ValueError(f"{what} is not a valid URL") from None
    reason = insecure_reason(url)
    if reason is not None:
        raise ValueError(f"{what} {reason}")
    return url


def require_stream_base(value: str, what: str) -> URL:
    """The event-stream host root from ``value`` (no query or fragment, no trailing slash), checked
    like every URL a token is sent to; raises ValueError."""
    url = require_secure_url(value, what)
    if url.query_string or url.fragment:
        raise ValueError(f"{what} must not carry a query or fragment")
    return url.with_path(url.path.rstrip("/") or "/")
