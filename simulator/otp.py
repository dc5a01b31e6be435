"""IQ activations and one-time passwords (OTP) of the simulated cloud: the world side, no HTTP.

Per platform user and IQ there is a 16-character secret and a 4-digit IQ PIN (drawn when first
needed). The code for a second is the first 5 hex characters of ``MD5(UTC "YYYYmmDDHHMMSS" +
secret + PIN)`` (the record's reverse-engineered algorithm, proven at a real door).

What the record says, modelled as it says:
- the secret is handed out only while the user is not activated on the IQ ("Cannot get first
  secret for an already activated Iq.", 403 2203); the PIN mail likewise (403 ``command_forbidden``);
- activation ``PUT …/iqs/{iq}/pin {otp, delta}`` is checked by the cloud against secret + PIN;
  ``delta: "0000"`` keeps the mailed PIN;
- a code is valid 3 minutes and may be reused within them; clock drift up to 3 minutes is tolerated;
- activating the same user in the Salto app rotates the secret (``rotate``): the one the API handed
  out stops working, the app's codes work;
- too many wrong codes block the IQ's codes for 20 minutes (``otp_blocked``).

Inferred (the record is silent): the IQ accepts a code stamped at any second from 179 s before to
180 s after its clock (validity backwards, drift forwards; no quantisation of the stamp is
recorded, so every second is tried); only activated users' codes open (the IQ knows no other
secret); 8 wrong codes in a row (locking and activation together) block, as the record's worst
case; a delta other than "0000" adds to the PIN digit by digit (mod 10) on the IQ's side only,
so codes from the mailed PIN pass the cloud's activation but not the IQ (the record's "PIN
ambiguity"); a re-sent PIN mail carries the same PIN; ``deactivate`` (an admin removing the
activation, ``DELETE …/iqs/{iq}/pin/{user}`` in the record) draws a new secret and PIN.
"""

from __future__ import annotations

import hashlib
import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, NoReturn

from .models import Iq

OTP_VALIDITY_SECONDS: Final = 180
OTP_DRIFT_SECONDS: Final = 180
OTP_MAX_FAILURES: Final = 8
OTP_BLOCK_SECONDS: Final = 20 * 60
KEEP_PIN_DELTA: Final = "0000"
_SECRET_ALPHABET: Final = string.ascii_letters + string.digits


