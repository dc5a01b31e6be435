"""Issued access and refresh tokens: opaque random strings, by value."""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass
class Token:
    """An issued access or refresh token."""

    value: str
    client_id: str
    user_id: str | None  # platform user id; None for client_credentials
    scope: str
    expires_at: float  # epoch seconds; refresh tokens: far future


class TokenStore:
    """Issued tokens by value."""

    def __init__(self) -> None:
        self.access: dict[str, Token] = {}
        self.refresh: dict[str, Token] = {}
        # Every access and refresh token ever issued (measuring hook: a soak looks for them in logs).
        self.issued: list[str] = []

    def issue(
        self, client_id: str, user_id: str | None, scope: str, now: float, lifetime: int
    ) -> Token:
        token = Token(secrets.token_urlsafe(32), client_id, user_id, scope, now + lifetime)
        self.access[token.value] = token
        self.issued.append(token.value)
        return token

    def issue_refresh(self, access: Token) -> str:
        value = secrets.token_urlsafe(32)
        self.issued.append(value)
        self.refresh[value] = Token(value, access.client_id, access.user_id, access.scope, 1e18)
        return value

    def valid(self, value: str, now: float) -> Token | None:
        token = self.access.get(value)
        if token is None or now >= token.expires_at:
            return None
        return token

    def expire_all(self, *, refresh: bool = False) -> None:
        for token in self.access.values():
            token.expires_at = 0.0
        if refresh:
            self.refresh.clear()

    def revoke(self, *, client_id: str | None = None, user_id: str | None = None) -> None:
        for store in (self.access, self.refresh):
            for value in [
                v
                for v, t in store.items()
                if (client_id is not None and t.client_id == client_id)
                or (user_id is not None and t.user_id == user_id)
            ]:
                del store[value]
