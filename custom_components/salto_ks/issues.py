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
    """Delete every repair issue this integration raised for a config entry."""
    for kind in ROSTER_ISSUES:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry_id))
