"""The authorization-code flow's state (no HTTP in here): redirect URIs, pending sign-ins, codes.

One sign-in goes: ``check_authorize`` (the query of ``/connect/authorize``) → ``begin`` (a
pending request with a random ``request_id``) → ``sign_in`` (the user's e-mail and password) →
``issue_code`` (consent given) → ``redeem`` (the token endpoint, once). Problems before the
redirect URI is known to be registered show an error page; later ones go back to the redirect
URI as ``error=…`` (``AuthorizeProblem.redirect``), as IdentityServer does.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .tokens import b64url

HA_REDIRECT_URI = "https://my.home-assistant.io/redirect/oauth"
PENDING_LIFETIME = 600.0  # seconds a login page stays usable [inferred]
# RFC 7636 §4.1: 43-128 characters of [A-Z a-z 0-9 - . _ ~] (the challenge of S256 is 43).
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


class OidcError(Exception):
    """A refusal: ``error`` / ``description`` as the OAuth answer names them."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(error)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizeProblem:
    """Why an authorize request is refused; ``redirect`` False = an error page, never a redirect."""

    error: str
    description: str
    redirect: bool


@dataclass
class Pending:
    """A sign-in in progress (between the login page and the consent click)."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    code_challenge: str
    created_at: float
    user_id: str | None = None  # set once the user signed in


@dataclass
class Code:
    """An issued authorization code, bound to client, redirect URI, PKCE challenge and user."""

    client_id: str
    redirect_uri: str
    scope: str
    user_id: str
    code_challenge: str
    expires_at: float
    chain: str = field(default_factory=lambda: secrets.token_hex(8))


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def valid_redirect_uri(uri: str) -> bool:
    """An absolute http(s) URL without a fragment (RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and not parts.fragment


class Oidc:
    """Registered redirect URIs per client, pending sign-ins, codes, and counters."""

    def __init__(self) -> None:
        self.redirect_uris: dict[str, list[str]] = {}
        self.pending: dict[str, Pending] = {}
        self.codes: dict[str, Code] = {}
        self.used_codes: dict[str, str] = {}  # redeemed code -> its chain
        self.stats: dict[str, int] = {}

    def count(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1

    # clients -------------------------------------------------------------------------------
    def register(self, client_id: str, uri: str) -> list[str]:
        if not valid_redirect_uri(uri):
            raise ValueError("uri must be an absolute http(s) URL without a fragment")
        uris = self.redirect_uris.setdefault(client_id, [])
        if uri not in uris:
            uris.append(uri)
        return list(uris)

    def unregister(self, client_id: str, uri: str) -> list[str]:
        uris = self.redirect_uris.get(client_id, [])
        if uri in uris:
            uris.remove(uri)
        return list(uris)

    # the flow ------------------------------------------------------------------------------
    def check_authorize(
        self,
        query: dict[str, str],
        clients: dict[str, str],
        scopes: set[str],
        grants: set[str],
    ) -> AuthorizeProblem | None:
        """Validate an authorize query in IdentityServer's order; None = show the login page."""
        client_id = query.get("client_id", "")
        if client_id not in clients:
            return AuthorizeProblem(
                "unauthorized_client", "Unknown client or client not enabled", False
            )
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris.get(client_id, []):
            return AuthorizeProblem("invalid_request", "Invalid redirect_uri", False)
        if query.get("response_type") != "code":
            return AuthorizeProblem(
                "unsupported_response_type", "Response type not supported", True
            )
        if "authorization_code" not in grants:
            return AuthorizeProblem("unauthorized_client", "Invalid grant type for client", True)
        asked = query.get("scope", "").split()
        if not asked or not set(asked) <= scopes:
            return AuthorizeProblem("invalid_scope", "Invalid scope", True)
        challenge = query.get("code_challenge", "")
        if not challenge:
            return AuthorizeProblem("invalid_request", "code challenge required", True)
        if query.get("code_challenge_method") != "S256":
            return AuthorizeProblem("invalid_request", "Transform algorithm not supported", True)
        if not _PKCE_VALUE.fullmatch(challenge):
            return AuthorizeProblem("invalid_request", "Invalid code_challenge", True)
        return None

    def begin(self, query: dict[str, str], now: float) -> str:
        """Record a checked authorize request; its ``request_id``."""
        request_id = secrets.token_urlsafe(24)
        self.pending[request_id] = Pending(
            query["client_id"],
            query["redirect_uri"],
            " ".join(query["scope"].split()),
            query.get("state"),
            query["code_challenge"],
            now,
        )
        self.count("authorize_requests")
        return request_id

    def pending_request(self, request_id: str, now: float) -> Pending | None:
        """A live pending request (expired ones are dropped)."""
        pending = self.pending.get(request_id)
        if pending is not None and now - pending.created_at > PENDING_LIFETIME:
            del self.pending[request_id]
            return None
        return pending

    def finish(self, request_id: str) -> None:
        """The pending request is answered (allowed or denied): it cannot be used again."""
        self.pending.pop(request_id, None)

    def issue_code(self, pending: Pending, now: float, lifetime: int) -> str:
        if pending.user_id is None:
            raise OidcError("access_denied", "Not signed in")
        code = secrets.token_urlsafe(32)
        self.codes[code] = Code(
            pending.client_id,
            pending.redirect_uri,
            pending.scope,
            pending.user_id,
            pending.code_challenge,
            now + lifetime,
        )
        self.count("codes_issued")
        return code

    def redeem(
        self, value: str, client_id: str, redirect_uri: str, verifier: str, now: float
    ) -> Code:
        """Take a code (one-time: even a refused attempt consumes it), or OidcError.

        A code presented again raises ``CodeReplayError`` naming the chain of the tokens issued for
        it: the caller revokes that chain (RFC 6749 §4.1.2).
        """
        code = self.codes.pop(value, None)
        if code is None:
            if value in self.used_codes:
                self.count("code_replays")
                raise CodeReplayError(self.used_codes[value])
            raise OidcError("invalid_grant", "Invalid authorization code")
        self.used_codes[value] = code.chain
        if now >= code.expires_at:
            self.count("code_refusals")
            raise OidcError("invalid_grant", "Authorization code expired")
        if code.client_id != client_id:
            self.count("code_refusals")
            raise OidcError("invalid_grant", "Client mismatch")
        if code.redirect_uri != redirect_uri:
            self.count("code_refusals")
            raise OidcError("invalid_grant", "Invalid redirect_uri")
        if not verifier:
            self.count("code_refusals")
            raise OidcError("invalid_grant", "code_verifier is missing")
        if not _PKCE_VALUE.fullmatch(verifier) or not secrets.compare_digest(
            s256(verifier), code.code_challenge
        ):
            self.count("code_refusals")
            raise OidcError(
                "invalid_grant", "Transformed code verifier does not match code challenge"
            )
        self.count("codes_redeemed")
        return code

    def as_dict(self, client_ids: list[str]) -> dict[str, Any]:
        """JSON view: counters, open requests and codes (counts only), clients' redirect URIs."""
        return {
            "stats": dict(self.stats),
            "pending": len(self.pending),
            "codes": len(self.codes),
            "clients": {cid: list(self.redirect_uris.get(cid, [])) for cid in client_ids},
        }


class CodeReplayError(OidcError):
    """A redeemed code presented again: ``chain`` names the tokens issued for it."""

    def __init__(self, chain: str) -> None:
        super().__init__("invalid_grant", "Invalid authorization code")
        self.chain = chain
