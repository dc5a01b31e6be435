"""OTPs Home Assistant computes itself for the IQs the entry's KS user was activated on (opt-in).

The repair flow in repairs.py activates the user on an OTP IQ and stores the IQ secret and PIN in the
entry's data (``CONF_OTP_ACTIVATIONS``); from then on ``computed_otp`` gives the code of the current
second (api/otp.py: undocumented, proven at a real door). The secret and PIN never reach a log line,
an exception, a state or diagnostics (diagnostics.py redacts the whole mapping); they go with the entry.

Activating the same KS user in the Salto app rotates the secret: computed codes then fail with
``otp_invalid``. ``async_computed_otp_rejected`` marks the activation rotated at the first refusal, so
no further code is sent (a second one would only count towards ``otp_blocked``) and raises the repair
issue to activate again. One roster listener keeps one repair issue per OTP IQ in step with the entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .api.otp import compute_otp, is_iq_pin, is_iq_secret
from .const import CONF_OTP_ACTIVATIONS, DOMAIN, LOGGER
from .issues import (
    IQ_ISSUES,
    ISSUE_OTP_ACTIVATION,
    ISSUE_OTP_REACTIVATION,
    async_create_iq_issue,
    async_delete_iq_issues,
    iq_issue_id,
)

_SECRET: Final = "secret"  # noqa: S105 - a key name
_PIN: Final = "pin"
_ROTATED: Final = "rotated"
# Salto: "too many wrong codes" blocks the IQ's codes for 20 minutes.
OTP_BLOCK_DURATION: Final = timedelta(minutes=20)


def _activations(entry: ConfigEntry) -> Mapping[str, Any]:
    value = entry.data.get(CONF_OTP_ACTIVATIONS)
    return value if isinstance(value, Mapping) else {}


def _activation(entry: ConfigEntry, iq_id: str) -> Mapping[str, Any] | None:
    value = _activations(entry).get(iq_id)
    if not isinstance(value, Mapping):
        return None
    if not is_iq_secret(value.get(_SECRET)) or not is_iq_pin(value.get(_PIN)):
        return None
    return value


def has_activation(entry: ConfigEntry, iq_id: str) -> bool:
    """Whether the entry holds an activation for the IQ (usable or waiting for re-activation)."""
    return _activation(entry, iq_id) is not None


def needs_reactivation(entry: ConfigEntry, iq_id: str) -> bool:
    """Whether a computed code for the IQ was refused (the secret rotated) and no new one is stored."""
    activation = _activation(entry, iq_id)
    return activation is not None and activation.get(_ROTATED) is True


def computed_otp(entry: ConfigEntry, iq_id: str) -> str | None:
    """The code valid now for the IQ, or None when Home Assistant cannot compute one.

    None when the entry holds no activation for the IQ or the activation waits for re-activation.
    """
    activation = _activation(entry, iq_id)
    if activation is None or activation.get(_ROTATED) is True:
        return None
    return compute_otp(activation[_SECRET], activation[_PIN], dt_util.utcnow())


def _write_activations(
    hass: HomeAssistant, entry: ConfigEntry, activations: Mapping[str, Any]
) -> None:
    # Only entry.data changes: the update listener reloads on options changes only.
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_OTP_ACTIVATIONS: dict(activations)}
    )


@callback
def async_store_activation(
    hass: HomeAssistant, entry: ConfigEntry, iq_id: str, secret: str, pin: str
) -> None:
    """Keep the secret and PIN of an activation the cloud accepted; clear the IQ's repair issues."""
    if not is_iq_secret(secret) or not is_iq_pin(pin):
        raise ValueError("not an IQ secret and PIN")
    activations = dict(_activations(entry))
    activations[iq_id] = {_SECRET: secret, _PIN: pin, _ROTATED: False}
    _write_activations(hass, entry, activations)
    async_delete_iq_issues(hass, entry.entry_id, iq_id)
    LOGGER.info("Home Assistant now computes the one-time passwords of IQ %s", iq_id)


