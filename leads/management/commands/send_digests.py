"""Email each active staff member their follow-ups overdue and due today, once a day (cron, or Zappa's schedule)."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leads.management import digests


class Command(BaseCommand):
    help = ("Send each active staff member with follow-ups overdue or due today one email listing them; "
            "running it again the same day sends nothing more.")

    def add_arguments(self, parser):
        parser.add_argument("--site-url", default=None,
                            help="where staff open the app, for the links (default: LEADS_SITE_URL)")

    def handle(self, *args, site_url, **options):
        site_url = site_url if site_url is not None else settings.LEADS_SITE_URL
        if not site_url.startswith(("http://", "https://")):
            raise CommandError("Set LEADS_SITE_URL (or --site-url) to where staff open the app, such as "
                               "https://leads.example.com: the emails link to lead pages there.")
        run = digests.send_digests(site_url=site_url)
        self.stdout.write(f"Sent {run.sent} digest(s); {run.nothing_due} with nothing due, "
                          f"{run.already_sent} sent already today, {len(run.failed)} failed.")
        if run.failed:
            raise CommandError(f"{len(run.failed)} digest(s) could not be sent; the next run sends them.")
