"""Create every DynamoDB table and index the app needs; safe to run again."""
from django.core.management.base import BaseCommand

from leads import tables


class Command(BaseCommand):
    help = "Create the DynamoDB tables and indexes (on-demand billing). Existing tables are left as they are."

    def handle(self, *args, **options):
        for name, created in tables.create_all():
            self.stdout.write(f"{'created' if created else 'exists '}  {name}")
