"""Give leads stored before an index existed the derived keys that index needs (safe to run again)."""
from django.core.management.base import BaseCommand

from leads.management import maintenance


class Command(BaseCommand):
    help = (
        "Fill in the derived index keys (owner, owner and status, first letter of the address) on leads stored "
        "before those indexes existed, so the owner and prefix listings find them. A full Scan: run it offline, "
        "once after upgrading (after create_tables has added the indexes). Safe to repeat and to run while "
        "people work: a lead edited meanwhile keeps what its edit wrote, and no version is bumped."
    )

    def handle(self, *args, **options):
        scanned, written = maintenance.backfill_index_keys()
        self.stdout.write(f"{scanned} leads scanned; {written} given their missing index keys.")
