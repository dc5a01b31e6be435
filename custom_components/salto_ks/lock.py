"""Lock entities of Salto KS: remote opening (unlock/open) and remote locking.

State: ``locked`` → locked; ``unlocked`` and ``office_mode`` → unlocked (office mode has its own binary sensor);
``none``, ``uncertain`` and values Salto adds later → unknown. After a successful opening the lock shows
unlocked (``lock.unlock``) or open (``lock.open``) for the ``released_state`` option; then the roster is
polled and the lock shows the state that poll reports (nothing in between).

Unlock PIN: when the ``pin_hash`` option is set (options flow, see pin.py), the entity has a
``code_format`` (4-12 digits), so Home Assistant itself refuses a missing code or one of another shape,
and ``lock.unlock``, ``lock.open`` and ``lock.lock`` check the code against the hash before any request
(``salto_ks.unlock`` calls ``async_check_code`` for every target first). A wrong code raises a translated
``ServiceValidationError`` (``wrong_pin``, naming the lock like every other message) and logs a warning
naming the entity, never the code.

One-time password (OTP): a lock behind an IQ with ``otp_enabled`` takes the IQ's 5-character code as
its ``code`` (``code_format`` says so, so the UI prompts). The code may stay empty: then the code
Home Assistant computes for the IQ is sent (otp.py, opt-in), else none and the cloud's refusal says
a code is needed. With the unlock PIN set as well, the code is the PIN, optionally followed directly
by the OTP (``1234`` + ``a1b2c`` = ``1234a1b2c``): the whole code is tried as the PIN first, else its
last 5 characters are the OTP and the rest the PIN. lock_commands.py sends the commands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from homeassistant.components.lock import LockEntity, LockEntityFeature
from homeassistant.const import ATTR_CODE
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_call_later

from .api import Lock, LockedState
from .audit import SaltoAuditCoordinator
from .const import (
    CONF_PIN_HASH,
    CONF_RELEASED_STATE,
    DEFAULT_RELEASED_STATE,
    DOMAIN,
    LOGGER,
    PIN_CODE_FORMAT,
)
from .coordinator import SaltoConfigEntry, SaltoRosterCoordinator
from .entity import LOCK, SaltoEntity, async_add_device_entities
from .lock_commands import LockCommands, is_otp, mentions_iq
from .pin import is_valid_pin, verify_pin

# Commands go to the cloud one at a time.
PARALLEL_UPDATES = 1


# What HA shows after a successful remote opening, until released_state runs out.
RELEASED_UNLOCKED: Final = "unlocked"
RELEASED_OPEN: Final = "open"

# code_format behind an OTP IQ: the code may stay empty (a computed code, or the cloud's refusal).
OTP_CODE_FORMAT: Final = "^(?:[0-9a-fA-F]{5})?$"
# ... and with the unlock PIN: the PIN, optionally followed by the OTP.
PIN_OTP_CODE_FORMAT: Final = "^[0-9]{4,12}(?:[0-9a-fA-F]{5})?$"
_OTP_LENGTH: Final = 5

__all__ = ["SaltoLock", "mentions_iq"]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SaltoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a lock entity for every lock, now and whenever new ones appear."""
    coordinator = entry.runtime_data.roster
    released_state = float(entry.options.get(CONF_RELEASED_STATE, DEFAULT_RELEASED_STATE))
    pin_hash: str | None = entry.options.get(CONF_PIN_HASH) or None
    audit = entry.runtime_data.audit
    async_add_device_entities(
        entry,
        async_add_entities,
        LOCK,
        lambda lock_id: [SaltoLock(coordinator, lock_id, released_state, pin_hash, audit)],
    )


