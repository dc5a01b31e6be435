"""Answering data entry flow forms (config, options, login flows) by field name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def answer_form(schema: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The payload for one form: the answer by field name, else its default or suggested value,
    else (a required select) its first option; a None answer leaves the field out."""
    payload: dict[str, Any] = {}
    for field in schema:
        name = field["name"]
        if name in answers:
            if answers[name] is not None:
                payload[name] = answers[name]
            continue
        suggested = (field.get("description") or {}).get("suggested_value")
        if "default" in field:
            payload[name] = field["default"]
        elif suggested is not None:
            payload[name] = suggested
        elif field.get("required"):
            options = select_options(field)
            if options:
                payload[name] = options[0]
    return payload


def select_options(field: Mapping[str, Any]) -> list[Any]:
    """The values a select field offers (selector or plain voluptuous ``In`` serialisation)."""
    raw: Any = (field.get("selector") or {}).get("select", {}).get("options")
    if raw is None:
        raw = field.get("options")
    values: list[Any] = []
    for option in raw or []:
        if isinstance(option, Mapping):
            values.append(option.get("value"))
        elif isinstance(option, list | tuple):
            values.append(option[0])
        else:
            values.append(option)
    return values
