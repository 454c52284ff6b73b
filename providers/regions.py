"""One region vocabulary per country: providers name the same subdivision differently (Webex sends
"CA" or "NSW", DIDWW "California" or "New South Wales", some send local names such as "Bayern").
A region that is an ISO 3166-2 code of its country, or one of its subdivision names in English or
locally (accents, case and punctuation aside), becomes the subdivision's English name without
accents; anything else (a city sent as a region, an unknown name) is kept as sent."""

from __future__ import annotations

import gettext
import unicodedata
from functools import lru_cache

import pycountry


def _ascii(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'")  # typographic apostrophes survive as '
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _key(text: str) -> str:
    return "".join(c for c in _ascii(text).casefold() if c.isalnum())


@lru_cache(maxsize=None)
def _english():
    try:
        return gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["en"]).gettext
    except OSError:  # translations missing from the install: local names only
        return lambda name: name


@lru_cache(maxsize=512)
def _country(country: str) -> tuple[dict[str, str], dict[str, str]]:
    """(code -> canonical name, name key -> canonical name) for one country."""
    by_code: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=country) or ():
        canonical = _ascii(_english()(sub.name))
        by_code[sub.code.split("-", 1)[1].upper()] = canonical
        for name in (sub.name, canonical):
            by_name.setdefault(_key(name), canonical)
    return by_code, by_name


def region_name(country: str, region: str) -> str:
    """The region as this country's one vocabulary names it (see the module docstring)."""
    region = (region or "").strip()
    country = (country or "").strip().upper()
    if not region or len(country) != 2 or not country.isalpha():
        return region
    by_code, by_name = _country(country)
    return by_code.get(region.upper()) or by_name.get(_key(region)) or region
