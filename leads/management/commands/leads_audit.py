"""Recompute status and daily counters and the response-time rollups from the leads; report (or repair) any drift."""
from django.core.management.base import BaseCommand

from leads.management import maintenance


class Command(BaseCommand):
    help = (
        "Check that every status and daily counter, and the response-time rollups (leads waiting, their arrival "
        "hours the dashboard reads, each week's histogram), equal what the leads say (a full Scan: run it offline, "
        "not from a request). --repair writes the correct values; run it while nobody is editing leads."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="overwrite drifted counters with the true values")

    def handle(self, *args, repair, **options):
        scanned, drift = maintenance.audit(repair=repair)
        for item in drift:
            verb = "repaired" if repair else "drift   "
            self.stdout.write(f"{verb} {item.counter_id}: stored {item.stored}, leads say {item.actual}")
        self.stdout.write(f"{scanned} leads scanned; {len(drift)} counter(s) {'repaired' if repair else 'drifted'}.")
        if drift and not repair:
            raise SystemExit(1)
