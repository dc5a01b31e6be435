"""Per-tenant behaviour switches of the simulated Salto KS cloud (``sim.tenant``)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

GRANTS = frozenset({"password", "client_credentials", "refresh_token", "authorization_code"})
PROFILES = ("connect", "legacy")
AUDIT_PATHS = ("entries", "audit-trails", "audit/log")
OFFLINE_ANSWERS = ("422", "403")
USERS_ENVELOPES = ("items", "array")
CONNECT_SCOPES = frozenset({"user_api.full_access", "openid", "profile", "offline_access"})
# The legacy profile's driver asks for these on /oauth2/token; the record knows no such scopes.
LEGACY_SCOPES = frozenset({"locks:read", "locks:write", "users:read", "audit:read"})
_CHOICES: dict[str, tuple[str, ...]] = {
    "profile": PROFILES,
    "audit_path": AUDIT_PATHS,
    "offline_answer": OFFLINE_ANSWERS,
    "users_envelope": USERS_ENVELOPES,
}
_POSITIVE = frozenset(
    {"token_lifetime", "code_lifetime", "page_size", "entries_page_size", "max_top"}
)
_FLAGS = frozenset({"entries_empty_pages", "refresh_tokens"})


@dataclass
class Tenant:
    """What the tenant allows and how the cloud pages, throttles and answers.

    - ``profile``: ``connect`` (default: the Connect API as the record shows it) or ``legacy``
      (the driver of the integration's original specification, which the record does not know:
      ``/oauth2/token`` with its ``locks:read``-style scopes, client_credentials tokens accepted by
      the Connect API, and the audit feed on ``audit_path``). Outside ``legacy`` those answer a
      bare route-level 404 (``/oauth2/token``, the audit paths) or 401 (client_credentials tokens).
    - ``grants``: grant types enabled for the client (``unauthorized_client`` otherwise).
      Default password + refresh_token + authorization_code ("by default, your tenant will be
      activated for the authorization_code flow"); client_credentials belongs to the Core API.
    - ``refresh_tokens``: whether the password grant issues a refresh token (then one-time: each
      refresh grant rotates it). Default False: the record's token response has none.
    - ``audit_path``: where the legacy profile serves the audit feed: ``entries``,
      ``audit-trails`` or ``audit/log`` (the others answer a bare 404). Other than ``entries``
      only with ``profile="legacy"``.
    - ``offline_answer``: how ``…/locking`` refuses an offline lock or IQ (the record does not
      say): ``422`` (default; ErrorCode 2203, a Message naming the lock or IQ offline) or ``403``
      (the documented 2203 "Operation cannot be executed", which does not say why).
    - ``users_envelope``: ``items`` (default, ``{items, next_page_link, count}``) or ``array``
      (a bare JSON array of every user, or of the first ``$top``); the record saw both.
    - ``token_lifetime``: seconds (real: 3600).
    - ``code_lifetime``: seconds an authorization code may be redeemed (default 60 [inferred]).
    - ``page_size``: default page size of locks/users/iqs/sites lists (``$top`` overrides).
    - ``entries_page_size``: largest entries page (``$top`` may ask for less).
    - ``max_top``: larger ``$top`` values are clamped to it.
    - ``rate_limit_per_minute``: Connect API requests per client id in a sliding 60 s window;
      ``None`` = unlimited.
    - ``entries_empty_pages``: when true every entries page with rows is preceded by a page with
      zero rows and a continuation token (the record says such pages happen).
    - ``scopes``: scopes the client may ask for.
    """

    profile: str = "connect"
    grants: set[str] = field(
        default_factory=lambda: {"password", "refresh_token", "authorization_code"}
    )
    refresh_tokens: bool = False
    audit_path: str = "entries"
    offline_answer: str = "422"
    users_envelope: str = "items"
    token_lifetime: int = 3600
    code_lifetime: int = 60
    page_size: int = 100
    entries_page_size: int = 50
    max_top: int = 1000
    rate_limit_per_minute: int | None = None
    entries_empty_pages: bool = False
    scopes: set[str] = field(default_factory=lambda: set(CONNECT_SCOPES))

    @property
    def legacy(self) -> bool:
        """Whether the legacy profile is on."""
        return self.profile == "legacy"

    @property
    def served_audit_path(self) -> str:
        """The one path that serves the audit feed."""
        return self.audit_path if self.legacy else "entries"

    def update(self, **changes: Any) -> None:
        """Change fields by name, validating the values (all or none are applied)."""
        values = {name: _checked(name, raw) for name, raw in changes.items()}
        profile = values.get("profile", self.profile)
        audit_path = values.get("audit_path", self.audit_path)
        if profile != "legacy" and audit_path != "entries":
            raise ValueError(f"audit_path {audit_path!r} needs profile 'legacy'")
        for name, value in values.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """JSON view."""
        view = {f.name: getattr(self, f.name) for f in fields(self)}
        view["grants"] = sorted(self.grants)
        view["scopes"] = sorted(self.scopes)
        return view


def _checked(name: str, raw: Any) -> Any:
    """One field's new value, converted, or ValueError."""
    if name not in Tenant.__dataclass_fields__:
        raise ValueError(f"unknown tenant field: {name}")
    if name in {"grants", "scopes"}:
        names = set(raw)
        if name == "grants" and not names <= GRANTS:
            raise ValueError(f"unknown grant in {sorted(names)}")
        return names
    if name in _CHOICES:
        if raw not in _CHOICES[name]:
            raise ValueError(f"{name} must be one of {_CHOICES[name]}")
        return raw
    if name == "rate_limit_per_minute":
        return None if raw is None else int(raw)
    if name in _POSITIVE:
        value = int(raw)
        if value < 1:
            raise ValueError(f"{name} must be >= 1")
        return value
    if name in _FLAGS:
        return bool(raw)
    raise AssertionError(name)  # every field is handled above
