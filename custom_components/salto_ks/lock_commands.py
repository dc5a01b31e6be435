"""Remote commands of one lock (opening, locking, office mode): checks before sending, the one-time
password sent, and the client's errors translated for the lock and its IQ.

Used by the lock entity, the office mode switch and the office mode actions, so every command path
follows one rule for the OTP: the code the user typed, else the code Home Assistant computes for the
lock's IQ (otp.py, opt-in), else none, and the cloud's answer then tells what is missing. A
computed code refused with ``otp_invalid`` means the IQ's secret rotated: otp.py stops computing for
that IQ and raises the repair issue, and the error says so; until the IQ is activated again a
command without a typed code is refused here, unsent. An IQ that answered ``otp_blocked`` is
remembered (``OtpBlocks`` in the entry's runtime data) and its commands are refused here, unsent
and naming when the block ends, until it does. A typed code never leaves this module except in
the request's body: not in a log line, an exception or a state.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Final, NoReturn

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from .api import (
    Lock,
    LockUnavailableError,
    OtpBlockedError,
    OtpInvalidError,
    OtpRequiredError,
    PermissionDeniedError,
    SaltoKSError,
)
from .const import DOMAIN
from .coordinator import SaltoRosterCoordinator
from .errors import (
    COMMAND_KEYS,
    LOCKING_KEYS,
    OFFICE_MODE_KEYS,
    action_error,
    raise_if_rate_limited,
    translated_error,
)
from .otp import (
    OtpBlocks,
    async_computed_otp_rejected,
    computed_otp,
    needs_reactivation,
    until_text,
)

# The IQ's one-time code: 5 hexadecimal characters (Salto's apps show it in either case).
OTP_PATTERN: Final = re.compile(r"[0-9a-fA-F]{5}", re.ASCII)
# Salto's 422 wording is undocumented; a whole word keeps "unique" or "IQ-less" text from matching.
_IQ_WORD: Final = re.compile(r"\biq\b", re.IGNORECASE)


def mentions_iq(message: str) -> bool:
    """Whether a 422 "offline" message names the IQ (as a word) rather than the lock."""
    return _IQ_WORD.search(message) is not None


def is_otp(code: object) -> bool:
    """Whether ``code`` has the shape of an IQ's one-time code."""
    return isinstance(code, str) and OTP_PATTERN.fullmatch(code) is not None


@dataclass(frozen=True, slots=True)
class CommandOtp:
    """The OTP a command sends (None: none) and whether Home Assistant computed it."""

    code: str | None
    computed: bool

    def __repr__(self) -> str:
        # Never the code itself: a repr can end up in a log line or a traceback.
        state = "none" if self.code is None else ("computed" if self.computed else "typed")
        return f"CommandOtp(<{state}>)"


