"""Create every DynamoDB table and index the app needs, with TTL and point-in-time recovery; safe to run again."""
from django.core.management.base import BaseCommand

from leads.storage import tables


class Command(BaseCommand):
    help = (
        "Create the DynamoDB tables and indexes (on-demand billing), turn on TTL where a model has a TTL "
        "attribute and point-in-time recovery where the endpoint supports it. Existing tables are kept."
    )

    def handle(self, *args, **options):
        for report in tables.create_all():
            self.stdout.write(str(report))
            for note in report.attention:
                self.stderr.write(self.style.WARNING(f"{report.name} needs attention: {note}"))
