"""A local Salto KS cloud simulator (identity server, Connect API, control API).

The simulator follows ../shared/docs/saltoks-api.md (the public record of the real API) and
docs/architecture.md §2. Where the record is silent, it makes the conservative choice — the one
that makes a client fail loudly rather than rely on guesswork:

- Unknown site/lock/IQ id: 404 ``{"ErrorCode": 1100, "Message": "The … was not found"}``
  (ErrorCode 2202 is kept for OTP and "user not found", so a client cannot mistake one for the other).
- Site UID instead of site UUID: 400 ErrorCode 1100 (observed). Caller not a member of the site:
  403 ErrorCode 2203.
- Remote opening (``PATCH …/locking``), checks in this order: body (400 1100/1101), caller's
  ``remote_access`` and ``blocked`` (403 2203), OTP when the lock's IQ has ``otp_enabled``
  (missing → 404 ``"2202"`` "Otp is invalid"; wrong → 400 3102 ``otp_invalid``; after 8 wrong
  ones → 403 3102 ``otp_blocked`` for 20 minutes), IQ offline → 422 2203 "The IQ is offline",
  lock offline or without IQ → 422 2203 "The lock is offline", ``locked_state: locked`` on a lock
  with ``supports_remote_lock=False`` → 422 1101. The record documents none of the offline/422
  answers. The valid OTP is a fixed 5-hex-digit code per IQ: ``sim.valid_otp(iq_id)``,
  ``GET /_sim/iqs/{id}/otp`` or ``otp`` in ``GET /_sim/state`` (case-insensitive).
- The 200 of ``…/locking`` carries the lock object (as the Core API does; undocumented for Connect).
  ``unlocked`` appends ``lock_opened`` + ``access_by: "remote"`` with the caller's platform user
  (``user_id: null`` for a client_credentials token); ``office_mode`` appends ``office_mode`` +
  ``start``, locking out of office mode ``office_mode`` + ``end``; a plain remote lock writes no row.
- Incident ``event_category`` values ``door_left_open``, ``intrusion``, ``tamper``,
  ``low_battery`` are made up (the record does not know the real snake_case values); so are
  ``access_by: "app"`` for a mobile-app opening and ``lock_type: "cylinder"``.
- Entries: newest first only (``$orderby=utc_date_time desc`` or ``local_date_time desc``, also the
  default); ``asc`` is refused with 400 1102 (the record shows only ``desc`` [inferred]); ``$top`` is the page size (capped by
  ``tenant.entries_page_size``), never a total; ``$skip`` and anything beyond the OData subset →
  400 1102. The continuation token is a JSON object serialised into a string; an unparsable token
  → 400 1100. ``/v1.2/…/entries`` (and the legacy and incidents paths) → 405 with no body.
- Other lists are paged with ``$top`` and an absolute ``next_page_link`` that carries ``$skip``;
  ``count`` is always null (as observed). ``$top`` above ``tenant.max_top`` is clamped.
- Missing/unknown/expired bearer: 401, empty body, ``WWW-Authenticate: Bearer`` (expired adds
  ``error="invalid_token"``). Identity: client authentication is checked first (401 with Basic,
  400 with form credentials), then ``grant_type`` (missing/unknown → ``unsupported_grant_type``),
  then whether the tenant enables it (``unauthorized_client``), then scope, then the user's
  credentials (``invalid_grant``). Refresh tokens are one-time (rotated). ``client_credentials``
  is off by default (the record ties it to the Core API). ``/oauth2/token`` (seed 000) behaves
  like ``/connect/token`` and also accepts seed 000's ``locks:read``-style scopes.
- Rate limit (undocumented in the record): per client id over a sliding 60 s window on the Connect
  API only (not the identity or control API); refused requests do not count; 429 with an empty
  body and ``Retry-After`` in whole seconds. Injected 429 faults answer the same way.
- Faults: 500 has body ``{"ErrorCode": 2201, …}``; 502/503 have an HTML body, as a proxy would.
- Counters count every request to an endpoint, including the faulted, refused and 401 ones.
- Unknown site-user id on ``GET …/users/{id}``: 404 ErrorCode 2202 "User not found" (the record's
  404/2202 "user not found"). Callers who are not site members see no such site in the list.
- Tokens are opaque random strings, not JWTs (clients must not parse them). ``expire_tokens()``
  expires access tokens only (refresh tokens keep working unless ``refresh=True``);
  ``set_credentials()`` revokes the tokens of the changed client / user.
- Entry rows are snapshots (lock/IQ/user names at the time) and survive the lock's removal;
  ``utc_date_time`` has whole seconds; rows sharing one timestamp keep insertion order.
- A local opening (``open_by`` without ``utc``) also shows the lock ``unlocked`` for its open time.
- Unknown routes answer aiohttp's plain 404; ``/v1/…`` is not served (the client strips it).
"""

from __future__ import annotations

from .core import Simulator
from .faults import FAULT_KINDS
from .tenant import Tenant

__all__ = ["FAULT_KINDS", "Simulator", "Tenant"]
