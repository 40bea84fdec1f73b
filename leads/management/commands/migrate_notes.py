"""Carry the leads' old single `notes` field into their timelines, one note entry per lead; safe to run again."""
from django.core.management.base import BaseCommand

from leads.management import maintenance


class Command(BaseCommand):
    help = (
        "Carry every lead's old `notes` field into its timeline as a note entry (a full Scan of the leads: run it "
        "offline, not from a request). Entry ids are deterministic and written on condition they are new, so "
        "running it again, or while staff edit leads, writes nothing twice. The old field is left in place."
    )

    def handle(self, *args, **options):
        counts = maintenance.carry_legacy_notes()
        self.stdout.write(f"{counts['leads']} lead(s) with notes: {counts['carried']} carried into the timeline, "
                          f"{counts['already']} already there.")
