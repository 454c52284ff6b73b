"""Where the recorded provider responses live (inside the repository: tests/fixtures/<provider>/)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture_dir(provider: str) -> Path:
    path = FIXTURES / provider
    if not path.is_dir():  # a missing fixture folder is a broken checkout, not a reason to skip
        raise FileNotFoundError(f"recorded fixtures for {provider} missing: {path}")
    return path
