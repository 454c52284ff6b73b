"""OIDC_GROUP_MAP: which IdP groups (from the groups claim) put a user in which Django Groups.

Formats (README "Single sign-on"):
- ``idp-carrier=Carrier team,idp-cc=Contact centre`` (comma-separated ``IdP group=Django group``;
  an IdP group may be listed twice to grant two Django groups; names are trimmed, matched exactly);
- a JSON object ``{"idp-carrier": ["Carrier team", "Ops"], "idp-cc": "Contact centre"}`` (for
  names that contain commas or equals signs).

The Django groups named on the right are *managed*: at each SSO sign-in a user is added to the
managed groups their IdP groups map to and removed from the managed groups they no longer map to.
Groups not named in the map are never touched, and IdP groups not in the map are ignored (an IdP
group called "admins" grants nothing unless the map says so)."""

from __future__ import annotations

import json


class GroupMapError(ValueError):
    pass


def parse(raw: str) -> dict[str, frozenset[str]]:
    raw = (raw or "").strip()
    if not raw:
        return {}
    mapping: dict[str, set[str]] = {}
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise GroupMapError(f"OIDC_GROUP_MAP is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise GroupMapError("OIDC_GROUP_MAP JSON must be an object")
        for key, value in data.items():
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values) or not key.strip():
                raise GroupMapError(f"OIDC_GROUP_MAP: {key!r} must map to a group name or a list of names")
            mapping.setdefault(key.strip(), set()).update(v.strip() for v in values)
    else:
        for item in raw.split(","):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise GroupMapError(f"OIDC_GROUP_MAP: {item.strip()!r} is not 'IdP group=Django group'")
            mapping.setdefault(key.strip(), set()).add(value.strip())
    for names in mapping.values():
        for name in names:
            if len(name) > 150:
                raise GroupMapError(f"OIDC_GROUP_MAP: group name {name[:30]!r}... is longer than 150 characters")
    return {k: frozenset(v) for k, v in mapping.items()}


def claim_groups(value) -> list[str]:
    """The groups claim as a list of names: a list of strings, or one string; anything else is none."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def managed(mapping: dict[str, frozenset[str]]) -> set[str]:
    return set().union(*mapping.values()) if mapping else set()


def wanted(mapping: dict[str, frozenset[str]], idp_groups: list[str]) -> set[str]:
    return set().union(*(mapping[g] for g in idp_groups if g in mapping)) if mapping else set()
