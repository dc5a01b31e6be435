"""Sign-in with a Salto account: OAuth2 authorization code with PKCE, and the token source of such an entry.

Salto's identity server authenticates the client at its token endpoint with HTTP Basic
(``client_id:client_secret``); Home Assistant's ``LocalOAuth2Implementation`` posts the secret in the
form body, so the token request is done here. Failed token requests raise ``ClientResponseError``
(what Home Assistant's OAuth2 flow expects on every supported version).

Home Assistant's versions differ on failures, so the implementation fixes them itself:
- a refresh raises the client's exceptions (``token_request_error``), never Home Assistant's
  ``OAuth2TokenRequestReauthError``: from 2026.x ``OAuth2Session`` starts reauth on that error by
  itself, which would bypass the integration's reauth grace (``errors.py``). A refused refresh token
  (4xx) is an ``AuthenticationError`` (reauth, after the grace), 429 and 5xx are transient;
- a refused client while redeeming the code (a 401, or IdentityServer's 400 ``invalid_client``)
  raises ``ClientRefusedError``, which the config flow turns into one abort: HA 2025.4 tells the
  aborts apart by the status (401: ``oauth_unauthorized``), 2026.x by its own error types, which
  this implementation's token request does not raise (everything would be ``oauth_failed``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any, Final, cast
from urllib.parse import quote

import aiohttp
from aiohttp import ClientError, ClientResponseError
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import (
    LocalOAuth2ImplementationWithPkce,
    OAuth2Session,
)

from .api import (
    AuthenticationError,
    CommunicationError,
    InvalidResponseError,
    RateLimitedError,
    TokenRejectedError,
)
from .api._http import parse_retry_after
from .api.auth import TokenSource
from .api.urls import require_secure_url

_LOGGER = logging.getLogger(__name__)

# Salto's scope for the Connect API plus OpenID and a refresh token (offline_access).
OAUTH_SCOPE: Final = "user_api.full_access openid profile offline_access"
TOKEN_PATH: Final = "/connect/token"  # noqa: S105 - a URL path, not a secret
AUTHORIZE_PATH: Final = "/connect/authorize"
_TOKEN_TIMEOUT: Final = aiohttp.ClientTimeout(total=30)
_MAX_ERROR_CODE: Final = 64


def authorize_url_for(token_url: str) -> str | None:
    """The authorize URL next to an IdentityServer token URL (``…/connect/token``), or None."""
    base = token_url.strip().rstrip("/")
    if not base.endswith(TOKEN_PATH):
        return None
    return base[: -len(TOKEN_PATH)] + AUTHORIZE_PATH


def token_subject(access_token: str) -> str | None:
    """The ``sub`` claim of a JWT access token (not verified: only to tell accounts apart)."""
    parts = access_token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError, RecursionError):
        return None
    if not isinstance(claims, dict):
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) and subject else None


def _error_code(raw: bytes) -> str:
    """The OAuth ``error`` code of an error body (never its description, which may echo input)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return "no error code"
    code = body.get("error") if isinstance(body, dict) else None
    if not isinstance(code, str) or not code.isascii() or not code.replace("_", "").isalnum():
        return "no error code"
    return code[:_MAX_ERROR_CODE]


class ClientRefusedError(Exception):
    """The identity server refused the application credential while a code was redeemed."""


