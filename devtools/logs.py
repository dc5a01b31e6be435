"""Reading a Home Assistant log: its records, the integration's problems, onboarding noise, secrets."""

from __future__ import annotations

import re
from collections.abc import Iterable

from devtools.common import DOMAIN
from devtools.haconfig import ONBOARDING_DOMAINS

_RECORD_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def log_records(text: str) -> list[str]:
    """Split a Home Assistant log into records (a record runs until the next timestamped line)."""
    records: list[str] = []
    for line in text.splitlines():
        if _RECORD_START.match(line) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return records


def integration_problems(text: str) -> list[str]:
    """Records that are errors or tracebacks involving the integration."""
    problems = []
    for record in log_records(text):
        head = record.split("\n", 1)[0]
        mentions = DOMAIN in record
        is_error = " ERROR " in head or " CRITICAL " in head
        if mentions and (is_error or "Traceback (most recent call last)" in record):
            problems.append(record)
    return problems


_ONBOARDING_DOMAIN_WORD = re.compile(r"\b(?:" + "|".join(sorted(ONBOARDING_DOMAINS)) + r")\b")


def onboarding_noise(text: str) -> list[str]:
    """Error or traceback records of the integrations Home Assistant's onboarding would add."""
    return [
        record
        for record in log_records(text)
        if _ONBOARDING_DOMAIN_WORD.search(record)
        and (" ERROR " in record.split("\n", 1)[0] or "Traceback (most recent call last)" in record)
    ]


def leaked_secrets(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets (of at least 6 characters) that occur in ``text``."""
    return [secret for secret in secrets if len(secret) >= 6 and secret in text]
