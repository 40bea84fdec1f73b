"""Per-staff preferences: which time zone times are shown in, and which language the admin speaks."""

from functools import cache
from zoneinfo import available_timezones

# Languages a staff member can pick; "" follows the site's default (settings.LANGUAGE_CODE).
LANGUAGES = [("", "Site default"), ("en", "English"), ("de", "German")]

# Names zoneinfo lists that are files of the database, not zones a person lives in.
_NOT_ZONES = {"Factory", "localtime", "posixrules"}


@cache
def time_zones() -> frozenset[str]:
    """Every IANA zone name this interpreter can load (the tzdata package where the OS has none, as on Lambda)."""
    return frozenset(name for name in available_timezones()
                     if name not in _NOT_ZONES and not name.startswith(("posix/", "right/")))


def is_time_zone(name: str) -> bool:
    """True if name is a zone time_zones() offers."""
    return name in time_zones()


def is_language(code: str) -> bool:
    """True if code is one of LANGUAGES ("" included)."""
    return code in dict(LANGUAGES)


def time_zone_choices() -> list:
    """Zones for a grouped select: UTC first, then one group per region ("Europe": Berlin, Paris, …)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(time_zones()):
        region, _, place = name.partition("/")
        if place:
            groups.setdefault(region, []).append((name, place.replace("_", " ")))
    return [("UTC", "UTC")] + list(groups.items())
