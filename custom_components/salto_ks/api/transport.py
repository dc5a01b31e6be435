"""How a call of the Connect API is sent: the bearer token, one 401 renewal, the gate, errors, paging.

``ApiTransport`` is the base of ``SaltoKSClient``: the calls (``client.py``, ``guests.py``) build a path
and a parser; this sends it, renews a rejected token once, closes the Retry-After gate on a 429, turns
an error answer into an exception and follows list pages on the API's own host only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypedDict, TypeVar, Unpack
from urllib.parse import quote

import aiohttp
from yarl import URL

from ._http import Scrubber, api_error, decode_json, send
from .auth import ExternalTokens, TokenManager
from .const import MAX_PAGES, USER_AGENT
from .exceptions import (
    InvalidResponseError,
    RateLimitedError,
    TokenRejectedError,
)
from .memo import ModelMemo
from .pages import list_page
from .ratelimit import RetryGate
from .urls import insecure_reason

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")


class CallOptions(TypedDict, total=False):
    """What a call may add to its method and URL (see ``ApiTransport._request_bytes``)."""

    params: Mapping[str, str] | None
    body: Any
    headers: Mapping[str, str] | None
    locking: bool


def seg(value: str) -> str:
    """Quote one path segment (ids never contain '/', but never let one change the path)."""
    return quote(value, safe="")


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return (url.scheme, url.host, url.port)


class ApiTransport:
    """Sends the calls of one account; ``SaltoKSClient.__init__`` sets what it needs."""

    _session: aiohttp.ClientSession
    _api_base: str
    _api_url: URL
    _timeout: aiohttp.ClientTimeout
    _scrub: Scrubber
    _gate: RetryGate
    _auth: TokenManager | ExternalTokens

    async def _send(
        self,
        method: str,
        url: URL,
        token: str,
        *,
        params: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str] | None,
    ) -> tuple[int, bytes, Mapping[str, str]]:
        self._gate.check()  # a 429 may have arrived while this call waited for its token
        request_headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if headers:
            request_headers.update(headers)
        _LOGGER.debug("%s %s %s", method, url.path, dict(params) if params else "")
        status, raw, resp_headers = await send(
            self._session,
            method,
            url,
            what=f"on {method} {url.path}",
            scrub=self._scrub,
            client_timeout=self._timeout,
            headers=request_headers,
            params=params,
            json_body=body,
        )
        _LOGGER.debug("%s %s answered %s", method, url.path, status)
        return status, raw, resp_headers

    async def _request(
        self, method: str, url: URL, *, parse: bool = True, **call: Unpack[CallOptions]
    ) -> Any:
        """``_request_bytes`` with the body decoded (None when ``parse`` is false)."""
        raw = await self._request_bytes(method, url, **call)
        if not parse:
            return None
        return decode_json(raw, f"{method} {url.path}")

    async def _request_bytes(
        self,
        method: str,
        url: URL,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        locking: bool = False,
    ) -> bytes:
        """Send one call (token, one 401 renewal, the gate, errors) and return its body."""
        if _origin(url) != _origin(self._api_url):
            # Never send the bearer token to another host.
            raise InvalidResponseError(f"Refusing to call another host than {self._api_url.host}")
        self._gate.check()  # before the token too: nothing is sent while Retry-After runs
        token = await self._auth.get_token()
        status, raw, resp_headers = await self._send(
            method, url, token, params=params, body=body, headers=headers
        )
        if status == 401:
            _LOGGER.debug("Token rejected by the API; renewing it once")
            token = await self._auth.renew_rejected(token)
            status, raw, resp_headers = await self._send(
                method, url, token, params=params, body=body, headers=headers
            )
            if status == 401:
                raise TokenRejectedError("The API rejected a freshly issued token", status=401)
        if not 200 <= status < 300:
            error = api_error(status, raw, resp_headers, self._scrub, locking=locking)
            if isinstance(error, RateLimitedError):
                error.retry_after = self._gate.note(error.retry_after)
            raise error
        return raw

    def _url(self, path: str) -> URL:
        return URL(self._api_base + path, encoded=False)

    def _follow(self, link: str) -> URL:
        url = URL(link)
        if not url.is_absolute():
            url = self._api_url.join(url)
        if insecure_reason(url) is not None or _origin(url) != _origin(self._api_url):
            raise InvalidResponseError(
                f"next_page_link points to another host or is not safe ({url.scheme}://{url.host}); "
                "refusing to follow it"
            )
        return url

    async def _get_list(
        self,
        path: str,
        parser: Callable[[object], _T],
        what: str,
        page_size: int | None = None,
        memo: ModelMemo[_T] | None = None,
    ) -> list[_T]:
        """GET a list that is a bare array or ``{items, next_page_link}`` and follow its pages.

        With ``memo`` (whose ``parse`` is then the parser), a page whose body is byte for byte the
        one the same URL gave in the last complete listing is not decoded again: its models are.
        """
        url = self._url(path)
        params: dict[str, str] | None = None
        if page_size is not None:
            if page_size < 1:
                raise ValueError("page_size must be at least 1")
            params = {"$top": str(page_size)}
        result: list[_T] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            raw = await self._request_bytes("GET", url, params=params)
            key = f"{url}|{params}"
            known = memo.known_page(key, raw) if memo is not None else None
            if known is not None:
                items, link = known
            else:
                items, link = list_page(decode_json(raw, f"GET {url.path}"), parser, what)
                if memo is not None:
                    memo.remember_page(key, raw, items, link)
            result.extend(items)
            if link is None:
                return result
            if link in seen:
                raise InvalidResponseError(f"{what} list: next_page_link repeats itself")
            seen.add(link)
            url = self._follow(link)
            params = None
        raise InvalidResponseError(f"{what} list: more than {MAX_PAGES} pages")

    async def _get_memo_list(
        self, path: str, memo: ModelMemo[_T], what: str, page_size: int | None = None
    ) -> list[_T]:
        """``_get_list`` reusing the models of items unchanged since the last complete listing."""
        memo.start()
        result = await self._get_list(path, memo.parse, what, page_size, memo)
        memo.finish()
        return result
