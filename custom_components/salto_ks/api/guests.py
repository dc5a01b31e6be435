"""Guest-access calls of the Connect API, mixed into ``SaltoKSClient``: guests and user removal,
the PIN, keys, access groups with their locks, time schedules and members, the subscription.

Kept apart from ``client.py`` (the roster, lock, OTP and audit calls; ``transport.py`` sends them all) because they are one
idea: who may enter. The PIN a call returns is a secret: it is never logged, and no error message
here holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from .exceptions import InvalidResponseError
from .models import AccessGroup, Guest, Lock, Subscription, TimeSchedule, UserKey
from .transport import ApiTransport, seg

PIN_LENGTHS = range(4, 13)


def api_time(when: datetime) -> str:
    """``when`` (naive = UTC) as the API's ``YYYY-MM-DDTHH:MM:SSZ``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_pin(body: object) -> str:
    """The PIN of ``PUT …/pin``: a bare JSON string of digits (the value never enters an error)."""
    if not isinstance(body, str) or not body.isdigit() or len(body) not in PIN_LENGTHS:
        raise InvalidResponseError("PUT pin: expected a JSON string of 4-12 digits")
    return body


class GuestAccessCalls(ApiTransport):
    """Guest-access calls, sent by ``ApiTransport``."""

    def _site(self, site_id: str, version: str = "v1.2") -> str:
        return f"/{version}/sites/{seg(site_id)}"

    async def create_guest(self, site_id: str, alias: str, expires_at: datetime) -> Guest:
        """``POST …/guests {alias, expires_at}``; with no seat left the guest comes back suspended."""
        body = {"alias": alias, "expires_at": api_time(expires_at)}
        answer = await self._request("POST", self._url(self._site(site_id) + "/guests"), body=body)
        return Guest.from_dict(answer)

    async def delete_user(self, site_id: str, site_user_id: str) -> None:
        """``DELETE …/users/{id}`` (the site-user id): frees the seat."""
        url = self._url(f"{self._site(site_id)}/users/{seg(site_user_id)}")
        await self._request("DELETE", url, parse=False)

    async def set_pin(
        self, site_id: str, site_user_id: str, expiry_date: datetime | None = None
    ) -> str:
        """``PUT …/users/{id}/pin``: a new PIN that Salto generates (a secret: never log it)."""
        body = {} if expiry_date is None else {"expiry_date": api_time(expiry_date)}
        url = self._url(f"{self._site(site_id)}/users/{seg(site_user_id)}/pin")
        return parse_pin(await self._request("PUT", url, body=body))

    async def get_keys(self, site_id: str, site_user_id: str) -> list[UserKey]:
        """``GET …/users/{id}/keys``."""
        path = f"{self._site(site_id)}/users/{seg(site_user_id)}/keys"
        return await self._get_list(path, UserKey.from_dict, "key")

    async def get_access_groups(self, site_id: str) -> list[AccessGroup]:
        """Every access group of a site."""
        path = self._site(site_id) + "/access_groups"
        return await self._get_list(path, AccessGroup.from_dict, "access group")

    async def get_access_group_locks(self, site_id: str, group_id: str) -> list[Lock]:
        """The locks of an access group."""
        path = f"{self._site(site_id)}/access_groups/{seg(group_id)}/locks"
        return await self._get_list(path, Lock.from_dict, "access group lock")

    async def get_time_schedules(self, site_id: str, group_id: str) -> list[TimeSchedule]:
        """An access group's time schedules (a v1.1 resource); none: the group grants nothing."""
        path = f"{self._site(site_id, 'v1.1')}/access_groups/{seg(group_id)}/time_schedules"
        return await self._get_list(path, TimeSchedule.from_dict, "time schedule")

    async def add_access_group_user(self, site_id: str, group_id: str, user_id: str) -> None:
        """Add a member by its **platform** user id (``Guest.user_id``), not the site-user id."""
        url = self._url(f"{self._site(site_id)}/access_groups/{seg(group_id)}/users")
        await self._request("POST", url, body={"user_id": user_id}, parse=False)

    async def remove_access_group_user(self, site_id: str, group_id: str, user_id: str) -> None:
        """Remove a member (platform user id)."""
        path = f"{self._site(site_id)}/access_groups/{seg(group_id)}/users/{seg(user_id)}"
        await self._request("DELETE", self._url(path), parse=False)

    async def get_subscription(self, site_id: str) -> Subscription:
        """``GET …/subscription``: seats and features (``custom_pin`` …)."""
        answer = await self._request("GET", self._url(self._site(site_id) + "/subscription"))
        return Subscription.from_dict(answer)

    async def site_pins_enabled(self, site_id: str) -> bool | None:
        """The site's ``pin_enabled`` flag (None when the site object does not say)."""
        answer = await self._request("GET", self._url(self._site(site_id)))
        if not isinstance(answer, Mapping):
            raise InvalidResponseError("site: expected a JSON object")
        value = answer.get("pin_enabled")
        return value if isinstance(value, bool) else None