class SaltoOAuth2Implementation(LocalOAuth2ImplementationWithPkce):
    """Authorization code + PKCE (S256) against Salto's identity server, client auth by HTTP Basic."""

    def __init__(
        self,
        hass: HomeAssistant,
        auth_domain: str,
        *,
        client_id: str,
        client_secret: str,
        authorize_url: str,
        token_url: str,
        name: str = "Salto KS",
    ) -> None:
        """Check the URLs the way the client does (https, or http to loopback) and keep them."""
        require_secure_url(authorize_url, "authorize_url")
        require_secure_url(token_url, "token_url")
        super().__init__(
            hass,
            auth_domain,
            client_id,
            authorize_url,
            token_url,
            client_secret,
        )
        self._name = name

    @property
    def name(self) -> str:
        """Name of the application credential this implementation uses."""
        return self._name

    @property
    def extra_authorize_data(self) -> dict[str, Any]:
        """PKCE (from the base class) plus Salto's scope."""
        return {**super().extra_authorize_data, "scope": OAUTH_SCOPE}

    def for_endpoint(self, *, authorize_url: str, token_url: str) -> SaltoOAuth2Implementation:
        """The same credential against another identity server (an entry's or a flow's endpoint)."""
        return SaltoOAuth2Implementation(
            self.hass,
            self.domain,
            client_id=self.client_id,
            client_secret=self.client_secret,
            authorize_url=authorize_url,
            token_url=token_url,
            name=self._name,
        )

    async def async_resolve_external_data(self, external_data: Any) -> dict[str, Any]:
        """Redeem the authorization code; a refused client raises ``ClientRefusedError``."""
        try:
            token: dict[str, Any] = await super().async_resolve_external_data(external_data)
        except ClientResponseError as err:
            if err.status == 401 or err.message == "invalid_client":
                raise ClientRefusedError from None
            raise
        return token

    async def async_refresh_token(self, token: dict[str, Any]) -> dict[str, Any]:
        """Home Assistant's refresh; a failure raises the client's exception for ``errors.py``."""
        try:
            new_token: dict[str, Any] = await super().async_refresh_token(token)
        except (ClientError, TimeoutError) as err:
            raise token_request_error(err) from None
        except (KeyError, TypeError, ValueError):
            # 2025.x reads expires_in unchecked.
            raise InvalidResponseError("The token response has no usable expires_in") from None
        return new_token

    def _basic_auth(self) -> str:
        """HTTP Basic client authentication; id and secret form-encoded first (RFC 6749 2.3.1)."""
        pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
        return "Basic " + base64.b64encode(pair.encode()).decode("ascii")

    async def _token_request(self, data: dict[str, Any]) -> dict[str, Any]:
        """POST the grant with HTTP Basic client authentication; the secret never goes in the body."""
        form = {
            key: str(value)
            for key, value in data.items()
            if key not in ("client_id", "client_secret")
        }
        session = async_get_clientsession(self.hass)
        _LOGGER.debug("Token request (grant %s) to %s", form.get("grant_type"), self.token_url)
        async with session.post(
            self.token_url,
            data=form,
            headers={"Authorization": self._basic_auth(), "Accept": "application/json"},
            timeout=_TOKEN_TIMEOUT,
            allow_redirects=False,  # a redirect would re-post the code or refresh token elsewhere
        ) as resp:
            raw = await resp.read()
            if resp.status != 200:
                code = _error_code(raw)
                _LOGGER.debug("Token request refused: %s %s", resp.status, code)
                raise ClientResponseError(
                    resp.request_info,
                    resp.history,
                    status=resp.status,
                    message=code,
                    headers=resp.headers,
                )
            try:
                token = json.loads(raw)
            except (ValueError, RecursionError):
                token = None
            if not isinstance(token, dict) or not isinstance(token.get("access_token"), str):
                raise ClientResponseError(
                    resp.request_info,
                    resp.history,
                    status=resp.status,
                    message="unusable token response",
                    headers=resp.headers,
                )
        return cast("dict[str, Any]", token)


def token_request_error(err: Exception) -> Exception:
    """The client exception for a failed token request of Home Assistant's OAuth2 session."""
    if isinstance(err, ClientResponseError):
        status = err.status
        if status == 429:
            headers = err.headers
            retry_after = parse_retry_after(headers.get("Retry-After") if headers else None)
            return RateLimitedError(
                "Token refresh rate limited", retry_after=retry_after, status=status
            )
        if 400 <= status < 500:
            return AuthenticationError(
                f"The identity server refused the refresh token ({status}, {err.message})",
                status=status,
                error_code=err.message,
            )
        return CommunicationError(f"Token endpoint answered {status}", status=status)
    return CommunicationError(f"Token refresh failed: {type(err).__name__}")


class EntryTokenSource:
    """Access tokens of an OAuth entry from Home Assistant's OAuth2 session.

    The session refreshes an expired token and writes the new one (with Salto's rotated refresh
    token) into the entry at once; a forced refresh (the API refused the token) marks the stored
    token expired first, so the same session does it.
    """

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, implementation: SaltoOAuth2Implementation
    ) -> None:
        """Bind the source to ``entry`` and its implementation."""
        self._hass = hass
        self._entry = entry
        self._session = OAuth2Session(hass, entry, implementation)

    async def __call__(self, *, force_refresh: bool = False) -> str:
        """A valid access token; raises the client's exceptions when the refresh fails."""
        if force_refresh:
            token = {**self._session.token, "expires_at": 0}
            self._hass.config_entries.async_update_entry(
                self._entry, data={**self._entry.data, "token": token}
            )
        try:
            await self._session.async_ensure_token_valid()
        except (ClientError, TimeoutError) as err:
            raise token_request_error(err) from None
        return str(self._session.token["access_token"])


def static_token_source(access_token: str) -> TokenSource:
    """A token source for one token (the sign-in flow's connection test, which cannot refresh)."""

    async def source(*, force_refresh: bool = False) -> str:
        if force_refresh:
            raise TokenRejectedError("The API rejected a freshly issued token", status=401)
        return access_token

    return source
