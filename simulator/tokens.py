"""Issued access and refresh tokens, by value, and the refresh-token chains they belong to.

Access tokens of the password and client_credentials grants are opaque random strings; those of
the authorization-code flow (and of refreshes in its chain) are JWT-shaped (``header.payload.
signature``, base64url, HS256 with a key of this store) with ``sub``/``identity_id``, as the
record's real tokens are. Refresh tokens are opaque and one-time: each refresh grant consumes one
and issues the next of the same chain; presenting a consumed one again revokes the chain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

JWT_AUDIENCE = "user_api"


@dataclass
class Token:
    """An issued access or refresh token."""

    value: str
    client_id: str
    user_id: str | None  # platform user id; None for client_credentials
    scope: str
    expires_at: float  # epoch seconds; refresh tokens: far future
    chain: str = ""  # the refresh-token chain (one sign-in) it belongs to
    jwt: bool = False  # JWT-shaped (authorization-code flow), else opaque


def b64url(raw: bytes) -> str:
    """Base64url without padding (JWT, PKCE)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class TokenStore:
    """Issued tokens by value."""

    def __init__(self) -> None:
        self.access: dict[str, Token] = {}
        self.refresh: dict[str, Token] = {}
        # Consumed refresh tokens -> their chain: presenting one again is a replay.
        self.used_refresh: dict[str, str] = {}
        # Every access and refresh token ever issued (measuring hook: a soak looks for them in logs).
        self.issued: list[str] = []
        self._key = secrets.token_bytes(32)

    def issue(
        self,
        client_id: str,
        user_id: str | None,
        scope: str,
        now: float,
        lifetime: int,
        *,
        chain: str = "",
        jwt_issuer: str | None = None,
    ) -> Token:
        """An access token; JWT-shaped when ``jwt_issuer`` is given (a user is required then)."""
        chain = chain or secrets.token_hex(8)
        token = Token("", client_id, user_id, scope, now + lifetime, chain)
        if jwt_issuer is not None and user_id is not None:
            token.jwt = True
            token.value = self._jwt(token, now, jwt_issuer)
        else:
            token.value = secrets.token_urlsafe(32)
        self.access[token.value] = token
        self.issued.append(token.value)
        return token

    def id_token(self, access: Token, now: float, issuer: str) -> str:
        """An OpenID id_token for a JWT access token's user (``aud`` = the client)."""
        claims = {"iss": issuer, "aud": access.client_id, "sub": access.user_id, "iat": int(now)}
        claims["exp"] = int(access.expires_at)
        value = self._sign({"alg": "HS256", "typ": "JWT"}, claims)
        self.issued.append(value)
        return value

    def _jwt(self, token: Token, now: float, issuer: str) -> str:
        claims: dict[str, Any] = {
            "iss": issuer,
            "nbf": int(now),
            "iat": int(now),
            "exp": int(token.expires_at),
            "aud": JWT_AUDIENCE,
            "scope": token.scope.split(),
            "amr": ["pwd"],
            "client_id": token.client_id,
            "sub": token.user_id,
            "identity_id": token.user_id,
            "jti": secrets.token_hex(16),
        }
        return self._sign({"alg": "HS256", "typ": "at+jwt"}, claims)

    def _sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return signing_input + "." + b64url(signature)

    def issue_refresh(self, access: Token) -> str:
        value = secrets.token_urlsafe(32)
        self.issued.append(value)
        self.refresh[value] = Token(
            value, access.client_id, access.user_id, access.scope, 1e18, access.chain, access.jwt
        )
        return value

    def consume_refresh(self, value: str) -> Token | None:
        """Take a live refresh token (one-time); a consumed one again revokes its chain."""
        token = self.refresh.pop(value, None)
        if token is not None:
            self.used_refresh[value] = token.chain
            return token
        chain = self.used_refresh.get(value)
        if chain is not None:
            self.revoke_chain(chain)
        return None

    def revoke_chain(self, chain: str) -> int:
        """Revoke every access and refresh token of one chain; how many."""
        count = 0
        for store in (self.access, self.refresh):
            for value in [v for v, t in store.items() if t.chain == chain]:
                del store[value]
                count += 1
        return count

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

    def revoke_refresh(self, *, client_id: str | None = None, user_id: str | None = None) -> int:
        """Drop live refresh tokens (of a client and/or user; all without either); how many."""
        doomed = [
            v
            for v, t in self.refresh.items()
            if (client_id is None or t.client_id == client_id)
            and (user_id is None or t.user_id == user_id)
        ]
        for value in doomed:
            del self.refresh[value]
        return len(doomed)

    def revoke(self, *, client_id: str | None = None, user_id: str | None = None) -> None:
        for store in (self.access, self.refresh):
            for value in [
                v
                for v, t in store.items()
                if (client_id is not None and t.client_id == client_id)
                or (user_id is not None and t.user_id == user_id)
            ]:
                del store[value]
