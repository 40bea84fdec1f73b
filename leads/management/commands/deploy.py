"""Deploy one Zappa stage to AWS Lambda, idempotently: tables, static files, function, stream trigger, first admin."""
import getpass
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from leads.domain.emails import normalise_email
from leads.management.deploy import Deployment, DeployError, Stage


def current_venv() -> Path | None:
    """The virtualenv this interpreter runs in, which Zappa packages (make deploy: .venv-deploy)."""
    return Path(sys.prefix) if sys.prefix != sys.base_prefix else None


class Command(BaseCommand):
    help = (
        "Deploy a stage of zappa_settings.json to AWS Lambda: the tables' CloudFormation stack, collectstatic, "
        "zappa deploy/update, the leads stream's trigger and, if the stage has none, a first admin whose "
        "password is typed here (or read from stdin). Safe to repeat; --dry-run prints the plan only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--stage", required=True, help="A stage of zappa_settings.json, e.g. production.")
        parser.add_argument("--dry-run", action="store_true", help="Print what would be created or updated; change nothing.")
        parser.add_argument("--admin-email", default="", help="The first admin's email, when the stage has no admin yet.")
        parser.add_argument("--package", type=Path, metavar="ZIP",
                            help="Only build the package deploy would upload (collectstatic, zappa package), into ZIP.")
        parser.add_argument("--zappa-settings", type=Path, default=settings.BASE_DIR / "zappa_settings.json")
        parser.add_argument("--venv", type=Path, default=current_venv(),
                            help="The virtualenv Zappa packages (default: this one). Build it from requirements-deploy.txt.")

    def handle(self, *args, stage, dry_run, admin_email, package, zappa_settings, venv, **options):
        if venv is None:
            raise CommandError("Run from a virtualenv built from requirements-deploy.txt (make deploy does), or pass --venv.")
        email = normalise_email(admin_email)
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError("--admin-email is not a valid email address.") from None
        try:
            deployment = Deployment(Stage.load(zappa_settings, stage), venv=venv, admin_email=email,
                                    password=self.read_password, say=self.stdout.write)
            if package:
                deployment.package(package)
            else:
                deployment.deploy(dry_run=dry_run)
        except DeployError as error:
            raise CommandError(str(error)) from None
        except (BotoCoreError, ClientError) as error:  # no credentials, a permission missing, a limit…
            raise CommandError(f"AWS: {error}") from None

    def read_password(self) -> str:
        """The first admin's password: typed twice on a terminal, else the first line of stdin."""
        while True:
            if sys.stdin.isatty():
                password = getpass.getpass("First admin's password: ")
                if password != getpass.getpass("Password (again): "):
                    self.stderr.write("The passwords do not match.")
                    continue
            else:
                password = sys.stdin.readline().rstrip("\r\n")
            try:
                password_validation.validate_password(password)
            except ValidationError as error:
                if not sys.stdin.isatty():
                    raise CommandError("The password on stdin is refused: " + " ".join(error.messages)) from None
                self.stderr.write("\n".join(error.messages))
                continue
            return password
