"""`make run`: start the embedded DynamoDB if configured, create tables and the admin, then runserver."""
import os
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def port_open(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Command(BaseCommand):
    help = "Run Leads locally: embedded DynamoDB (when configured), tables, then runserver."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--noreload", action="store_false", dest="use_reloader")

    def handle(self, *args, addrport, use_reloader, **options):
        # runserver's autoreloader re-runs this command in a child (RUN_MAIN=true); set-up is done once.
        if os.environ.get("RUN_MAIN") != "true":
            if settings.DYNAMODB_EMBEDDED:
                self.start_embedded()
            call_command("create_tables")
            if os.environ.get("LEADS_ADMIN_EMAIL") and os.environ.get("LEADS_ADMIN_PASSWORD"):
                call_command("createstaff", "--noinput", "--role", "admin")
        call_command("runserver", addrport, use_reloader=use_reloader)

    def start_embedded(self) -> None:
        """Start the embedded DynamoDB in this process group, so stopping `make run` stops it too."""
        port = settings.DYNAMODB_EMBEDDED_PORT
        if port_open(port):
            self.stdout.write(f"Embedded DynamoDB already answering on port {port}.")
            return
        manage_py = settings.BASE_DIR / "manage.py"
        process = subprocess.Popen([sys.executable, str(manage_py), "embedded_dynamodb", "--port", str(port)])
        deadline = time.monotonic() + 60
        while not port_open(port):
            if process.poll() is not None:
                raise CommandError(f"The embedded DynamoDB exited with code {process.returncode}.")
            if time.monotonic() > deadline:
                process.kill()
                raise CommandError("The embedded DynamoDB did not start within 60 seconds.")
            time.sleep(0.1)
        self.stdout.write(f"Embedded DynamoDB on port {port}, data in {settings.DYNAMODB_EMBEDDED_DIR}.")
