"""Constants of the Salto KS Connect API client."""

from __future__ import annotations

from typing import Final

PRODUCTION_API: Final = "https://connect.my-clay.com"
PRODUCTION_AUTH_URL: Final = "https://identity.eu.my-clay.com/connect/token"
ACCEPT_API: Final = "https://clp-accept-user.my-clay.com"
ACCEPT_AUTH_URL: Final = "https://identity-acc.eu.my-clay.com/connect/token"
LEGACY_API_BASE: Final = "https://clp.my-clay.com/v1.1"
LEGACY_AUTH_URL: Final = "https://clp.my-clay.com/oauth2/token"

# Event stream (SignalR) hosts and the entries hub of a site.
PRODUCTION_STREAM_URL: Final = "https://eventstreaming-connect-production.saltoks.com"
ACCEPT_STREAM_URL: Final = "https://eventstreaming-connect-accept.saltoks.com"
STREAM_HUB_PATH: Final = "/v1/hub/entries"

SCOPE: Final = "user_api.full_access"

DEFAULT_REQUEST_TIMEOUT: Final = 10.0
# A cached token is renewed this many seconds before it expires.
TOKEN_EXPIRY_MARGIN: Final = 60.0
# Used when the token response carries no (valid) expires_in.
DEFAULT_TOKEN_LIFETIME: Final = 3600.0

# After a 429 without a usable Retry-After the client sends nothing for this many seconds.
DEFAULT_RETRY_AFTER: Final = 60.0
# A Retry-After longer than this (one day) is taken as this: it guards against absurd values.
MAX_RETRY_AFTER: Final = 86400.0

CONTINUATION_HEADER: Final = "CLP-Continuation-Token"

# Upper bound of pages fetched for one list or entries call (guards against paging loops).
MAX_PAGES: Final = 200
MAX_ENTRIES_LIMIT: Final = 200

# Entries exist only under v1.1; older tenants serve the audit feed on these paths instead.
ENTRIES_PATHS: Final = ("entries", "audit-trails", "audit/log")

USER_AGENT: Final = "python-saltoks"