class SaltoLock(SaltoEntity[Lock], LockEntity):
    """A Salto KS lock; the device's main entity."""

    _attr_name = None
    _attr_supported_features = LockEntityFeature.OPEN

    def __init__(
        self,
        coordinator: SaltoRosterCoordinator,
        lock_id: str,
        released_state: float,
        pin_hash: str | None = None,
        audit: SaltoAuditCoordinator | None = None,
    ) -> None:
        """Initialise the lock entity.

        ``pin_hash``: the unlock PIN option, None when unset; ``audit``: the access log that names
        ``changed_by``, None when the audit loop is off.
        """
        super().__init__(coordinator, LOCK, lock_id, None)
        self.lock_id = lock_id
        # The options flow reloads the entry when the PIN changes, so this never goes stale.
        self._pin_hash = pin_hash
        self._released_state = released_state
        self._released: str | None = None
        # Counts releases ended early, so a poll finishing late leaves a newer state alone.
        self._release_id = 0
        self._cancel_release: CALLBACK_TYPE | None = None
        self._audit = audit

    @property
    def commands(self) -> LockCommands:
        """The lock's remote commands (made when used: a site keeps none per lock)."""
        return LockCommands(self.coordinator, self.lock_id)

    @property
    def salto_lock(self) -> Lock | None:
        """The lock as of the last roster poll, None when it left the site."""
        return self.device

    async def async_added_to_hass(self) -> None:
        """Follow the roster and the audit feed."""
        await super().async_added_to_hass()
        # changed_by: the person of the latest opening in the access log. The audit coordinator keeps
        # it in its Store, so it survives a restart; without the audit loop it stays None.
        if self._audit is not None:
            self._audit.openings.async_add(self.lock_id, self)

    async def async_will_remove_from_hass(self) -> None:
        """Cancel a pending release timer; stop following the audit feed."""
        self._async_cancel_release()
        if self._audit is not None:
            self._audit.openings.async_remove(self.lock_id, self)
        await super().async_will_remove_from_hass()

    @property
    def changed_by(self) -> str | None:
        """The person of the lock's latest opening in the access log (None: nobody named)."""
        return None if self._audit is None else self._audit.changed_by(self.lock_id)

    # -- state ---------------------------------------------------------------------------------

    @property
    def is_locked(self) -> bool | None:
        """Locked, unlocked (incl. office mode), or None (unknown) for none/uncertain/new values."""
        if self._released is not None:
            return False
        if (lock := self.salto_lock) is None:
            return None
        if lock.locked_state == LockedState.LOCKED:
            return True
        if lock.locked_state in (LockedState.UNLOCKED, LockedState.OFFICE_MODE):
            return False
        return None

    @property
    def is_open(self) -> bool:
        """Open after a ``lock.open`` until the released time runs out."""
        return self._released == RELEASED_OPEN

    # -- actions -------------------------------------------------------------------------------

    @property
    def code_format(self) -> str | None:
        """The unlock PIN's format, the OTP's behind an OTP IQ (may stay empty), or both."""
        if self.commands.iq_needs_otp():
            return PIN_OTP_CODE_FORMAT if self._pin_hash else OTP_CODE_FORMAT
        return PIN_CODE_FORMAT if self._pin_hash else None

    @property
    def pin_hash(self) -> str | None:
        """The stored hash of the unlock PIN (never a state attribute), None when no PIN is set."""
        return self._pin_hash

    async def _async_is_pin(self, code: str) -> bool:
        assert self._pin_hash is not None
        return is_valid_pin(code) and await self.hass.async_add_executor_job(
            verify_pin, self._pin_hash, code
        )

    async def async_check_code(self, code: str | None) -> None:
        """Refuse a command unless no PIN is set or ``code`` is the PIN (translated, logged).

        The warning names the entity only; neither the code nor anything derived from it is logged
        or put into the exception.
        """
        if self._pin_hash is None:
            return
        if isinstance(code, str) and await self._async_is_pin(code):
            return
        LOGGER.warning("Refused a command on %s: wrong or missing unlock PIN", self.entity_id)
        self.commands.raise_refused("wrong_pin")

    async def async_typed_otp(self, code: str | None) -> str | None:
        """Check the unlock PIN in a lock entity's ``code``; return the OTP typed with it, if any.

        Without an OTP IQ the code is the PIN alone. Behind one, without a PIN the code is the OTP
        (or empty); with a PIN it is the PIN, optionally followed by the OTP.
        """
        if not self.commands.iq_needs_otp():
            await self.async_check_code(code)
            return None
        if self._pin_hash is None:
            return code if is_otp(code) else None
        if isinstance(code, str) and len(code) > _OTP_LENGTH and is_otp(code[-_OTP_LENGTH:]):
            if await self._async_is_pin(code):
                return None
            await self.async_check_code(code[:-_OTP_LENGTH])
            return code[-_OTP_LENGTH:]
        await self.async_check_code(code)
        return None

    async def async_unlock(self, **kwargs: Any) -> None:
        """Open the lock remotely; HA shows it unlocked for the released time."""
        otp = await self.async_typed_otp(kwargs.get(ATTR_CODE))
        await self._async_open(RELEASED_UNLOCKED, otp=otp)

    async def async_open(self, **kwargs: Any) -> None:
        """Open the lock remotely; HA shows it open for the released time."""
        otp = await self.async_typed_otp(kwargs.get(ATTR_CODE))
        await self._async_open(RELEASED_OPEN, otp=otp)

    async def async_unlock_for(self, seconds: float, otp: str | None = None) -> None:
        """Open the lock remotely (``salto_ks.unlock``); HA shows it unlocked for ``seconds``.

        The physical open time is the lock's own Salto KS setting; ``seconds`` only sets what HA shows.
        The caller checks the PIN first (``async_check_code``), for every target before opening any.
        """
        await self._async_open(RELEASED_UNLOCKED, seconds, otp)

    async def async_lock(self, **kwargs: Any) -> None:
        """Lock remotely (not every lock supports it), then refresh the roster."""
        otp = await self.async_typed_otp(kwargs.get(ATTR_CODE))
        await self.commands.async_lock(self.hass, otp)
        self._async_cancel_release()
        self.async_write_ha_state()
        await self.coordinator.async_request_refresh()

    async def async_set_office_mode(self, on: bool, otp: str | None = None) -> None:
        """Start or end manual office mode (the caller checks the PIN); the roster is polled."""
        await self.commands.async_set_office_mode(self.hass, on, otp)
        self._async_cancel_release()
        self.async_write_ha_state()

    async def _async_open(
        self, released: str, seconds: float | None = None, otp: str | None = None
    ) -> None:
        await self.commands.async_unlock(self.hass, otp)
        self._async_cancel_release()
        self._released = released
        self._cancel_release = async_call_later(
            self.hass,
            self._released_state if seconds is None else seconds,
            self._async_release_expired,
        )
        self.async_write_ha_state()

    @callback
    def _async_release_expired(self, _now: datetime) -> None:
        self._cancel_release = None
        self.coordinator.config_entry.async_create_task(
            self.hass, self._async_end_release(self._release_id), f"{DOMAIN} release ended"
        )

    async def _async_end_release(self, release_id: int) -> None:
        """Poll the roster, then leave the released state: one write, the polled state.

        The cached roster predates the opening; writing it first and the poll a moment later would
        flap (unlocked → locked → unlocked, a false "locked" trigger). A direct poll rather than the
        debounced request, which may wait out a 10 s cooldown after an earlier poll.
        """
        await self.coordinator.async_refresh()
        if release_id != self._release_id:
            return  # a new opening, a lock command or the entity's removal came meanwhile
        self._released = None
        self.async_write_ha_state()

    @callback
    def _async_cancel_release(self) -> None:
        if self._cancel_release is not None:
            self._cancel_release()
            self._cancel_release = None
        self._released = None
        self._release_id += 1
