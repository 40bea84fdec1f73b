"""Take one Zappa stage down: the stream trigger and the Zappa deployment; the tables only when named."""
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leads.management.commands.deploy import current_venv
from leads.management.deploy import Deployment, DeployError, Stage


class Command(BaseCommand):
    help = (
        "Undo `deploy` for a stage: remove the leads stream's trigger, then `zappa undeploy` (function, API "
        "Gateway, rules). The tables hold the leads and stay, unless --delete-tables names their stack."
    )

    def add_arguments(self, parser):
        parser.add_argument("--stage", required=True)
        parser.add_argument("--dry-run", action="store_true", help="Print what would be removed; change nothing.")
        parser.add_argument("--delete-tables", default="", metavar="STACK",
                            help="Also delete the tables' stack and every table in it, with all the leads. "
                                 "Confirm by giving the stack's name (deploy's plan shows it).")
        parser.add_argument("--zappa-settings", type=Path, default=settings.BASE_DIR / "zappa_settings.json")

    def handle(self, *args, stage, dry_run, delete_tables, zappa_settings, **options):
        try:
            deployment = Deployment(Stage.load(zappa_settings, stage), venv=current_venv(), say=self.stdout.write)
            deployment.undeploy(delete_tables=delete_tables, dry_run=dry_run)
        except DeployError as error:
            raise CommandError(str(error)) from None
        except (BotoCoreError, ClientError) as error:  # no credentials, a permission missing, a limit…
            raise CommandError(f"AWS: {error}") from None
