"""Constants shared by the Salto KS integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "salto_ks"
LOGGER = logging.getLogger(__package__)

# entry.data: how to reach and authenticate against the tenant.
CONF_ENDPOINT: Final = "endpoint"  # one of ENDPOINT_*
CONF_API_BASE: Final = "api_base"
CONF_AUTH_URL: Final = "auth_url"
CONF_CLIENT_ID: Final = "client_id"
CONF_CLIENT_SECRET: Final = "client_secret"  # noqa: S105 - a key name, not a secret
CONF_USERNAME: Final = "username"  # optional KS system-user e-mail (password grant)
CONF_PASSWORD: Final = "password"  # noqa: S105 - key name; optional, with CONF_USERNAME
CONF_SITE_ID: Final = "site_id"  # the site UUID; also the entry's unique id
# How the entry signs in (one of AUTH_*); entries without it use the password grant when a KS user is
# stored, else client_credentials.
CONF_AUTH_METHOD: Final = "auth_method"
AUTH_OAUTH: Final = "oauth"  # Salto account: authorization code + PKCE via application credentials
AUTH_KS_USER: Final = "ks_user"  # password grant of a KS system user
AUTH_API_CLIENT: Final = "api_client"  # client_credentials
CONF_AUTHORIZE_URL: Final = "authorize_url"  # OAuth entries: the identity server's authorize URL
CONF_ACCOUNT: Final = "account"  # OAuth entries: the access token's `sub` (who signed in)

ENDPOINT_PRODUCTION: Final = "production"
ENDPOINT_ACCEPT: Final = "accept"
# clp.my-clay.com, named only by the original integration spec; no public source confirms it answers.
ENDPOINT_LEGACY: Final = "legacy"
ENDPOINT_CUSTOM: Final = "custom"

# entry.options: behaviour the user may tune.
CONF_STATUS_INTERVAL: Final = "status_interval"  # seconds between roster polls
CONF_EVENT_POLL_INTERVAL: Final = "event_poll_interval"  # seconds between audit polls; 0 = off
CONF_UNLOCK_SECONDS: Final = "unlock_seconds"  # default release time of salto_ks.unlock
CONF_RELEASED_STATE: Final = "released_state"  # seconds HA shows a lock released after opening
# Opt-in: guest access actions may create and remove Salto users (off: the integration writes none).
CONF_MANAGE_GUESTS: Final = "manage_guests"

DEFAULT_STATUS_INTERVAL: Final = 60
MIN_STATUS_INTERVAL: Final = 10
DEFAULT_EVENT_POLL_INTERVAL: Final = 30
MIN_EVENT_POLL_INTERVAL: Final = 5
DEFAULT_UNLOCK_SECONDS: Final = 5
MIN_UNLOCK_SECONDS: Final = 1
MAX_UNLOCK_SECONDS: Final = 60
DEFAULT_RELEASED_STATE: Final = 5
MIN_RELEASED_STATE: Final = 1
MAX_RELEASED_STATE: Final = 300
MAX_STATUS_INTERVAL: Final = 86400  # one day; keeps timedelta arithmetic sane
MAX_EVENT_POLL_INTERVAL: Final = 86400

# entry.data: the event stream's host root (SignalR hub /v1/hub/entries); absent or empty: no stream
# unless the endpoint preset has one (stream.entry_stream_url).
CONF_STREAM_URL: Final = "stream_url"
# entry.options: whether the event stream is used (on by default where a stream URL is known).
CONF_EVENT_STREAM: Final = "event_stream"
DEFAULT_EVENT_STREAM: Final = True

# Config flow: longest accepted text in any field (URLs, ids, secrets, e-mail).
MAX_INPUT_LENGTH: Final = 1024

# Optional unlock PIN (options flow). The form field holds the PIN; entry.options keeps only its salted
# hash (pin.py), never the PIN itself. An empty field keeps the current PIN; CONF_CLEAR_PIN removes it.
CONF_UNLOCK_PIN: Final = "unlock_pin"  # form field only, never stored
CONF_CLEAR_PIN: Final = "clear_pin"  # form field only, never stored
CONF_PIN_HASH: Final = "pin_hash"  # entry.options: "pbkdf2_sha256$<iterations>$<salt>$<hash>"
# The lock entity's code_format when a PIN is set: Home Assistant refuses codes of another shape itself.
PIN_CODE_FORMAT: Final = "^[0-9]{4,12}$"

# Where the README explains one-time passwords (linked from the otp_required error).
OTP_DOCS_URL: Final = "https://github.com/salto-ks-ha/salto_ks#one-time-passwords-otp"

# entry.data: the IQ activations that let Home Assistant compute OTPs (otp.py), by IQ id:
# {"secret": <IQ secret>, "pin": <IQ PIN>, "rotated": <bool>}. Secrets: never logged, redacted in diagnostics.
CONF_OTP_ACTIVATIONS: Final = "otp_activations"
