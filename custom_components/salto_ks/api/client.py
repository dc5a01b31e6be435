"""Asynchronous client of the Salto KS Connect API."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator, Iterable, Mapping
from contextlib import aclosing
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from ._http import Scrubber
from .auth import Credentials, ExternalTokens, TokenManager, TokenSource
from .const import (
    CONTINUATION_HEADER,
    DEFAULT_REQUEST_TIMEOUT,
    ENTRIES_PATHS,
    MAX_ENTRIES_LIMIT,
    MAX_PAGES,
    PRODUCTION_API,
    PRODUCTION_AUTH_URL,
)
from .exceptions import (
    InvalidResponseError,
    NotFoundError,
    SaltoKSError,
)
from .fields import WEEKDAYS
from .guests import GuestAccessCalls
from .memo import ModelMemo
from .models import Entry, Iq, IqActivation, Lock, Site, SiteUser
from .otp import ACTIVATION_DELTA, is_iq_secret
from .pages import entries_page
from .ratelimit import RetryGate
from .transport import seg
from .urls import require_secure_url

_LOGGER = logging.getLogger(__name__)
_VERSION_SUFFIX = re.compile(r"/v\d+(?:\.\d+)?/*$")
_T = TypeVar("_T")


def _normalise_api_base(api_base: str) -> str:
    base = api_base.strip().rstrip("/")
    return _VERSION_SUFFIX.sub("", base).rstrip("/")


def _filter_stamp(when: datetime) -> str:
    """``when`` (naive = UTC) as the entries filter's literal, in whole seconds (rounded down)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _no_such_route(err: NotFoundError) -> bool:
    """A 404 without a Connect error body: the path does not exist (not an unknown id)."""
    # An RFC 7807 problem ({"status": 404, "title": …}) names only the status.
    return err.error_code is None or err.error_code == str(err.status)


