"""Password hashing for sandbox accounts (scrypt with a random salt, constant-time check)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Moderate cost: the sandbox hashes on each login attempt and tests log in often.
_N, _R, _P, _LEN = 2**14, 8, 1, 32


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex), never the password itself."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (False for a malformed hash)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
