"""Serve the embedded, journal-backed DynamoDB that `make run` uses."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Serve the embedded DynamoDB (moto + a crash-safe journal under var/) on loopback."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.DYNAMODB_EMBEDDED_PORT)
        parser.add_argument("--data-dir", type=Path, default=settings.DYNAMODB_EMBEDDED_DIR)

    def handle(self, *args, port, data_dir, **options):
        try:
            import moto  # noqa: F401
        except ImportError:
            raise CommandError("The embedded DynamoDB needs moto: pip install -r requirements-embedded.txt") from None
        from leads.storage import embedded

        embedded.serve(host="127.0.0.1", port=port, data_dir=data_dir)
