"""Serve the embedded, journal-backed DynamoDB that `make run` uses."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the embedded DynamoDB (moto + a crash-safe journal under var/) on loopback."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.DYNAMODB_EMBEDDED_PORT)
        parser.add_argument("--data-dir", type=Path, default=settings.DYNAMODB_EMBEDDED_DIR)

    def handle(self, *args, port, data_dir, **options):
        from leads import embedded

        embedded.serve(host="127.0.0.1", port=port, data_dir=data_dir)
