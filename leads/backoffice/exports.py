"""CSV export of a filtered inbox, streamed page by page in constant memory."""

import csv
from collections.abc import Iterator

from leads.storage.models import Lead

COLUMNS = [
    ("lead_id", "id"), ("created_at", "created_at"), ("name", "name"), ("email", "email"),
    ("company", "company"), ("subject", "subject"), ("message", "message"), ("status", "status"),
    ("owner", "owner"), ("notes", "notes"), ("updated_at", "updated_at"),
    ("consent_version", "consent_version"), ("consent_at", "consent_at"), ("consent_text", "consent_text"),
]
# A spreadsheet treats cells starting with these as formulas (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """Render a cell so no spreadsheet will evaluate it: formula-like text gets a leading quote."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Echo:
    """A file-like object whose write() hands back what it was given, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_lines(leads: Iterator[Lead]) -> Iterator[str]:
    """The header, then one CSV line per lead."""
    writer = csv.writer(_Echo())
    yield writer.writerow([header for _, header in COLUMNS])
    for lead in leads:
        yield writer.writerow([neutralise(getattr(lead, attr)) for attr, _ in COLUMNS])
