"""Country names for display: filters, tables, charts and pages show "Germany", never a bare "DE".

Names come from pycountry (already pinned for the region vocabulary, providers/regions.py): its
common name where ISO's is formal ("South Korea", not "Korea, Republic of"), a few short forms of
inverted ISO names, and the codes phonenumbers knows that ISO 3166-1 lacks (Kosovo, Ascension,
Tristan da Cunha). An unknown code is shown as it is. The code itself stays the filter value, the
export value and the URL parameter (``?country=DE``)."""

from __future__ import annotations

from functools import lru_cache

import pycountry

# Where ISO's name is an inverted or formal form nobody searches for, or no ISO code exists.
SHORT_NAMES = {
    "BN": "Brunei", "CD": "DR Congo", "FM": "Micronesia", "PS": "Palestine", "RU": "Russia",
    "VG": "British Virgin Islands", "VI": "US Virgin Islands",
    "XK": "Kosovo", "AC": "Ascension Island", "TA": "Tristan da Cunha",
}


@lru_cache(maxsize=512)
def country_name(code: str | None) -> str:
    """'DE' -> 'Germany'; '' -> ''; an unknown code -> the code."""
    code = (code or "").strip().upper()
    if not code:
        return ""
    if code in SHORT_NAMES:
        return SHORT_NAMES[code]
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 and code.isalpha() else None
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


def country_label(code: str | None) -> str:
    """'Germany (DE)': the name with the code ops also know (filter choices, number page)."""
    code = (code or "").strip().upper()
    name = country_name(code)
    return f"{name} ({code})" if name != code else code
