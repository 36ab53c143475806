"""Secrets: password hashing, join codes, signed link tokens and API token hashes."""

import base64
import binascii
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, Signer, URLSafeSerializer
from itsdangerous.encoding import base64_decode, base64_encode

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V: codes are read off a projector and typed on a phone.
JOIN_CODE_ALPHABET = "ACDEFGHJKMNPQRTWXY34679"
# Eight of 23 characters: 78 billion codes, so that guessing them (limited per address, see
# app/web/kit/limits.py) finds nothing. Events made before kept their six-character codes.
JOIN_CODE_LENGTH = 8

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the hash; never raises on a bad hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_join_code() -> str:
    """A short random code with no characters that are easily confused."""
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def shown_join_code(code: str) -> str:
    """A code as it is read aloud or off a wall, in two halves: K7M-4QX, K7MA-4QXC."""
    return f"{code[: len(code) // 2]}-{code[len(code) // 2 :]}"


def normalise_join_code(typed: str) -> str:
    """The code as stored: upper case, without the spaces and dashes people type."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def new_secret() -> str:
    """A random URL-safe secret (256 bits)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The stored form of a secret we never need to show again (API tokens)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def password_mark(password_hash: str) -> int:
    """A fingerprint of a password hash (31 bits) that a signed link carries, so that the
    link dies with the password it was made under."""
    return int.from_bytes(hashlib.sha256(password_hash.encode()).digest()[:4]) >> 1


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(a.encode(), b.encode())


class LinkSigner:
    """Signs the ids in private links (projector, facilitator, continue-on-another-device)."""

    def __init__(self, secret_key: str) -> None:
        self._secret_key = secret_key

    def _serializer(self, purpose: str) -> URLSafeSerializer:
        return URLSafeSerializer(self._secret_key, salt=f"openspace.link.{purpose}")

    def sign(self, purpose: str, *values: int) -> str:
        """A token that carries the values and proves we issued it for that purpose."""
        return self._serializer(purpose).dumps(list(values))

    def read(self, purpose: str, token: str) -> list[int] | None:
        """The values in a token we issued for that purpose, or None."""
        try:
            values = self._serializer(purpose).loads(token)
        except BadSignature:
            return None
        if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
            return None
        return values

    def _signer(self, purpose: str) -> Signer:
        return Signer(self._secret_key, salt=f"openspace.address.{purpose}")

    def sign_address(self, purpose: str, value: int) -> str:
        """A token for the left part of an e-mail address: the value and its signature in
        lower-case letters and digits (a mail server may change the case of an address)."""
        signature = base64_decode(self._signer(purpose).get_signature(str(value)))
        return f"{value}-{base64.b32encode(signature).decode().rstrip('=').lower()}"

    def read_address(self, purpose: str, token: str) -> int | None:
        """The value in an address token we made for that purpose, or None."""
        value, _, signature = token.strip().lower().partition("-")
        if not (value.isascii() and value.isdigit() and len(value) <= 12 and signature):
            return None
        try:
            raw = base64.b32decode(signature.upper() + "=" * (-len(signature) % 8))
        except (binascii.Error, ValueError):
            return None
        if not self._signer(purpose).verify_signature(value.encode(), base64_encode(raw)):
            return None
        return int(value)
