"""The optional unlock PIN: salted PBKDF2 hash in entry.options, constant-time check.

The PIN itself is never stored, logged or put into an exception. What the options keep is
``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`` with a random 16-byte salt. Hashing is CPU work
(tens of milliseconds): call ``hash_pin`` and ``verify_pin`` in the executor.

A hash of a 4-12 digit PIN does not resist a brute-force search by someone who can read
``.storage`` (which also holds the API client secret); it keeps the PIN out of clear text, backups
shown on screen and diagnostics, nothing more.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final

ALGORITHM: Final = "pbkdf2_sha256"
ITERATIONS: Final = 200_000
SALT_BYTES: Final = 16
# ASCII digits only: ``\d`` and str.isdigit() also accept e.g. Arabic-Indic or full-width digits.
PIN_PATTERN: Final = re.compile(r"[0-9]{4,12}", re.ASCII)


def is_valid_pin(pin: str) -> bool:
    """Return True for 4 to 12 ASCII digits and nothing else."""
    return PIN_PATTERN.fullmatch(pin) is not None


def _derive(pin: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", pin.encode("ascii"), salt, iterations)


def hash_pin(pin: str) -> str:
    """Return the stored form of a valid PIN (random salt); raises ValueError on an invalid PIN."""
    if not is_valid_pin(pin):
        raise ValueError("a PIN is 4 to 12 digits")
    salt = secrets.token_bytes(SALT_BYTES)
    return f"{ALGORITHM}${ITERATIONS}${salt.hex()}${_derive(pin, salt, ITERATIONS).hex()}"


def verify_pin(stored: str, code: str | None) -> bool:
    """Return True when ``code`` is the PIN behind ``stored``; False for anything else.

    A code of the wrong shape or a damaged ``stored`` value is simply False (never an exception);
    the final comparison takes constant time.
    """
    if code is None or not is_valid_pin(code):
        return False
    try:
        algorithm, iterations_text, salt_hex, hash_hex = stored.split("$")
        iterations = int(iterations_text)
        salt = bytes.fromhex(salt_hex)
        expected = bytes.fromhex(hash_hex)
    except (AttributeError, ValueError):
        return False
    if algorithm != ALGORITHM or not 1 <= iterations <= 10_000_000 or not salt or not expected:
        return False
    return hmac.compare_digest(_derive(code, salt, iterations), expected)
