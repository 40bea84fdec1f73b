"""CSV export of a filtered inbox, streamed page by page in constant memory.

Times are ISO 8601 with their offset, in the staff member's time zone; the last column, `time_zone`,
names that zone on every row (added after the others, so columns read by name or position still are).
"""

import csv
from collections.abc import Iterator
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from leads.storage.models import Lead

COLUMNS = [
    ("lead_id", "id"), ("created_at", "created_at"), ("name", "name"), ("email", "email"),
    ("company", "company"), ("subject", "subject"), ("message", "message"), ("status", "status"),
    ("owner", "owner"), ("notes", "notes"), ("updated_at", "updated_at"),
    ("consent_version", "consent_version"), ("consent_at", "consent_at"), ("consent_text", "consent_text"),
]
ZONE_COLUMN = "time_zone"
# A spreadsheet treats cells starting with these as formulas (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value, zone: tzinfo | None = None) -> str:
    """Render a cell so no spreadsheet will evaluate it: formula-like text gets a leading quote.

    A date and time is written in `zone` (if given) with its offset.
    """
    if value is None:
        return ""
    if zone is not None and isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(zone)
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Echo:
    """A file-like object whose write() hands back what it was given, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_lines(leads: Iterator[Lead], *, time_zone: str = "UTC") -> Iterator[str]:
    """The header, then one CSV line per lead, its times in the IANA zone `time_zone` (named in the last column)."""
    # Converted here, not by the active zone: a streamed body is produced after the request's zone is undone.
    zone = ZoneInfo(time_zone)
    writer = csv.writer(_Echo())
    yield writer.writerow([header for _, header in COLUMNS] + [ZONE_COLUMN])
    for lead in leads:
        yield writer.writerow([neutralise(getattr(lead, attr), zone) for attr, _ in COLUMNS] + [time_zone])
