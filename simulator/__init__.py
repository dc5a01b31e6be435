"""A local Salto KS cloud simulator (identity server, Connect API, event hub, control API).

The simulator follows ../shared/docs/saltoks-api.md (the public record of the real API) and
docs/architecture.md §2. Its default tenant (``profile="connect"``) answers as the record shows.
Every behaviour below marked **[inferred]** is not shown by the record: there the simulator makes
the conservative choice, the one that makes a client fail loudly rather than rely on guesswork.
Unmarked behaviour is the record's.

Identity server (``POST /connect/token``):

- Client authentication first (HTTP Basic or form ``client_id``/``client_secret``): a wrong or
  missing client → 400 ``invalid_client`` [inferred: as IdentityServer answers it, also with Basic];
  then ``grant_type`` (missing/unknown → ``unsupported_grant_type`` [inferred]), then whether the
  tenant enables it (``unauthorized_client`` [inferred]), then scope (``invalid_scope``), then the
  user's credentials (``invalid_grant``, description ``invalid_username_or_password`` [inferred]).
- The password grant's token response has no refresh token; ``tenant.refresh_tokens=True`` makes
  it issue one, one-time (rotated by each refresh grant, as IdentityServer does [inferred]).
- ``client_credentials`` is off by default (the record ties it to the Core API); enabled, its token
  carries no user and the Connect API refuses it with 401 [inferred: "Connect needs a user
  context"], except in the legacy profile.
- Password and client_credentials tokens are opaque random strings, not JWTs (clients must not
  parse them) [inferred]. ``expire_tokens()`` expires access tokens only (refresh tokens keep
  working unless ``refresh=True``); ``set_credentials()`` revokes the tokens of the changed client
  / user; ``revoke_refresh_tokens()`` drops live refresh tokens.

Sign-in (authorization code + PKCE; ``oidc.py``, ``authorize.py``; docs/architecture.md §2):

- ``/.well-known/openid-configuration`` names ``/connect/authorize`` and ``/connect/token``; the
  authorization_code grant is on by default (the record's "by default, your tenant will be
  activated for the authorization_code flow"); PKCE S256 only, and required [inferred: the
  record's sample uses it].
- Redirect URIs: exact match against the client's registered list (the scenario's client has
  ``https://my.home-assistant.io/redirect/oauth`` [inferred]). An unknown client or an unregistered
  or missing ``redirect_uri`` → an HTML error page, 400, never a redirect; later problems go back to
  the redirect URI as ``error=…&state=…`` (``unsupported_response_type``, ``unauthorized_client``,
  ``invalid_scope`` also for a missing scope, ``invalid_request`` for a missing/short challenge or a
  method other than S256) [inferred: IdentityServer's order and wording].
- The login page takes a KS user's e-mail and password (a wrong one re-renders it); a consent page
  follows (allow → ``code``; deny → ``error=access_denied``); a pending sign-in lives 600 s and is
  answered once [inferred].
- Codes: one-time (any redemption attempt consumes it), ``tenant.code_lifetime`` = 60 s, bound to
  client, redirect URI and PKCE; a code presented again revokes the tokens issued for it
  [inferred: RFC 6749 §4.1.2]. Refusals are 400 ``invalid_grant``.
- Authorization-code access tokens are JWT-shaped (HS256 with a simulator key, not the real
  RS256; claims ``iss``, ``aud: user_api``, ``sub`` = ``identity_id`` = the platform user id,
  ``client_id``, ``scope``, ``iat``, ``exp``) [inferred: the record shows ``identity_id``, not how
  ``sub`` relates to it]; an ``id_token`` comes with ``openid``; a refresh token only with
  ``offline_access`` (IdentityServer convention).
- Refresh tokens (of every grant) are one-time; a consumed one presented again revokes its chain
  (the sign-in's live refresh token and access tokens) [inferred: the conservative reading of
  "Salto may rotate them"].

Legacy profile (``tenant.update(profile="legacy")``), which the record contradicts [inferred: the
driver of the integration's original specification]: ``/oauth2/token`` (like ``/connect/token``,
also accepting ``locks:read``-style scopes), client_credentials tokens accepted by the Connect
API, and the audit feed on ``tenant.audit_path`` (``entries``, ``audit-trails`` or
``audit/log``). Outside it those paths answer a bare route-level 404, as does every audit path the
tenant does not serve.

Connect API:

- Missing/unknown/expired bearer: 401, empty body, ``WWW-Authenticate: Bearer`` (expired adds
  ``error="invalid_token"`` [inferred]).
- Unknown site/lock/IQ id: 404 ``{"ErrorCode": 1100, "Message": "The … was not found"}``
  [inferred] (2202 is kept for OTP and "user not found", so a client cannot mistake one for the
  other). Site UID instead of site UUID: 400 ErrorCode 1100. Caller not a member of the site: 403
  ErrorCode 2203 [inferred]; such callers see no such site in the list.
- Unknown site-user id on ``GET …/users/{id}``: 404 ``{"ErrorCode": "2202", "Message": "User not
  found"}``. The users list comes as ``{items, next_page_link, count}`` or, with
  ``tenant.users_envelope="array"``, as a bare array (the record saw both).
- Remote opening (``PATCH …/locking``), checks in this order [order inferred]: body (400 1100 /
  1101 [inferred]), caller's ``remote_access`` and ``blocked`` (403 2203), OTP when the lock's IQ
  has ``otp_enabled`` (no ``otp`` field → 404 ``"2202"`` "Otp is invalid"; an empty ``otp`` → 400
  1100 "The otp field is required." [when it occurs: inferred]; wrong → 400 3102 ``otp_invalid``;
  after 8 wrong ones → 403 3102 ``otp_blocked`` for 20 minutes), IQ offline, then lock offline or
  without IQ — the record does not say how the cloud refuses those [inferred]:
  ``tenant.offline_answer="422"`` (default) → 422 2203 "The IQ is offline" / "The lock is
  offline"; ``"403"`` → the documented 403 2203 "Operation cannot be executed", naming no cause —
  then ``locked_state: locked`` on a lock with ``supports_remote_lock=False`` → 422 1101
  [inferred]. The OTP is the record's algorithm over the caller's IQ secret and PIN: the first 5
  hex characters of MD5(UTC ``YYYYmmDDHHMMSS`` + secret + PIN), valid 3 minutes and reusable within
  them, clock drift up to 3 minutes tolerated; only codes of a user activated on the IQ open
  (``simulator/otp.py`` lists what is inferred). ``sim.valid_otp(iq_id)`` / ``GET /_sim/iqs/{id}/otp``
  give the system user's code now, as its Salto app shows it (which activates it on the IQ in the
  app if needed); ``otp`` in ``GET /_sim/state`` is that code, or null before the activation.
- IQ activation (``simulator/otp_api.py``): ``GET …/iqs/{iq}/secret`` (only before the caller's
  activation, else 403 2203), ``GET …/iqs/{iq}/pin?send_email=true`` (204; the "mail" is read at
  ``GET /_sim/mails``), ``PUT …/iqs/{iq}/pin {otp, delta}`` (204), ``GET /v1.2/me/{site}/activated_iqs``.
  ``POST /_sim/iqs/{id}/rotate`` plays the Salto app activating the same user (the secret rotates),
  ``DELETE /_sim/iqs/{id}/activation`` an admin removing the activation.
- Manual office mode through ``…/locking`` (``office_mode``, and ``locked`` while the lock is in
  office mode) also needs the caller's user right ``toggle_manual_office_mode``, checked after
  ``remote_access`` and before the OTP: without it 403 2203 [inferred: the record names the right,
  not the refusal; every caller needs it, site admins too, the conservative choice]. The scenarios'
  system user has the right; set it per user with ``set_user``.
- Easy office mode schedule: ``PUT …/locks/{id}/easy_office_mode_schedule`` sets it and ``DELETE``
  removes it (the record shows no removal [inferred]); site admins only, the body validated as
  ``simulator/office_mode_api.py`` describes [inferred].
- The 200 of ``…/locking`` carries the lock object [inferred: as the Core API does].
  ``unlocked`` appends ``lock_opened`` + ``access_by: "remote"`` [inferred] with the caller's
  platform user (``user_id: null`` for a client_credentials token); ``office_mode`` appends
  ``office_mode`` + ``start``, locking out of office mode ``office_mode`` + ``end``; a plain remote
  lock writes no row [all inferred].
- Incident ``event_category`` values ``door_left_open``, ``intrusion``, ``tamper``,
  ``low_battery`` are made up [inferred: the record does not know the real snake_case values]; so
  are ``access_by: "app"`` for a mobile-app opening and ``lock_type: "cylinder"``.
- Entries: newest first only (``$orderby=utc_date_time desc`` or ``local_date_time desc``; also
  the default [inferred]); ``asc`` or no direction → 400 1102 [inferred: the record shows only
  ``desc``]. ``$filter`` ``ge`` on ``utc_date_time`` is the record's; the other comparisons, the
  ``and`` of clauses and the string fields are [inferred]. ``$top`` is the page size (capped by
  ``tenant.entries_page_size`` [inferred]), never a total; ``$skip`` and anything beyond the OData
  subset → 400 1102. The continuation token is a JSON object serialised into a string; an
  unparsable token → 400 1100 [inferred]. ``/v1.2/…/entries`` (and the incidents path) → 405.
- Other lists are paged with ``$top`` and an absolute ``next_page_link`` that carries ``$skip``
  [inferred]; ``count`` is always null. ``$top`` above ``tenant.max_top`` is clamped [inferred].
- Rate limit [inferred: the record documents none]: per client id over a sliding 60 s window on
  the Connect API only (not the identity or control API); refused requests do not count; 429 with
  an empty body and ``Retry-After`` in whole seconds. Injected 429 faults answer the same way.
- Faults [inferred]: 500 has body ``{"ErrorCode": 2201, …}``; 502/503 have an HTML body, as a
  proxy would.
- Entry rows are snapshots (lock/IQ/user names at the time) and survive the lock's removal
  [inferred]; ``utc_date_time`` has whole seconds; rows sharing one timestamp come in reverse
  insertion order (newest first) [inferred].
- A local opening (``open_by`` without ``utc``) also shows the lock ``unlocked`` for its open time.
- Unknown routes answer aiohttp's plain 404; ``/v1/…`` is not served (the client strips it).

Guest access (``guests.py``, served by ``guests_api.py``):

- ``POST /v1.2/…/guests {alias, expires_at}`` → 201, a site user with role ``site_guest``,
  ``use_pin: false`` and ``expires_at``; ``DELETE …/users/{id}`` → 202 (also out of every group;
  unknown → 404 ``"2202"``). ``PUT …/users/{id}/pin`` (``{}`` or ``{expiry_date}``) → 200 with a
  bare JSON string, a 6-digit PIN the server generates; a ``pin`` field needs the ``custom_pin``
  feature (else 403 2203 [inferred]); a site with ``pin_enabled: false`` refuses with 403 2203
  [inferred]. ``GET …/users/{id}/keys`` lists the PIN key. Membership takes the platform user id
  (``user.id``); a site-user id there is an unknown user (404 ``"2202"``) [inferred].
- Seats: ``sim.guest_access.seat_limit`` subscribed users per site (default 10 [inferred]; the
  subscription's ``user_amount``); a guest created with none left is silently ``suspended``. An
  expired guest keeps its seat until removed.
- For ``consistency_seconds`` (default 60) after a guest is created, ``…/pin`` and ``…/keys``
  answer 404 ``"2202"`` "User not found" and group membership 403 2203 "Operation cannot be
  executed" [which call answers which code: inferred]. ``PATCH /_sim/guest_access`` sets it.
- Access groups, their locks and time schedules (v1.1 only; v1.2 → 405 [inferred]); a schedule
  without a day → 400 1101; ends are stored with :59 seconds. ``GET …/subscription`` →
  ``user_amount``, ``type``, ``features``.
- At the door (``sim.type_pin(lock_id, pin)``, ``POST /_sim/locks/{id}/pin``): a PIN of a
  subscribed, unblocked user, not past its ``expiry_date`` nor the user's ``expires_at``, in a
  group of that lock with a schedule covering the site's local time, writes ``lock_opened`` +
  ``access_by: pin_code`` for that user; otherwise ``lock_rejected`` (``no_access``,
  ``suspended`` or ``blocked``; an unknown PIN with ``user_id: null``) [inferred].

Event hub (``/v1/hub/entries``; ``stream.py``, served by ``hub.py``; docs/architecture.md §2):

- ASP.NET Core SignalR, JSON hub protocol, on the simulator's own port (``sim.stream_url``). Only
  the WebSockets transport is offered [inferred: the real hub also negotiates SSE and long
  polling]; negotiate versions 0 and 1; a connection token is good for one WebSocket, so a
  reconnect with a stale id gets 404 (ASP.NET Core's "No Connection with that ID") [inferred].
- Bearer token or ``access_token`` query (both in the record); checks in the order token (401),
  ``site_id`` (400 missing / 404 unknown [inferred]), rights (site admin or site super user, else
  403; role code ``site_super_user`` [inferred]), feature ``events_streaming`` (403 [inferred: the
  record says only "expect the hub to refuse"; refusing at negotiate, before any socket, with a
  bare 403 that names no cause is the conservative reading: a client has to find the reason in
  ``…/subscription``]). The ``user_id`` variant of the hub is not served [inferred].
- The token is checked when connecting only: one that expires later does not close the connection
  (the record: SignalR does not renew it on an open connection).
- Keepalive ping 15 s, client timeout 30 s, handshake timeout 15 s (ASP.NET Core's defaults
  [inferred: Salto's settings are unknown]); after the client timeout the server sends a close
  message with an error and ``allowReconnect: true`` [inferred].
- There is no replay: rows written while a client is not connected reach it only through
  ``/entries``, as in the record.

Simulator-only: counters count every request to an endpoint, including the faulted, refused and
401 ones (not the bare 404 of a route the profile lacks); every request is logged at INFO on the
``simulator`` logger as method, path and status (no query string, header or body).
"""

from __future__ import annotations

from .faults import FAULT_KINDS
from .server import Simulator
from .tenant import Tenant

__all__ = ["FAULT_KINDS", "Simulator", "Tenant"]
