"""OAuth2 token manager: obtains, caches and renews the bearer token."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

import aiohttp

from ._http import Scrubber, decode_json, send, token_error
from .const import DEFAULT_TOKEN_LIFETIME, SCOPE, TOKEN_EXPIRY_MARGIN, USER_AGENT
from .exceptions import (
    ApiNotEnabledError,
    AuthenticationError,
    InvalidResponseError,
    RateLimitedError,
)
from .models import TokenResponse
from .ratelimit import RetryGate
from .urls import require_secure_url

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What ``TokenManager`` asks the identity server with: the API client and, for the password
    grant, a KS user (``username`` and ``password`` together, or neither: client_credentials).

    The secrets, and the user name (personal data), stay out of the repr.
    """

    client_id: str
    client_secret: str = field(repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password must be given together")

    def basic_auth(self) -> str:
        """HTTP Basic client authentication; id and secret form-encoded first (RFC 6749 2.3.1)."""
        pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
        return "Basic " + base64.b64encode(pair.encode()).decode("ascii")

    def grant_form(self) -> dict[str, str]:
        """The primary grant: password with a KS user, else client_credentials."""
        if self.username is None or self.password is None:
            return {"grant_type": "client_credentials"}
        return {
            "grant_type": "password",
            "username": self.username,
            "password": self.password,
            "scope": SCOPE,
        }


class TokenSource(Protocol):
    """Hands out a valid access token obtained elsewhere (e.g. Home Assistant's OAuth2 session).

    ``force_refresh``: the API refused the last token; get a new one even if it looks valid.
    Raises the client's exceptions (``AuthenticationError`` for a refused refresh token,
    ``CommunicationError`` or ``RateLimitedError`` for a transient failure).
    """

    async def __call__(self, *, force_refresh: bool = False) -> str:
        """Return a valid access token."""


class ExternalTokens:
    """The token interface of ``TokenManager`` over a ``TokenSource``: no grant of its own.

    Honours and closes the shared Retry-After gate like ``TokenManager``; concurrent 401s share one
    forced refresh (a refresh token may be single-use, so refreshing twice would waste a rotation).
    """

    grant_type = "external"

    def __init__(self, source: TokenSource, *, scrubber: Scrubber, gate: RetryGate) -> None:
        self._source = source
        self._scrub = scrubber
        self._gate = gate
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "ExternalTokens()"

    def invalidate(self) -> None:
        """Nothing is cached here: the source owns the tokens."""

    async def get_token(self, *, force: bool = False) -> str:
        """Return the source's token (a refreshed one with ``force``)."""
        self._gate.check()
        try:
            token = await self._source(force_refresh=force)
        except RateLimitedError as err:
            err.retry_after = self._gate.note(err.retry_after)
            raise
        self._scrub.add(token)
        return token

    async def renew_rejected(self, rejected: str) -> str:
        """A new token after the API rejected ``rejected``; one refresh for all callers."""
        async with self._lock:
            current = await self.get_token()
            if current != rejected:
                return current
            return await self.get_token(force=True)


class TokenManager:
    """Get a bearer token from the identity server and keep it until shortly before it expires.

    With a KS user in ``credentials`` it uses the password grant (scope ``user_api.full_access``); without
    one client_credentials. A refresh token from the server is used for the next renewal; if the server
    refuses it, the primary grant is used again. Concurrent callers share one renewal.

    ``gate`` is the Retry-After gate shared with the API client: after a 429 from the identity server or
    the API no token request is sent before it has passed (``RateLimitedError`` unsent, the refresh token
    kept), also when a call that was already in flight comes back with a 401 and wants a new token.

    ``auth_url`` must be https, or plain http to a loopback address (ValueError otherwise). Redirects are
    not followed. After a 429 no token request is sent before its Retry-After has passed (a cached
    token keeps being handed out). Only a refusal of the credentials raises ``AuthenticationError``; an
    unusable answer (5xx, HTML, bad JSON, timeout, dropped connection) raises ``CommunicationError``
    (``InvalidResponseError``, a subclass, for a 200 whose body is not a token).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: Credentials,
        *,
        auth_url: str,
        request_timeout: float,
        scrubber: Scrubber,
        gate: RetryGate,
    ) -> None:
        require_secure_url(auth_url, "auth_url")
        self._session = session
        self._auth_url = auth_url
        self._credentials = credentials
        # The primary grant, used for the first token and whenever no refresh token is usable.
        self._grant_form = credentials.grant_form()
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._scrub = scrubber
        self._scrub.add(credentials.client_secret, credentials.password)
        self._lock = asyncio.Lock()
        self._access_token: str | None = None
        self._refresh_token: str | None = None
        self._expires_at = 0.0
        # Shared with the API client: a 429 from either server stops every request.
        self._gate = gate

    @property
    def grant_type(self) -> str:
        """The primary grant: ``password`` or ``client_credentials``."""
        return self._grant_form["grant_type"]

    @property
    def has_valid_token(self) -> bool:
        """Whether a cached token exists and is not about to expire."""
        return self._access_token is not None and time.monotonic() < self._expires_at

    def __repr__(self) -> str:
        return (
            f"TokenManager(auth_url={self._auth_url!r}, grant_type={self.grant_type!r}, "
            f"has_token={self._access_token is not None})"
        )

    def invalidate(self) -> None:
        """Drop the cached access token and refresh token."""
        self._access_token = None
        self._refresh_token = None
        self._expires_at = 0.0

    async def get_token(self, *, force: bool = False) -> str:
        """Return a valid access token, requesting one if needed (or always, with ``force``)."""
        if not force and self.has_valid_token:
            assert self._access_token is not None
            return self._access_token
        stale = self._access_token
        async with self._lock:
            # Another caller may have renewed while we waited for the lock.
            if self.has_valid_token and (not force or self._access_token != stale):
                assert self._access_token is not None
                return self._access_token
            return await self._renew()

    async def renew_rejected(self, rejected: str) -> str:
        """Return a new token after the API rejected ``rejected``; one renewal for all callers."""
        async with self._lock:
            current = self._access_token
            if current is not None and current != rejected and self.has_valid_token:
                return current
            return await self._renew()

    async def _renew(self) -> str:
        """Request a token (refresh grant first when possible). Call with the lock held."""
        self._gate.check()  # before dropping anything: a refused call keeps the refresh token
        self._access_token = None
        if self._refresh_token is not None:
            refresh = self._refresh_token
            self._refresh_token = None
            try:
                return await self._request(
                    {"grant_type": "refresh_token", "refresh_token": refresh}
                )
            except (AuthenticationError, ApiNotEnabledError) as err:
                _LOGGER.debug(
                    "Refresh token refused (%s); using the %s grant", err.status, self.grant_type
                )
        return await self._request(self._grant_form)

    async def _request(self, form: dict[str, str]) -> str:
        self._gate.check()  # raises RateLimitedError (nothing sent) while a Retry-After runs
        grant = form["grant_type"]
        _LOGGER.debug("Requesting a token (grant %s) from %s", grant, self._auth_url)
        status, raw, headers = await send(
            self._session,
            "POST",
            self._auth_url,
            what="while requesting a token",
            scrub=self._scrub,
            client_timeout=self._timeout,
            headers={
                "Authorization": self._credentials.basic_auth(),
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            form=form,
        )
        if status != 200:
            error = token_error(status, raw, headers, self._scrub)
            if isinstance(error, RateLimitedError):
                error.retry_after = self._gate.note(error.retry_after)
            raise error
        try:
            token = TokenResponse.from_dict(decode_json(raw, "token response"))
        except InvalidResponseError as err:
            # A proxy's HTML page or a broken answer says nothing about the credentials.
            raise InvalidResponseError(
                f"The identity server sent an unusable token response ({err.message})",
                status=status,
            ) from None
        lifetime = token.expires_in if token.expires_in and token.expires_in > 0 else None
        lifetime = lifetime or DEFAULT_TOKEN_LIFETIME
        # Renew TOKEN_EXPIRY_MARGIN s early; for very short lifetimes keep at least half of it.
        margin = min(TOKEN_EXPIRY_MARGIN, lifetime / 2)
        self._access_token = token.access_token
        self._refresh_token = token.refresh_token
        self._expires_at = time.monotonic() + lifetime - margin
        self._scrub.add(token.access_token, token.refresh_token)
        _LOGGER.debug("Got a token (grant %s) valid for %.0f s", grant, lifetime)
        return token.access_token
