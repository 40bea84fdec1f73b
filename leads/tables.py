"""Table lifecycle: create every model's table idempotently."""
import logging

from pynamodb.exceptions import TableError

from .models import ALL_MODELS

logger = logging.getLogger(__name__)


def create_all() -> list[tuple[str, bool]]:
    """Create each missing table (waiting until it is active); return (name, created) pairs."""
    results = []
    for model in ALL_MODELS:
        created = False
        if not model.exists():
            try:
                model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
                created = True
            except TableError as error:
                # Another process created it between exists() and create_table().
                if "ResourceInUseException" not in str(error.cause_response_code or error):
                    raise
        results.append((model.Meta.table_name, created))
    return results
