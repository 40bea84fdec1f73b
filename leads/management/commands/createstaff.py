"""Create (or, with --noinput, ensure) a staff account: how the first admin exists; everyone else is invited.

Every password it sets passes leads.accounts.passwords.validate_new_password, with --noinput too (a
LEADS_ADMIN_PASSWORD the rules refuse stops the command with their messages); an existing account whose
password already matches LEADS_ADMIN_PASSWORD is left alone, so tightening the rules never locks out a
running deployment's admin.
"""
import getpass
import os

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from leads.accounts.passwords import PasswordOwner, validate_new_password
from leads.domain import selectors, services
from leads.domain.emails import normalise_email
from leads.storage.models import ROLES


class Command(BaseCommand):
    help = (
        "Create a staff account. Interactive by default; with --noinput, reads LEADS_ADMIN_EMAIL and "
        "LEADS_ADMIN_PASSWORD and makes sure that account exists with that password (safe to repeat)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email")
        parser.add_argument("--name", default="")
        parser.add_argument("--role", choices=ROLES, default="admin")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args, email, name, role, interactive, **options):
        if interactive:
            email, password = self.ask(email, name)
        else:
            email = normalise_email(email or os.environ.get("LEADS_ADMIN_EMAIL", ""))
            password = os.environ.get("LEADS_ADMIN_PASSWORD", "")
            if not email or not password:
                raise CommandError("Set LEADS_ADMIN_EMAIL and LEADS_ADMIN_PASSWORD (or pass --email) with --noinput.")
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        existing = selectors.staff_get(email=email)
        if existing is None or not check_password(password, existing.password):
            self.check_rules(password, PasswordOwner(email=email, name=name or (existing.name if existing else "")))
        if existing is None:
            services.staff_create(email=email, password=password, role=role, name=name)
            self.stdout.write(f"Created {role} {email}.")
            return
        if interactive:
            raise CommandError(f"There is already an account for {email}.")
        # Make the account match the environment, touching (and signing out) only what differs.
        changes = {}
        if not check_password(password, existing.password):
            changes["password"] = password
        if existing.role != role:
            changes["role"] = role
        if not existing.active:
            changes["active"] = True
        if changes:
            services.staff_update(email=email, **changes)
            self.stdout.write(f"Updated {email}: {', '.join(sorted(changes))}.")
        else:
            self.stdout.write(f"{email} already exists.")

    @staticmethod
    def check_rules(password: str, owner: PasswordOwner) -> None:
        """CommandError with the password rules' messages (never the password) unless it may be set."""
        try:
            validate_new_password(password, owner)
        except ValidationError as error:
            raise CommandError("The password was refused: " + " ".join(error.messages)) from None

    def ask(self, email, name):
        while not email:
            email = normalise_email(input("Email: "))
        while True:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The passwords do not match.")
                continue
            try:
                validate_new_password(password, PasswordOwner(email=email, name=name))
            except ValidationError as error:
                self.stderr.write("\n".join(error.messages))
                continue
            return email, password
