"""Voximplant service-account credentials (``credentials.json``) and the JWTs signed with them.

``credentials.json`` (Control panel > Service accounts > Generate key) holds ``account_id`` (int),
``key_id`` (str), ``private_key`` (PEM RSA) and optionally ``account_email``. Requests carry
``Authorization: Bearer <JWT>``: RS256, header ``kid`` = key_id, claims ``iss`` = account_id (as a string),
``iat`` = now, ``exp`` <= iat + 3600 (providers/WIRE.md section 1, VX-DOC-AUTH).

Error messages built here never contain key material: they are fixed texts naming the problem,
and exceptions from ``json`` / ``cryptography`` are never chained or echoed.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REQUIRED_FIELDS = ("account_id", "key_id", "private_key")
MAX_TOKEN_LIFETIME = 3600  # Voximplant refuses exp > iat + 3600
TOKEN_LIFETIME = 3000  # what we sign: comfortably under the cap, survives small clock skew
REFRESH_MARGIN = 60  # a cached token is replaced when it has less than this left


@dataclass(frozen=True)
class Credentials:
    account_id: int
    key_id: str
    private_key_pem: str = field(repr=False)
    account_email: str = ""
    private_key: rsa.RSAPrivateKey | None = field(default=None, repr=False, compare=False)

    def public_key_pem(self) -> str:
        assert self.private_key is not None
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def secret_strings(self) -> list[str]:
        """The PEM and each of its base64 lines, for log/error redaction."""
        lines = [line.strip() for line in self.private_key_pem.splitlines()]
        return [self.private_key_pem, *(line for line in lines if len(line) >= 16 and not line.startswith("-----"))]


MAX_CREDENTIALS_CHARS = 64 * 1024  # a real credentials.json is ~2 KB


def parse_credentials(text: str | bytes) -> Credentials:
    """Validate a ``credentials.json`` text. Raises ``ValueError`` with a message safe to show."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("credentials file is not UTF-8 text") from None
    if not isinstance(text, str) or not text.strip():
        raise ValueError("credentials are empty: paste the contents of the service account's credentials.json")
    if len(text) > MAX_CREDENTIALS_CHARS:
        raise ValueError("credentials are too long for a credentials.json (at most 64 KB)")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        raise ValueError("credentials are not valid JSON: paste the whole credentials.json file") from None
    if not isinstance(data, dict):
        raise ValueError("credentials JSON must be an object with account_id, key_id and private_key")
    missing = [name for name in REQUIRED_FIELDS if data.get(name) in (None, "")]
    if missing:
        raise ValueError(f"credentials JSON is missing {', '.join(missing)}")
    account_id = data["account_id"]
    if not isinstance(account_id, int) or isinstance(account_id, bool) or account_id <= 0:
        raise ValueError("credentials account_id must be a positive integer")
    key_id = data["key_id"]
    if not isinstance(key_id, str) or not key_id.strip():
        raise ValueError("credentials key_id must be a non-empty string")
    email = data.get("account_email") or ""
    if not isinstance(email, str):
        raise ValueError("credentials account_email must be a string")
    pem = data["private_key"]
    if not isinstance(pem, str):
        raise ValueError("credentials private_key must be a PEM string")
    key = load_rsa_private_key(pem)
    return Credentials(account_id=account_id, key_id=key_id.strip(), private_key_pem=pem,
                       account_email=email, private_key=key)


def load_rsa_private_key(pem: str) -> rsa.RSAPrivateKey:
    if "-----BEGIN" not in pem or "PRIVATE KEY-----" not in pem:
        raise ValueError("credentials private_key is not a PEM private key")
    if "ENCRYPTED" in pem or "Proc-Type: 4,ENCRYPTED" in pem:
        raise ValueError("credentials private_key is password-protected; Voximplant keys are not encrypted")
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except TypeError:  # "Password was not given but private key is encrypted"
        raise ValueError("credentials private_key is password-protected; Voximplant keys are not encrypted") from None
    except Exception:  # ValueError / UnsupportedAlgorithm: messages could quote the input
        raise ValueError("credentials private_key is not a readable PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("credentials private_key is not an RSA key (Voximplant signs RS256 with RSA keys)")
    return key


class TokenSigner:
    """Signs the RS256 JWT and reuses it until it is within ``REFRESH_MARGIN`` of expiry."""

    def __init__(self, credentials: Credentials, *, lifetime: int = TOKEN_LIFETIME,
                 clock: Callable[[], float] = time.time):
        if not 0 < lifetime <= MAX_TOKEN_LIFETIME:
            raise ValueError(f"token lifetime must be 1..{MAX_TOKEN_LIFETIME} s")
        self.credentials = credentials
        self.lifetime = lifetime
        self.clock = clock
        self._token: str | None = None
        self._expires = 0
        self._lock = threading.Lock()
        self.issued = 0  # tokens signed so far (tests)

    def token(self) -> str:
        with self._lock:
            now = int(self.clock())
            if self._token is None or self._expires - now < REFRESH_MARGIN:
                self._token = sign_token(self.credentials, now=now, lifetime=self.lifetime)
                self._expires = now + self.lifetime
                self.issued += 1
            return self._token


def sign_token(credentials: Credentials, *, now: int | None = None, lifetime: int = TOKEN_LIFETIME) -> str:
    now = int(time.time()) if now is None else now
    key = credentials.private_key or load_rsa_private_key(credentials.private_key_pem)
    return jwt.encode(
        # iss as a string: RFC 7519 says StringOrURI, PyJWT >= 2.10 refuses an int, and the
        # official Python SDK sends str(account_id) too.
        {"iss": str(credentials.account_id), "iat": now, "exp": now + lifetime},
        key,
        algorithm="RS256",
        headers={"kid": credentials.key_id},
    )
