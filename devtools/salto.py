"""The Salto KS entry of a development Home Assistant: its config-flow answers and its entities."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devtools.common import DOMAIN
from devtools.rest import HomeAssistant


async def salto_entities(ha: HomeAssistant, domain: str | None = None) -> list[dict[str, Any]]:
    """Entity registry entries of the Salto KS integration (optionally of one entity domain)."""
    async with ha.websocket() as ws:
        entries = await ws.entity_registry()
    return [
        entry
        for entry in entries
        if entry.get("platform") == DOMAIN
        and (domain is None or entry["entity_id"].startswith(domain + "."))
    ]


def simulator_answers(credentials: Mapping[str, str]) -> dict[str, Any]:
    """Config-flow answers, by field name, for an entry pointed at the simulator."""
    answers: dict[str, Any] = {
        # The first step's menu: the KS system user (password grant), or the API client alone.
        "user": "ks_user" if credentials.get("username") else "api_client",
        "endpoint": "custom",
        "api_base": credentials["api_base"],
        "auth_url": credentials["auth_url"],
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "username": credentials.get("username"),
        "password": credentials.get("password"),
    }
    if credentials.get("stream_url"):
        # The event stream's host, as the endpoint presets carry it (the simulator serves the hub).
        answers["stream_url"] = credentials["stream_url"]
    if credentials.get("site_id"):
        answers["site_id"] = credentials["site_id"]
    return answers
