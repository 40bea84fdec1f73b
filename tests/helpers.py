"""Small readers shared by tests."""
from leads.models import Counter


def tally(counter_id: str) -> int:
    """A counter's value, 0 when the item does not exist."""
    try:
        return int(Counter.get(counter_id).tally)
    except Counter.DoesNotExist:
        return 0
