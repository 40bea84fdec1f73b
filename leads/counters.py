"""Counter item keys, and the updates that keep them in step inside a transaction."""

from datetime import date

from pynamodb.transactions import TransactWrite

from .models import Counter


def status_key(status: str) -> str:
    """Key of the counter holding how many leads have this status."""
    return f"status#{status}"


def day_key(day: date) -> str:
    """Key of the counter holding how many leads were created on this UTC day."""
    return f"day#{day.isoformat()}"


def add_in(tx: TransactWrite, counter_id: str, amount: int) -> None:
    """Add amount (may be negative) to a counter as part of tx."""
    tx.update(Counter(counter_id), actions=[Counter.tally.add(amount)])