class OtpError(Exception):
    """A refusal the Connect API answers as ``{"ErrorCode", "Message"}`` with ``status``."""

    def __init__(self, status: int, code: int | str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def stamp(epoch: float) -> str:
    """UTC ``YYYYmmDDHHMMSS`` of an epoch second."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y%m%d%H%M%S")


def code_at(secret: str, pin: str, epoch: float) -> str:
    """The 5-character code of one second."""
    raw = f"{stamp(epoch)}{secret}{pin}".encode()
    return hashlib.md5(raw, usedforsecurity=False).hexdigest()[:5]


def _add_digits(pin: str, delta: str) -> str:
    return "".join(str((int(p) + int(d)) % 10) for p, d in zip(pin, delta, strict=True))


@dataclass
class Activation:
    """One platform user on one IQ."""

    secret: str  # what the IQ checks codes against
    pin: str  # the PIN the cloud mails and checks activation codes against
    iq_pin: str  # the PIN the IQ checks codes against (differs only after a real delta)
    activated_at: float | None = None
    by_app: bool = False  # activated (or re-activated) in the Salto app: secret never handed out

    def as_dict(self) -> dict[str, Any]:
        """For the control API (the simulator's own secrets are test data)."""
        return {
            "secret": self.secret,
            "pin": self.pin,
            "activated": self.activated_at is not None,
            "activation_date": stamp_iso(self.activated_at),
            "by_app": self.by_app,
        }


def stamp_iso(epoch: float | None) -> str | None:
    """An epoch second as ``YYYY-MM-DDTHH:MM:SSZ`` (None stays None)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class PinMail:
    """An IQ PIN "mailed" to a user (readable through the control API)."""

    to: str
    user_id: str
    iq_id: str
    pin: str
    sent_at: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "user_id": self.user_id,
            "iq_id": self.iq_id,
            "pin": self.pin,
            "sent_at": stamp_iso(self.sent_at),
        }


@dataclass
class OtpBook:
    """Every user's activation on every IQ, the PIN mails, and the code checks."""

    rng: random.Random
    activations: dict[tuple[str, str], Activation] = field(default_factory=dict)
    mails: list[PinMail] = field(default_factory=list)

    def _draw(self) -> Activation:
        secret = "".join(self.rng.choice(_SECRET_ALPHABET) for _ in range(16))
        pin = f"{self.rng.randrange(10_000):04d}"
        return Activation(secret=secret, pin=pin, iq_pin=pin)

    def activation(self, iq_id: str, user_id: str) -> Activation:
        """The user's activation record on the IQ (drawn, not activated, when first needed)."""
        key = (iq_id, user_id)
        if key not in self.activations:
            self.activations[key] = self._draw()
        return self.activations[key]

    def is_activated(self, iq_id: str, user_id: str) -> bool:
        found = self.activations.get((iq_id, user_id))
        return found is not None and found.activated_at is not None

    # the Connect API's activation calls ------------------------------------------------------
    def first_secret(self, iq_id: str, user_id: str) -> str:
        """``GET …/iqs/{iq}/secret``: only before the user's activation."""
        if self.is_activated(iq_id, user_id):
            raise OtpError(403, 2203, "Cannot get first secret for an already activated Iq.")
        return self.activation(iq_id, user_id).secret

    def mail_pin(self, iq_id: str, user_id: str, to: str, now: float) -> None:
        """``GET …/iqs/{iq}/pin?send_email=true``: "mail" the PIN (only before the activation)."""
        if self.is_activated(iq_id, user_id):
            raise OtpError(403, "command_forbidden", "command_forbidden")
        pin = self.activation(iq_id, user_id).pin
        self.mails.append(PinMail(to=to, user_id=user_id, iq_id=iq_id, pin=pin, sent_at=now))

    def activate(self, iq: Iq, user_id: str, otp: object, delta: object, now: float) -> None:
        """``PUT …/iqs/{iq}/pin {otp, delta}``: the cloud checks the code against secret + PIN."""
        if not isinstance(delta, str) or len(delta) != 4 or not delta.isdigit():
            raise OtpError(400, 1100, "The delta field is required.")
        if not isinstance(otp, str) or not otp:
            raise OtpError(400, 1100, "The otp field is required.")
        self.check_blocked(iq, now)
        record = self.activation(iq.id, user_id)
        if record.activated_at is not None:
            raise OtpError(403, 2203, "The Iq is already activated for this user.")
        self._check(iq, otp, record.secret, record.pin, now)
        record.activated_at = now
        record.iq_pin = _add_digits(record.pin, delta)

    def activated_iqs(self, user_id: str, iq_ids: list[str]) -> list[dict[str, Any]]:
        """``GET /v1.2/me/{site}/activated_iqs``: the user's activations among ``iq_ids``."""
        return [
            {
                "iq_id": iq_id,
                "activation_date": stamp_iso(record.activated_at),
                "activated": True,
            }
            for iq_id in iq_ids
            if (record := self.activations.get((iq_id, user_id))) is not None
            and record.activated_at is not None
        ]

    # the IQ's check of a locking request --------------------------------------------------------
    def check_blocked(self, iq: Iq, now: float) -> None:
        if iq.otp_blocked_until is not None and now < iq.otp_blocked_until:
            raise OtpError(403, 3102, "otp_blocked")

    def check_locking(self, iq: Iq, user_id: str | None, otp: object, now: float) -> None:
        """A code sent with ``PATCH …/locking``: only an activated user's valid code passes."""
        record = None if user_id is None else self.activations.get((iq.id, user_id))
        if record is None or record.activated_at is None:
            self._fail(iq, now)
        else:
            self._check(iq, otp, record.secret, record.iq_pin, now)

    def _check(self, iq: Iq, otp: object, secret: str, pin: str, now: float) -> None:
        if not isinstance(otp, str) or not self.accepts(secret, pin, otp, now):
            self._fail(iq, now)
        iq.otp_failures = 0

    def _fail(self, iq: Iq, now: float) -> NoReturn:
        iq.otp_failures += 1
        if iq.otp_failures >= OTP_MAX_FAILURES:
            iq.otp_failures = 0
            iq.otp_blocked_until = now + OTP_BLOCK_SECONDS
        raise OtpError(400, 3102, "otp_invalid")

    @staticmethod
    def accepts(secret: str, pin: str, otp: str, now: float) -> bool:
        """Whether ``otp`` is the code of a second the IQ accepts at ``now`` (case-insensitive)."""
        wanted = otp.strip().lower()
        if len(wanted) != 5:
            return False
        second = int(now)
        return any(
            code_at(secret, pin, second + offset) == wanted
            for offset in range(-(OTP_VALIDITY_SECONDS - 1), OTP_DRIFT_SECONDS + 1)
        )

    # what the Salto app and admins do (control API) -----------------------------------------
    def app_code(self, iq_id: str, user_id: str, now: float) -> str:
        """The code the user's Salto app shows now; like opening the app on the IQ, it activates
        the user there first when the user is not activated yet."""
        if not self.is_activated(iq_id, user_id):
            self.rotate(iq_id, user_id, now)
        record = self.activation(iq_id, user_id)
        return code_at(record.secret, record.iq_pin, now)

    def rotate(self, iq_id: str, user_id: str, now: float) -> None:
        """The user activates (again) in the Salto app: a new secret only the app knows."""
        record = self.activation(iq_id, user_id)
        record.secret = self._draw().secret
        record.activated_at = now
        record.by_app = True

    def deactivate(self, iq_id: str, user_id: str) -> None:
        """Remove the user's activation on the IQ (a new secret and PIN are drawn when needed)."""
        self.activations.pop((iq_id, user_id), None)

    def forget_iq(self, iq_id: str) -> None:
        """The IQ is gone: drop its activations and mails."""
        for key in [key for key in self.activations if key[0] == iq_id]:
            del self.activations[key]
        self.mails = [mail for mail in self.mails if mail.iq_id != iq_id]
