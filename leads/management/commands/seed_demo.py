"""Fill the tables with plausible demo leads, fast (batch writes), for demos and benchmarks."""
from django.core.management.base import BaseCommand
from tqdm import tqdm

from leads.management import maintenance


class Command(BaseCommand):
    help = "Store --count demo leads (with history and counters) using BatchWriteItem, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same leads")
        parser.add_argument("--days", type=int, default=90, help="spread creation dates over this many days")
        parser.add_argument("--owners", default="", help="comma-separated staff addresses owning the leads in turn "
                                                          "(with nobody after each round)")

    def handle(self, *args, count, seed, days, owners, **options):
        owners = tuple(address.strip().lower() for address in owners.split(",") if address.strip())
        with tqdm(total=count, unit="lead", disable=options["verbosity"] == 0) as bar:
            written = maintenance.seed(
                maintenance.demo_leads(count, seed=seed, days=days, owners=owners),
                on_batch=lambda done: bar.update(done - bar.n),
            )
        self.stdout.write(f"Stored {written} demo leads.")