class SaltoKSClient(GuestAccessCalls):
    """Client of the Salto KS Connect API (guest-access calls in ``guests.py``, sending in ``transport.py``).

    The aiohttp session is injected and never closed by the client. With ``username`` and ``password`` the
    password grant is used, without them client_credentials; with ``token_source`` the tokens come from
    the caller (e.g. an OAuth2 authorization-code sign-in) and no client credentials are needed: a 401
    asks it for a refreshed token once. ``retry_gate`` is the Retry-After gate to
    honour and close: pass one gate to every client of one account (an integration passes one per config
    entry, kept across reloads) so that none of them sends before a 429's deadline.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_base: str = PRODUCTION_API,
        auth_url: str = PRODUCTION_AUTH_URL,
        client_id: str = "",
        client_secret: str = "",
        username: str | None = None,
        password: str | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        retry_gate: RetryGate | None = None,
        token_source: TokenSource | None = None,
    ) -> None:
        if request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        self._session = session
        self._api_base = _normalise_api_base(api_base)
        self._api_url = require_secure_url(self._api_base, "api_base")
        self._auth_url = auth_url
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._scrub = Scrubber()
        # One gate for the API and the identity server: a 429 from either stops every request.
        self._gate = retry_gate or RetryGate("Salto KS cloud")
        self._auth: TokenManager | ExternalTokens
        if token_source is not None:
            require_secure_url(auth_url, "auth_url")
            self._auth = ExternalTokens(token_source, scrubber=self._scrub, gate=self._gate)
        elif not client_id:
            raise ValueError("client_id is required without a token_source")
        else:
            self._auth = TokenManager(
                session,
                Credentials(client_id, client_secret, username, password),
                auth_url=auth_url,
                request_timeout=request_timeout,
                scrubber=self._scrub,
                gate=self._gate,
            )
        self._entries_path: str | None = None
        self._lock_memo = ModelMemo(Lock.from_dict)
        self._iq_memo = ModelMemo(Iq.from_dict)

    def __repr__(self) -> str:
        return (
            f"SaltoKSClient(api_base={self._api_base!r}, auth_url={self._auth_url!r}, "
            f"grant_type={self._auth.grant_type!r})"
        )

    @property
    def api_base(self) -> str:
        """The API host root (without version path)."""
        return self._api_base

    @property
    def auth_url(self) -> str:
        """The token endpoint URL."""
        return self._auth_url

    def retry_after_remaining(self) -> float | None:
        """Seconds before Salto's Retry-After lets a call be sent (calls raise ``RateLimitedError``
        unsent until then), or None when a call may be sent now."""
        return self._gate.remaining()

    # --- authentication -------------------------------------------------------------------------

    async def authenticate(self, force: bool = False) -> None:
        """Get a token now (or reuse the cached one unless ``force``); raises on refused credentials."""
        await self._auth.get_token(force=force)

    async def access_token(self, force_refresh: bool = False) -> str:
        """A valid access token for another channel of this account (the event stream).

        The cached token unless it is about to expire (or ``force_refresh``: after the channel
        refused it). Raises ``RateLimitedError`` unsent while Retry-After runs, and what
        ``authenticate`` raises.
        """
        self._gate.check()
        return await self._auth.get_token(force=force_refresh)

    @property
    def retry_gate(self) -> RetryGate:
        """The account's Retry-After gate (other channels of the account ask and close it too)."""
        return self._gate

    def invalidate_token(self) -> None:
        """Drop the cached token and refresh token."""
        self._auth.invalidate()

    # --- transport ------------------------------------------------------------------------------

    # --- calls ----------------------------------------------------------------------------------

    async def get_sites(self) -> list[Site]:
        """Sites visible to the user."""
        return await self._get_list("/v1.2/sites", Site.from_dict, "site")

    async def get_locks(self, site_id: str, page_size: int | None = None) -> list[Lock]:
        """Every lock of a site (follows ``next_page_link``; ``page_size`` sets ``$top``)."""
        return await self._get_memo_list(
            f"/v1.2/sites/{seg(site_id)}/locks", self._lock_memo, "lock", page_size
        )

    async def get_iqs(self, site_id: str) -> list[Iq]:
        """Every IQ of a site."""
        return await self._get_memo_list(f"/v1.2/sites/{seg(site_id)}/iqs", self._iq_memo, "iq")

    async def get_users(self, site_id: str, page_size: int | None = None) -> list[SiteUser]:
        """Every user of a site."""
        return await self._get_list(
            f"/v1.2/sites/{seg(site_id)}/users", SiteUser.from_dict, "site user", page_size
        )

    async def _set_locked_state(
        self, site_id: str, lock_id: str, state: str, otp: str | None = None
    ) -> None:
        body: dict[str, str] = {"locked_state": state}
        if otp is not None:
            body["otp"] = otp
        await self._request(
            "PATCH",
            self._url(f"/v1.2/sites/{seg(site_id)}/locks/{seg(lock_id)}/locking"),
            body=body,
            parse=False,
            locking=True,
        )

    async def unlock(self, site_id: str, lock_id: str, otp: str | None = None) -> None:
        """Open a lock remotely (it relocks by itself after its open time)."""
        await self._set_locked_state(site_id, lock_id, "unlocked", otp)

    async def lock(self, site_id: str, lock_id: str, otp: str | None = None) -> None:
        """Lock a lock remotely (not every lock supports it); also ends office mode."""
        await self._set_locked_state(site_id, lock_id, "locked", otp)

    async def set_office_mode(
        self, site_id: str, lock_id: str, on: bool, otp: str | None = None
    ) -> None:
        """Start (``office_mode``) or end (``locked``) a lock's manual office mode.

        Needs the user right ``toggle_manual_office_mode`` (else 403, ``PermissionDeniedError``) and,
        behind an OTP IQ, ``otp``, as an opening does.
        """
        await self._set_locked_state(site_id, lock_id, "office_mode" if on else "locked", otp)

    def _eom_url(self, site_id: str, lock_id: str) -> URL:
        return self._url(
            f"/v1.1/sites/{seg(site_id)}/locks/{seg(lock_id)}/easy_office_mode_schedule"
        )

    async def set_easy_office_mode_schedule(
        self,
        site_id: str,
        lock_id: str,
        *,
        days: Iterable[str],
        auto_start: bool = False,
        start_time: time | None = None,
        end_time: time | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
    ) -> None:
        """Set a lock's easy office mode schedule (``PUT …/easy_office_mode_schedule``).

        ``days``: weekday names (``"monday"`` …), at least one. Times and dates left out are left
        out of the body: no times = any hour, no dates = until removed (Salto's documented meaning).
        ``auto_start``: the lock opens at ``start_time`` by itself. Bad arguments raise ValueError.
        """
        wanted = set(days)
        if not wanted or not wanted <= set(WEEKDAYS):
            raise ValueError(f"days must be one or more of {', '.join(WEEKDAYS)}")
        if (start_time is None) != (end_time is None):
            raise ValueError("start_time and end_time go together")
        if start_time is not None and end_time is not None and start_time >= end_time:
            raise ValueError("start_time must be before end_time")
        if start_date is not None and end_date is not None and start_date > end_date:
            raise ValueError("start_date must not be after end_date")
        body: dict[str, Any] = {"eom_auto_start": auto_start}
        body.update({day: day in wanted for day in WEEKDAYS})
        if start_time is not None and end_time is not None:
            body["start_time"] = start_time.replace(microsecond=0).isoformat()
            body["end_time"] = end_time.replace(microsecond=0).isoformat()
        if start_date is not None:
            body["start_date"] = f"{start_date.isoformat()}T00:00:00"
        if end_date is not None:
            body["end_date"] = f"{end_date.isoformat()}T23:59:59"
        await self._request("PUT", self._eom_url(site_id, lock_id), body=body, parse=False)

    async def clear_easy_office_mode_schedule(self, site_id: str, lock_id: str) -> None:
        """Remove a lock's easy office mode schedule.

        The record shows no call that removes one; this sends ``DELETE`` on the schedule's path
        (the REST convention), which a real cloud may refuse.
        """
        await self._request("DELETE", self._eom_url(site_id, lock_id), parse=False)

    # --- IQ activation (the OTP secret and PIN; not documented by Salto, see api/otp.py) ------

    def _iq_url(self, site_id: str, iq_id: str, leaf: str) -> URL:
        return self._url(f"/v1.2/sites/{seg(site_id)}/iqs/{seg(iq_id)}/{leaf}")

    async def get_iq_secret(self, site_id: str, iq_id: str) -> str:
        """The caller's OTP secret of an IQ; the cloud hands it out only before the caller's activation.

        After the activation the cloud refuses (403 ErrorCode 2203, ``PermissionDeniedError``). The
        secret is remembered as a secret: it never appears in an exception or a log line of this client.
        """
        body = await self._request("GET", self._iq_url(site_id, iq_id, "secret"))
        # The record names the 16 characters, not the envelope: a bare string or an object.
        secret = body.get("secret") if isinstance(body, Mapping) else body
        if not is_iq_secret(secret):
            raise InvalidResponseError(
                "iq secret: the answer holds no secret of the expected shape"
            )
        assert isinstance(secret, str)
        self._scrub.add(secret)
        return secret

    async def send_iq_pin_email(self, site_id: str, iq_id: str) -> None:
        """Ask the cloud to mail the caller's 4-digit IQ PIN to the caller's address (204)."""
        await self._request(
            "GET",
            self._iq_url(site_id, iq_id, "pin"),
            params={"send_email": "true"},
            parse=False,
        )

    async def activate_iq(self, site_id: str, iq_id: str, otp: str) -> None:
        """Activate the caller on an IQ with a code computed from its secret and PIN (204).

        A refused code raises ``OtpRequiredError`` (400/403 ErrorCode 3102) as the locking call does.
        """
        self._scrub.add(otp)
        await self._request(
            "PUT",
            self._iq_url(site_id, iq_id, "pin"),
            body={"otp": otp, "delta": ACTIVATION_DELTA},
            parse=False,
            locking=True,
        )

    async def get_activated_iqs(self, site_id: str) -> list[IqActivation]:
        """The caller's activations on the IQs of a site."""
        return await self._get_list(
            f"/v1.2/me/{seg(site_id)}/activated_iqs", IqActivation.from_dict, "activated iq"
        )

    async def get_entries(
        self,
        site_id: str,
        since: datetime | None = None,
        limit: int = 50,
        page_size: int | None = None,
    ) -> list[Entry]:
        """The newest ``limit`` (1-200) entries (audit trail) of a site, newest first, optionally since a time.

        A naive ``since`` is taken as UTC; the filter has whole seconds, so ``since`` is rounded down and
        rows up to a second before it may come back. ``page_size`` sets ``$top`` (default ``limit``).
        """
        if not 1 <= limit <= MAX_ENTRIES_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_ENTRIES_LIMIT}")
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be at least 1")
        entries: list[Entry] = []
        pages = self.entry_pages(site_id, since, min(page_size or limit, limit))
        async with aclosing(pages):
            async for page in pages:
                entries.extend(page)
                if len(entries) >= limit:
                    break
        return entries[:limit]

    async def entry_pages(
        self, site_id: str, since: datetime | None = None, page_size: int = MAX_ENTRIES_LIMIT
    ) -> AsyncGenerator[list[Entry]]:
        """Pages of a site's entries, newest first (a page may be empty); stop reading with ``break``.

        A caller that breaks early should iterate inside ``contextlib.aclosing(...)`` so the generator
        is closed at once rather than by the garbage collector (a task the event loop creates).

        ``page_size`` (1-200) sets ``$top``; ``since`` as for ``get_entries``. Follows the continuation
        token until there is none; a token that repeats itself (warning) or ``MAX_PAGES`` pages end it.
        The first page falls back to the legacy ``audit-trails`` and ``audit/log`` paths when
        ``entries`` answers a bare 404 (the route does not exist; a 404 with a Connect error body,
        e.g. an unknown site, is raised), and the path that works is remembered.
        """
        if not 1 <= page_size <= MAX_ENTRIES_LIMIT:
            raise ValueError(f"page_size must be between 1 and {MAX_ENTRIES_LIMIT}")
        params = {"$orderby": "utc_date_time desc", "$top": str(page_size)}
        if since is not None:
            params["$filter"] = f"utc_date_time ge DateTime'{_filter_stamp(since)}'"
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            entries, token = entries_page(await self._entries_body(site_id, params, token))
            yield entries
            if token is None:
                return
            if token in seen:
                _LOGGER.warning("The entries continuation token repeats itself; stopping")
                return
            seen.add(token)
        _LOGGER.warning("Stopped reading entries after %s pages", MAX_PAGES)

    def _entries_url(self, site_id: str, path: str) -> URL:
        return self._url(f"/v1.1/sites/{seg(site_id)}/{path}")

    async def _entries_body(
        self, site_id: str, params: Mapping[str, str], token: str | None
    ) -> Any:
        """One entries page: the next one of the path in use, or the first one of the path that answers."""
        if token is not None and self._entries_path is not None:
            url = self._entries_url(site_id, self._entries_path)
            return await self._request(
                "GET", url, params=params, headers={CONTINUATION_HEADER: token}
            )
        paths = (self._entries_path,) if self._entries_path else ENTRIES_PATHS
        first_error: SaltoKSError | None = None
        for path in paths:
            try:
                body = await self._request("GET", self._entries_url(site_id, path), params=params)
            except NotFoundError as err:
                if not _no_such_route(err):
                    raise
                _LOGGER.debug("Entries path %s does not exist here", path)
                first_error = first_error or err
                continue
            if path != self._entries_path:
                _LOGGER.debug("Using entries path %s", path)
                self._entries_path = path
            return body
        assert first_error is not None
        raise first_error
