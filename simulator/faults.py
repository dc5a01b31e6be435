"""Injected faults per endpoint name: by probability (seeded RNG), by count, or scripted.

Kinds: ``400`` (``{"ErrorCode": 2210, "Message": "Site not released"}``: a permanent refusal of the
request), ``401`` (empty body and ``WWW-Authenticate``, as for a rejected bearer token, whatever the
token: ``times=2`` makes the API refuse a call and its retry with a freshly renewed token; on ``token``
a refusal without a body), ``403`` (``{"ErrorCode": 2203, …}``: the credential lacks a permission),
``500`` (``{"ErrorCode": 2201, …}``), ``502``/``503`` (HTML body, as a proxy answers),
``timeout`` (wait ``delay`` s, default 30, then answer normally; ``stop()`` cuts the wait short),
``malformed`` (200 with truncated JSON), ``drop`` (connection closed without an answer),
``429`` (empty body, ``Retry-After: retry_after``, default 1).

Note: aiohttp's client retries an idempotent request (GET) once when the server closes the
connection, so a single ``drop`` on a GET goes unnoticed; use ``times=2`` (or more) to make the
caller see it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = frozenset(
    {"400", "401", "403", "500", "502", "503", "timeout", "malformed", "drop", "429"}
)
DEFAULT_TIMEOUT_DELAY = 30.0
DEFAULT_RETRY_AFTER = 1.0


@dataclass
class FaultAction:
    """What to do to one request."""

    kind: str
    delay: float
    retry_after: float


@dataclass
class Fault:
    """One injected fault. ``endpoint`` ``"*"`` matches every Connect/identity endpoint."""

    endpoint: str
    kind: str | None
    probability: float | None = None
    times: int | None = None
    delay: float | None = None
    retry_after: float | None = None
    sequence: list[str | None] | None = None

    def action(self, kind: str) -> FaultAction:
        return FaultAction(
            kind,
            DEFAULT_TIMEOUT_DELAY if self.delay is None else float(self.delay),
            DEFAULT_RETRY_AFTER if self.retry_after is None else float(self.retry_after),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "kind": self.kind,
            "probability": self.probability,
            "times": self.times,
            "delay": self.delay,
            "retry_after": self.retry_after,
            "sequence": None if self.sequence is None else list(self.sequence),
        }


def normalize_kind(kind: str | int | None) -> str | None:
    """``500`` and ``"500"`` alike; validates the name."""
    if kind is None:
        return None
    text = str(kind)
    if text not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(FAULT_KINDS)}")
    return text


@dataclass
class FaultInjector:
    """The active faults, consulted once per request in insertion order."""

    rng: random.Random
    faults: list[Fault] = field(default_factory=list)
    # Measuring hook: how many requests each fault kind was applied to (never reset by clear()).
    applied: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        endpoint: str,
        kind: str | int | None = None,
        *,
        probability: float | None = None,
        times: int | None = None,
        delay: float | None = None,
        retry_after: float | None = None,
        sequence: list[str | int | None] | None = None,
    ) -> Fault:
        if sequence is None and kind is None:
            raise ValueError("give a kind or a sequence")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1")
        fault = Fault(
            endpoint,
            normalize_kind(kind),
            probability=probability,
            times=times,
            delay=delay,
            retry_after=retry_after,
            sequence=None if sequence is None else [normalize_kind(k) for k in sequence],
        )
        self.faults.append(fault)
        return fault

    def clear(self, endpoint: str | None = None) -> None:
        self.faults = [f for f in self.faults if endpoint is not None and f.endpoint != endpoint]

    def pick(self, endpoint: str) -> FaultAction | None:
        """The fault for this request (consuming counts/sequences), or None to answer normally."""
        for fault in list(self.faults):
            if fault.endpoint not in {endpoint, "*"}:
                continue
            if fault.sequence is not None:
                kind = fault.sequence.pop(0)
                if not fault.sequence:
                    self.faults.remove(fault)
                return None if kind is None else self._applied(fault.action(kind))
            if fault.probability is not None and self.rng.random() >= fault.probability:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            assert fault.kind is not None
            return self._applied(fault.action(fault.kind))
        return None

    def _applied(self, action: FaultAction) -> FaultAction:
        self.applied[action.kind] = self.applied.get(action.kind, 0) + 1
        return action
