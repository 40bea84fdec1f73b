"""Export or erase everything stored for one email address: the privacy page's services, for scripts."""
import getpass
import json
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from leads.domain import erasure, subjects
from leads.domain.emails import normalise_email
from leads.domain.exceptions import LeadConflict, StorageUnavailable


def _address(value: str, what: str) -> str:
    email = normalise_email(value)
    try:
        validate_email(email)
    except ValidationError:
        raise CommandError(f"The {what} is not a valid email address.") from None
    return email


def _counts(counts: dict) -> str:
    return (f"{counts['leads']} lead(s), {counts['history']} history event(s), {counts['trash']} deleted lead(s), "
            f"{counts['markers']} delivery marker(s)")


def _operator() -> str:
    """Who ran an export without --actor: the operating-system user, as far as it is known."""
    try:
        return f"{getpass.getuser()} (manage.py)"
    except (KeyError, OSError):
        return "manage.py"


class Command(BaseCommand):
    help = (
        "One person's data. `subject_data export EMAIL [--output FILE]` writes everything stored for the address "
        "as JSON (to FILE, readable by its owner only, or to standard output); `subject_data erase EMAIL --actor "
        "ACTOR_EMAIL [--yes]` erases all of it after asking (--yes: without asking). Both are recorded in the "
        "privacy log with a keyed hash of the address, never the address. An erasure cut short is finished by "
        "running the same command again. Exits non-zero on any failure."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("email", help="the person's email address (case and surrounding spaces ignored)")
        parser.add_argument("--output", "-o", help="export: write the JSON here instead of standard output")
        parser.add_argument("--actor", help="who asks, as recorded in the privacy log (required to erase)")
        parser.add_argument("--yes", action="store_true", help="erase: do not ask for confirmation")

    def handle(self, *args, action, email, output, actor, yes, **options):
        email = _address(email, "address")
        if action == "erase" and not actor:
            raise CommandError("Say who asks for the erasure: --actor ACTOR_EMAIL.")
        actor = _address(actor, "--actor") if actor else _operator()
        try:
            if action == "export":
                self.export(email, actor, output)
            else:
                self.erase(email, actor, yes)
        except StorageUnavailable:
            raise CommandError("DynamoDB did not answer. Nothing is half-written: run the same command again "
                               "(an erasure carries on where it stopped).") from None
        except LeadConflict:
            raise CommandError("A lead of this address kept changing during the erasure. Run it again.") from None

    def export(self, email: str, actor: str, output: str | None) -> None:
        data = subjects.subject_find(email=email)
        record = erasure.subject_export_record(email=email, actor=actor, counts=data.counts)
        document = subjects.subject_document(data, exported_at=record.started_at, exported_by=actor,
                                             request_id=record.request_id)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if output:
            try:
                # Personal data: readable by its owner only, whatever the umask.
                descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            except OSError as error:
                raise CommandError(f"Cannot write {output}: {error.strerror}.") from None
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
        else:
            self.stdout.write(text, ending="")
        # The summary goes to standard error, so standard output is the JSON alone.
        self.stderr.write(f"Exported {_counts(data.counts)}; recorded as request {record.request_id}.")

    def erase(self, email: str, actor: str, yes: bool) -> None:
        found = subjects.subject_find(email=email)
        if not yes:
            try:
                answer = input(f"Erase {_counts(found.counts)} for good? This cannot be undone. Type yes to erase: ")
            except EOFError:
                answer = ""
            if answer.strip().lower() != "yes":
                raise CommandError("Not erased.")
        record = erasure.subject_erase(email=email, actor=actor)
        done = {kind: getattr(record, kind) for kind in ("leads", "history", "trash", "markers")}
        nothing = " (nothing was stored; the request is recorded)" if not any(done.values()) else ""
        self.stdout.write(f"Erased {_counts(done)}{nothing}. Request {record.request_id}, "
                          f"address hash {record.subject[:12]}…")