async def async_computed_otp_rejected(hass: HomeAssistant, entry: ConfigEntry, iq_id: str) -> None:
    """A computed code for the IQ got ``otp_invalid``: the secret rotated.

    Marks the activation rotated (``computed_otp`` returns None for the IQ from now on, so nothing
    more is sent and no attempt counts towards ``otp_blocked``) and raises the repair issue to
    activate again. Does nothing when the entry holds no usable activation for the IQ.
    """
    activation = _activation(entry, iq_id)
    if activation is None or activation.get(_ROTATED) is True:
        return
    activations = dict(_activations(entry))
    activations[iq_id] = {**activation, _ROTATED: True}
    _write_activations(hass, entry, activations)
    LOGGER.warning(
        "IQ %s refused a computed one-time password: its secret changed (e.g. the same KS user "
        "was activated in the Salto KS app). No more codes are computed for it until it is "
        "activated again (see Settings > Repairs)",
        iq_id,
    )
    async_update_otp_issues(hass, entry)


def _iq_names(entry: ConfigEntry) -> dict[str, str] | None:
    """The OTP IQs of the entry's last roster, id -> name; None when there is no roster yet."""
    runtime = getattr(entry, "runtime_data", None)
    roster = getattr(runtime, "roster", None)
    data = getattr(roster, "data", None)
    iqs = getattr(data, "iqs", None)
    if not isinstance(iqs, Mapping):
        return None
    return {iq.id: iq.name or iq.id for iq in iqs.values() if iq.otp_enabled is True}


@callback
def async_update_otp_issues(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """One repair issue per OTP IQ: activate (no activation yet) or activate again (rotated)."""
    names = _iq_names(entry)
    if names is None:
        return
    for iq_id, name in names.items():
        if needs_reactivation(entry, iq_id):
            wanted: str | None = ISSUE_OTP_REACTIVATION
        elif has_activation(entry, iq_id):
            wanted = None
        else:
            wanted = ISSUE_OTP_ACTIVATION
        for kind in IQ_ISSUES:
            if kind != wanted:
                ir.async_delete_issue(hass, DOMAIN, iq_issue_id(kind, entry.entry_id, iq_id))
        if wanted is not None:
            async_create_iq_issue(hass, entry, wanted, iq_id, name)
    # IQs gone from the roster or no longer asking for an OTP.
    async_delete_iq_issues(hass, entry.entry_id, keep=frozenset(names))


@callback
def async_setup_otp_issues(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Keep the OTP repair issues in step with every roster poll of a loaded entry."""
    roster = entry.runtime_data.roster
    entry.async_on_unload(roster.async_add_listener(lambda: async_update_otp_issues(hass, entry)))
    async_update_otp_issues(hass, entry)


class OtpBlocks:
    """The entry's IQs that answered ``otp_blocked``, each with when its block ends (UTC).

    Held in the entry's runtime data: while an IQ's block runs, lock_commands.py refuses its commands
    without a request (the cloud would refuse them, even with a good code) and the fix flow does
    not activate. Salto's answer carries no time: a block is taken to last 20 minutes from the first
    ``otp_blocked`` seen; it began at or before that answer, so the local one ends no earlier.
    Forgotten on reload: the next command then learns of a block that still runs from the cloud.
    """

    __slots__ = ("_until",)

    def __init__(self) -> None:
        """Start with no IQ blocked."""
        self._until: dict[str, datetime] = {}

    def note_blocked(self, iq_id: str | None) -> datetime:
        """The IQ answered ``otp_blocked`` now: remember it; returns when the block ends.

        ``iq_id`` None: a lock the roster lists without its IQ; nothing to remember it by.
        """
        until = dt_util.utcnow() + OTP_BLOCK_DURATION
        if iq_id is not None:
            self._until[iq_id] = until
        return until

    def blocked_until(self, iq_id: str) -> datetime | None:
        """When the IQ's block ends, None when it is not (or no longer) blocked."""
        until = self._until.get(iq_id)
        if until is not None and dt_util.utcnow() >= until:
            del self._until[iq_id]
            return None
        return until


def until_text(until: datetime) -> str:
    """The end of a block as a message shows it (local time, hours and minutes)."""
    return dt_util.as_local(until).strftime("%H:%M")
