"""Per-tenant behaviour switches of the simulated Salto KS cloud (``sim.tenant``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GRANTS = frozenset({"password", "client_credentials", "refresh_token", "authorization_code"})
AUDIT_PATHS = ("entries", "audit-trails", "audit/log")
CONNECT_SCOPES = frozenset({"user_api.full_access", "openid", "profile", "offline_access"})
# Seed 000's legacy driver asks for these on /oauth2/token; the record knows no such scopes.
LEGACY_SCOPES = frozenset({"locks:read", "locks:write", "users:read", "audit:read"})


@dataclass
class Tenant:
    """What the tenant allows and how the cloud pages and throttles.

    - ``grants``: grant types enabled for the client (``unauthorized_client`` otherwise).
      Default password + refresh_token: the record says client_credentials belongs to the Core API.
    - ``audit_path``: ``entries`` (real Connect API), or seed 000's legacy ``audit-trails`` /
      ``audit/log``; the other paths answer 404.
    - ``token_lifetime``: seconds (real: 3600).
    - ``page_size``: default page size of locks/users/iqs/sites lists (``$top`` overrides).
    - ``entries_page_size``: largest entries page (``$top`` may ask for less).
    - ``max_top``: larger ``$top`` values are clamped to it.
    - ``rate_limit_per_minute``: Connect API requests per client id in a sliding 60 s window;
      ``None`` = unlimited.
    - ``entries_empty_pages``: when true every entries page with rows is preceded by a page with
      zero rows and a continuation token (the record says such pages happen).
    - ``scopes``: scopes the client may ask for.
    """

    grants: set[str] = field(default_factory=lambda: {"password", "refresh_token"})
    audit_path: str = "entries"
    token_lifetime: int = 3600
    page_size: int = 100
    entries_page_size: int = 50
    max_top: int = 1000
    rate_limit_per_minute: int | None = None
    entries_empty_pages: bool = False
    scopes: set[str] = field(default_factory=lambda: set(CONNECT_SCOPES))

    def update(self, **fields: Any) -> None:
        """Change fields by name, validating the values."""
        for name, raw in fields.items():
            value: Any = raw
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown tenant field: {name}")
            if name in {"grants", "scopes"}:
                value = set(value)
                if name == "grants" and not value <= GRANTS:
                    raise ValueError(f"unknown grant in {sorted(value)}")
            elif name == "audit_path" and value not in AUDIT_PATHS:
                raise ValueError(f"audit_path must be one of {AUDIT_PATHS}")
            elif name == "rate_limit_per_minute" and value is not None:
                value = int(value)
            elif name in {"token_lifetime", "page_size", "entries_page_size", "max_top"}:
                value = int(value)
                if value < 1:
                    raise ValueError(f"{name} must be >= 1")
            elif name == "entries_empty_pages":
                value = bool(value)
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "grants": sorted(self.grants),
            "audit_path": self.audit_path,
            "token_lifetime": self.token_lifetime,
            "page_size": self.page_size,
            "entries_page_size": self.entries_page_size,
            "max_top": self.max_top,
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "entries_empty_pages": self.entries_empty_pages,
            "scopes": sorted(self.scopes),
        }
