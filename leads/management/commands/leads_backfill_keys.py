"""Give leads and tally shards stored before an index existed the keys that index needs (safe to run again)."""
from django.core.management.base import BaseCommand

from leads.management import maintenance


class Command(BaseCommand):
    help = (
        "Fill in the derived index keys (owner, owner and status, first letter of the address) on leads stored "
        "before those indexes existed, so the owner and prefix listings find them, and the status tally shards "
        "their tally-index key, so the inbox's counts include them. A full Scan: run it offline, "
        "once after upgrading (after create_tables has added the indexes). Safe to repeat and to run while "
        "people work: a lead edited meanwhile keeps what its edit wrote, and no version is bumped."
    )

    def handle(self, *args, **options):
        scanned, written = maintenance.backfill_index_keys()
        self.stdout.write(f"{scanned} leads scanned; {written} given their missing index keys.")
        shards = maintenance.backfill_tally_keys()
        self.stdout.write(f"{shards} status tally shards given their tally-index key.")
