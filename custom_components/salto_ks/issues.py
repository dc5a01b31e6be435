"""Repair issues of a config entry: raised by the roster poll, deleted by a good poll and on unload."""

from __future__ import annotations

from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

ISSUE_API_NOT_ENABLED: Final = "api_not_enabled"
ISSUE_PERMISSION_DENIED: Final = "permission_denied"
ROSTER_ISSUES: Final = (ISSUE_API_NOT_ENABLED, ISSUE_PERMISSION_DENIED)
# One per OTP IQ (fixable: repairs.py activates the entry's user there so otp.py computes codes).
ISSUE_OTP_ACTIVATION: Final = "otp_activation"
ISSUE_OTP_REACTIVATION: Final = "otp_reactivation"  # a computed code was refused: secret rotated
IQ_ISSUES: Final = (ISSUE_OTP_ACTIVATION, ISSUE_OTP_REACTIVATION)


def issue_id(kind: str, entry_id: str) -> str:
    """Return the id of a repair issue of one config entry (the kind, then the entry id)."""
    return f"{kind}_{entry_id}"


@callback
def async_create_entry_issue(hass: HomeAssistant, entry: ConfigEntry, kind: str) -> None:
    """Raise one of ROSTER_ISSUES for a config entry (an error the user must fix at Salto)."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(kind, entry.entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=kind,
        translation_placeholders={"title": entry.title},
        data={"entry_id": entry.entry_id},
    )


@callback
def async_delete_entry_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the ROSTER_ISSUES of a config entry (the IQ_ISSUES follow the roster: otp.py)."""
    for kind in ROSTER_ISSUES:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry_id))


def iq_issue_id(kind: str, entry_id: str, iq_id: str) -> str:
    """Return the id of a repair issue of one IQ of a config entry."""
    return f"{kind}_{entry_id}_{iq_id}"


@callback
def async_create_iq_issue(
    hass: HomeAssistant, entry: ConfigEntry, kind: str, iq_id: str, iq_name: str
) -> None:
    """Raise one of IQ_ISSUES for an IQ of a config entry (fixed by the flow in repairs.py)."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        iq_issue_id(kind, entry.entry_id, iq_id),
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR
        if kind == ISSUE_OTP_REACTIVATION
        else ir.IssueSeverity.WARNING,
        translation_key=kind,
        translation_placeholders={"title": entry.title, "iq": iq_name},
        data={"entry_id": entry.entry_id, "iq_id": iq_id, "iq": iq_name},
    )


@callback
def async_delete_iq_issues(
    hass: HomeAssistant,
    entry_id: str,
    iq_id: str | None = None,
    *,
    keep: frozenset[str] = frozenset(),
) -> None:
    """Delete the IQ_ISSUES of one IQ of a config entry, or of all its IQs but those in ``keep``."""
    registry = ir.async_get(hass)
    for domain, existing in list(registry.issues):
        if domain != DOMAIN:
            continue
        for kind in IQ_ISSUES:
            prefix = iq_issue_id(kind, entry_id, "")
            if not existing.startswith(prefix):
                continue
            issue_iq = existing[len(prefix) :]
            if iq_id in (None, issue_iq) and issue_iq not in keep:
                ir.async_delete_issue(hass, DOMAIN, existing)
