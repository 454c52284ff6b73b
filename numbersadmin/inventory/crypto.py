"""Provider secrets at rest: a JSON dict encrypted with MultiFernet.

FIELD_ENCRYPTION_KEYS lists keys newest first; decryption tries all, encryption uses the first,
so rotating is: prepend a new key, run ``manage.py rotate_secrets``, then drop the old key.
"""

from __future__ import annotations

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretsUnavailable(Exception):
    """Stored secrets cannot be decrypted with the configured keys."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_secrets(values: dict[str, str]) -> str:
    return fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_secrets(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError):
        raise SecretsUnavailable("stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEYS") from None


def rotate(token: str) -> str:
    return fernet().rotate(token.encode()).decode() if token else token
