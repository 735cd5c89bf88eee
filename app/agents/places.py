"""Where a question is about: city and country names → IANA time zones.

The index is built from the time zone database itself (``zoneinfo``): every
``Region/City`` zone gives its city ("Asia/Tokyo" → "tokyo", "America/New_York" →
"new york"), and a short list adds places that are not zone names ("San Francisco",
"Beijing", "India"). Finding a place reads the question's words once and looks up
runs of one to three words, so it costs one linear pass.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs

REGIONS = frozenset(
    {"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian"}
    | {"Pacific"}
)
# zone leaves that are ordinary words or names before they are places people ask about
# ("what day is Christmas" is not about Indian/Christmas)
NOT_PLACES = frozenset(
    {"act", "canary", "casey", "chatham", "christmas", "cocos", "comoro", "creston"}
    | {"currie", "davis", "dawson", "knox in", "lhi", "mahe", "midway", "nome", "nsw"}
    | {"oral", "palmer", "regina", "resolute", "reunion", "south georgia", "south pole"}
    | {"stanley", "troll", "truk", "victoria", "virgin", "wake", "wallis", "yap"}
)
ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "san francisco": "America/Los_Angeles",
        "seattle": "America/Los_Angeles",
        "california": "America/Los_Angeles",
        "washington": "America/New_York",
        "boston": "America/New_York",
        "miami": "America/New_York",
        "houston": "America/Chicago",
        "dallas": "America/Chicago",
        "beijing": "Asia/Shanghai",
        "china": "Asia/Shanghai",
        "mumbai": "Asia/Kolkata",
        "delhi": "Asia/Kolkata",
        "new delhi": "Asia/Kolkata",
        "bangalore": "Asia/Kolkata",
        "india": "Asia/Kolkata",
        "japan": "Asia/Tokyo",
        "korea": "Asia/Seoul",
        "uk": "Europe/London",
        "england": "Europe/London",
        "france": "Europe/Paris",
        "germany": "Europe/Berlin",
        "spain": "Europe/Madrid",
        "italy": "Europe/Rome",
        "new zealand": "Pacific/Auckland",
        "hawaii": "Pacific/Honolulu",
        "kyiv": "Europe/Kyiv",
        "kiev": "Europe/Kyiv",
    }
)
MAX_PLACE_WORDS = 3
_WORD = re.compile(r"[a-z]++")


@attrs.frozen
class Place:
    """A place named in a question and its IANA time zone."""

    name: str
    zone: str


def place_index(zones: Iterable[str] | None = None) -> Mapping[str, str]:
    """Lower-case place names → zone, from ``zones`` (the whole tz database by default)."""
    known = set(zoneinfo.available_timezones() if zones is None else zones)
    index: dict[str, str] = {}
    for zone in sorted(known):
        region, _, city = zone.partition("/")
        name = city.replace("_", " ").lower()
        if region in REGIONS and "/" not in city and name not in NOT_PLACES:
            index.setdefault(name, zone)
    index.update({name: zone for name, zone in ALIASES.items() if zone in known})
    return MappingProxyType(index)


def find_place(text: str, index: Mapping[str, str]) -> Place | None:
    """The first place of ``index`` named in ``text`` (longest name at each word)."""
    words = _WORD.findall(text.lower())
    for start in range(len(words)):
        for size in range(MAX_PLACE_WORDS, 0, -1):
            name = " ".join(words[start : start + size])
            if len(words) - start >= size and name in index:
                return Place(_display(name), index[name])
    return None


def _display(name: str) -> str:
    return name.upper() if len(name) <= 3 else name.title()
