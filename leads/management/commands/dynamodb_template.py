"""Print the CloudFormation template (or just an IAM policy) generated from the PynamoDB models."""
import json

import botocore.session
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leads.storage import cloudformation
from leads.management.maintenance import IAM_GRANTS
from leads.storage.models import ALL_MODELS


class Command(BaseCommand):
    help = (
        "Print a CloudFormation template (JSON) with every table, index, TTL and stream the models declare, "
        "and least-privilege IAM policies for the app, for create_tables and for the maintenance commands."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--policy-only", action="store_true",
            help="Print only the app's IAM policy document, with ARNs for DYNAMODB_TABLE_PREFIX and AWS_REGION.",
        )
        parser.add_argument("--admin", action="store_true", help="With --policy-only: the create_tables policy instead.")
        parser.add_argument("--maintenance", action="store_true",
                            help="With --policy-only: the leads_audit and seed_demo policy instead.")
        parser.add_argument("--account-id", default="*", help="With --policy-only: the AWS account in the ARNs.")

    def handle(self, *args, policy_only, admin, maintenance, account_id, **options):
        if (admin or maintenance) and not policy_only:
            raise CommandError("--admin and --maintenance go with --policy-only; the template has every policy.")
        if admin and maintenance:
            raise CommandError("Choose one of --admin and --maintenance.")
        if policy_only and maintenance:
            output = cloudformation.maintenance_policy_document(ALL_MODELS, IAM_GRANTS, self.literal_arns(account_id))
        elif policy_only:
            document = cloudformation.admin_policy_document if admin else cloudformation.app_policy_document
            output = document(ALL_MODELS, self.literal_arns(account_id))
        else:
            output = cloudformation.template(ALL_MODELS, IAM_GRANTS)
        self.stdout.write(json.dumps(output, indent=2))

    def literal_arns(self, account_id: str) -> cloudformation.LiteralArns:
        """ARNs for the tables this configuration uses."""
        region = settings.AWS_REGION
        partition = botocore.session.get_session().get_partition_for_region(region)
        return cloudformation.LiteralArns(
            prefix=settings.DYNAMODB_TABLE_PREFIX, region=region, account=account_id, partition=partition,
        )