class LockCommands:
    """Sends one lock's remote commands and translates their errors (lock and IQ named)."""

    # Made for each command and state write: no instance dict.
    __slots__ = ("coordinator", "lock_id")

    def __init__(self, coordinator: SaltoRosterCoordinator, lock_id: str) -> None:
        """Bind to a lock of the roster."""
        self.coordinator = coordinator
        self.lock_id = lock_id

    @property
    def lock(self) -> Lock | None:
        """The lock as of the last roster poll, None when it left the site."""
        return self.coordinator.data.locks.get(self.lock_id)

    # -- the lock's IQ -------------------------------------------------------------------------

    def iq_id(self) -> str | None:
        """The id of the lock's IQ, None when the lock has none (or left the site)."""
        lock = self.lock
        return lock.iq.id if lock is not None and lock.iq is not None else None

    def iq_name(self) -> str:
        """The lock's IQ as the user knows it (its name, else its id); "IQ" when unknown."""
        if (lock := self.lock) is None or lock.iq is None:
            return "IQ"
        iq = self.coordinator.data.iqs.get(lock.iq.id)
        return (iq.name if iq else lock.iq.name) or lock.iq.id

    def iq_needs_otp(self) -> bool:
        """Whether the lock's IQ asks for a one-time code (``otp_enabled``), as the roster says."""
        if (lock := self.lock) is None or lock.iq is None:
            return False
        iq = self.coordinator.data.iqs.get(lock.iq.id)
        enabled = iq.otp_enabled if iq is not None else None
        return (enabled if enabled is not None else lock.iq.otp_enabled) is True

    def offline_iq_name(self) -> str | None:
        """The name of the lock's IQ when the roster says it is offline, else None."""
        if (lock := self.lock) is None or lock.iq is None:
            return None
        # The IQ listing is fresher than the copy embedded in the lock.
        iq = self.coordinator.data.iqs.get(lock.iq.id)
        if (iq.online if iq is not None else lock.iq.online) is not False:
            return None
        return self.iq_name()

    def otp(self, typed: str | None) -> CommandOtp:
        """The OTP to send: the typed one, else the one computed for the IQ, else none."""
        if typed:
            return CommandOtp(typed, computed=False)
        if self.iq_needs_otp() and (iq_id := self.iq_id()) is not None:
            code = computed_otp(self.coordinator.config_entry, iq_id)
            if code is not None:
                return CommandOtp(code, computed=True)
        return CommandOtp(None, computed=False)

    # -- errors --------------------------------------------------------------------------------

    def placeholders(self, **extra: str) -> dict[str, str]:
        """The message placeholders naming the lock (its name, else its id)."""
        lock = self.lock
        name = (lock.name if lock else None) or self.lock_id
        return {"name": name, **extra}

    def raise_error(self, key: str, err: Exception | None = None, **extra: str) -> NoReturn:
        """Raise the translated error ``key`` naming the lock."""
        raise translated_error(key, self.placeholders(**extra)) from err

    def raise_refused(self, key: str) -> NoReturn:
        """Refuse the caller's input (e.g. a wrong unlock PIN): a translated ServiceValidationError."""
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders=self.placeholders(),
        )

    @property
    def _blocks(self) -> OtpBlocks:
        return self.coordinator.config_entry.runtime_data.otp_blocks

    def _raise_blocked(self, until: datetime, err: Exception | None = None) -> NoReturn:
        self.raise_error("otp_blocked", err, iq=self.iq_name(), until=until_text(until))

    def check_can_command(self) -> None:
        """Fail without a request when the roster already shows the command cannot work."""
        raise_if_rate_limited(self.coordinator.client, self.placeholders())
        if (lock := self.lock) is None:
            self.raise_error("lock_not_found")
        if lock.online is False:
            self.raise_error("lock_offline")
        if (iq_name := self.offline_iq_name()) is not None:
            self.raise_error("iq_offline", iq=iq_name)
        if (until := self._block_end()) is not None:
            self._raise_blocked(until)

    def _block_end(self) -> datetime | None:
        """When the block of the lock's OTP IQ ends, None when it is not blocked."""
        if not self.iq_needs_otp() or (iq_id := self.iq_id()) is None:
            return None
        return self._blocks.blocked_until(iq_id)

    def _raise_if_roster_offline(self, err: SaltoKSError) -> None:
        """Raise iq_offline / lock_offline when the roster says the lock cannot be reached."""
        if (iq_name := self.offline_iq_name()) is not None:
            self.raise_error("iq_offline", err, iq=iq_name)
        if (lock := self.lock) is not None and lock.online is False:
            self.raise_error("lock_offline", err)

    # -- sending -------------------------------------------------------------------------------

    async def async_unlock(self, hass: HomeAssistant, typed_otp: str | None = None) -> None:
        """Open the lock remotely (translated errors)."""
        roster = self.coordinator
        unlock = partial(roster.client.unlock, roster.site_id, self.lock_id)
        await self._async_send(hass, unlock, typed_otp, COMMAND_KEYS)

    async def async_lock(self, hass: HomeAssistant, typed_otp: str | None = None) -> None:
        """Lock remotely; not every lock supports it (translated errors)."""
        roster = self.coordinator
        lock = partial(roster.client.lock, roster.site_id, self.lock_id)
        await self._async_send(hass, lock, typed_otp, LOCKING_KEYS)

    async def async_set_office_mode(
        self, hass: HomeAssistant, on: bool, typed_otp: str | None = None
    ) -> None:
        """Start or end manual office mode, then poll the roster (translated errors).

        A direct poll, not the debounced request: its cooldown would leave the old state showing
        after a quick second toggle.
        """
        roster = self.coordinator
        toggle = partial(roster.client.set_office_mode, roster.site_id, self.lock_id, on)
        await self._async_send(hass, toggle, typed_otp, OFFICE_MODE_KEYS)
        await roster.async_refresh()

    async def _async_send(
        self,
        hass: HomeAssistant,
        send: Callable[[str | None], Awaitable[None]],
        typed_otp: str | None,
        keys: Mapping[type[SaltoKSError], str],
    ) -> None:
        """Check, then ``send(otp)``; the client's errors become translated HomeAssistantErrors.

        ``keys``: the command's error table (errors.py), e.g. LOCKING_KEYS for locking.
        """
        self.check_can_command()
        otp = self.otp(typed_otp)
        if otp.code is None and self._waits_for_reactivation():
            # A command without a code would only be refused: nothing is sent until then.
            self.raise_error("otp_reactivation_required", iq=self.iq_name())
        try:
            await send(otp.code)
        except SaltoKSError as err:
            await self._async_raise(hass, err, otp, keys)

    def _waits_for_reactivation(self) -> bool:
        iq_id = self.iq_id()
        return (
            iq_id is not None
            and self.iq_needs_otp()
            and needs_reactivation(self.coordinator.config_entry, iq_id)
        )

    async def _async_raise(
        self,
        hass: HomeAssistant,
        err: SaltoKSError,
        otp: CommandOtp,
        keys: Mapping[type[SaltoKSError], str],
    ) -> NoReturn:
        entry = self.coordinator.config_entry
        if isinstance(err, OtpBlockedError):
            self._raise_blocked(self._blocks.note_blocked(self.iq_id()), err)
        if isinstance(err, OtpInvalidError) and otp.computed and (iq_id := self.iq_id()):
            # The secret rotated: otp.py stops computing for the IQ and raises the repair issue.
            await async_computed_otp_rejected(hass, entry, iq_id)
            self.raise_error("otp_computed_rejected", err, iq=self.iq_name())
        if isinstance(err, LockUnavailableError | PermissionDeniedError):
            # An offline IQ takes its locks offline with it, so the cloud may blame the lock,
            # and Salto documents 403 ErrorCode 2203 "Operation cannot be executed" for an
            # offline lock or IQ as well as for a missing permission: a roster that has caught
            # up (e.g. polled while the request ran) is the better witness than the wording.
            self._raise_if_roster_offline(err)
        if isinstance(err, LockUnavailableError) and mentions_iq(err.server_message or err.message):
            self.raise_error("iq_offline", err, iq=self.iq_name())
        extra = {"iq": self.iq_name()} if isinstance(err, OtpRequiredError) else {}
        raise action_error(
            err,
            hass=hass,
            entry=entry,
            grace=self.coordinator,
            keys=keys,
            placeholders=self.placeholders(**extra),
        ) from err
