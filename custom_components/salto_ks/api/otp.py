"""The one-time password (OTP) an OTP-enabled IQ accepts, computed from the IQ secret and PIN (pure).

Not documented by Salto; reverse engineered by a third party and proven at a real door (2026-08):
the code is the first 5 hexadecimal characters of ``MD5(stamp + secret + PIN)``, where ``stamp`` is
the UTC time as ``YYYYmmDDHHMMSS`` (whole seconds), the secret is the 16 characters the cloud hands
out once before the user's activation on the IQ, and the PIN is the 4-digit IQ PIN it mails.

Salto documents that a code is valid 3 minutes and may be reused within them. How the IQ matches a
stamp against its clock is not recorded; computing the code for the second of the request is what
was proven, so that is what callers do.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Final

OTP_LENGTH: Final = 5
OTP_VALIDITY: Final = timedelta(minutes=3)
# The activation PUT's "delta": "0000" keeps the mailed PIN (a real delta made the cloud and the IQ
# disagree about the PIN in the record, so only "0000" is ever sent).
ACTIVATION_DELTA: Final = "0000"

_PIN = re.compile(r"^[0-9]{4}$")
# The record names a 16-character secret; its alphabet is not recorded, so any printable ASCII
# without whitespace is accepted, within a sane length.
_SECRET = re.compile(r"^[\x21-\x7e]{8,64}$")


def is_iq_pin(value: object) -> bool:
    """Whether ``value`` has the shape of an IQ PIN (4 digits)."""
    return isinstance(value, str) and _PIN.fullmatch(value) is not None


def is_iq_secret(value: object) -> bool:
    """Whether ``value`` has the shape of an IQ secret."""
    return isinstance(value, str) and _SECRET.fullmatch(value) is not None


def otp_stamp(when: datetime) -> str:
    """``when`` (naive = UTC) as the OTP's time stamp: UTC ``YYYYmmDDHHMMSS``, seconds rounded down."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def compute_otp(secret: str, pin: str, when: datetime) -> str:
    """The 5-character code for ``when`` (lower-case hexadecimal)."""
    # The IQ's algorithm; usedforsecurity=False says MD5 protects nothing here.
    digest = hashlib.md5(
        f"{otp_stamp(when)}{secret}{pin}".encode(), usedforsecurity=False
    ).hexdigest()
    return digest[:OTP_LENGTH]
