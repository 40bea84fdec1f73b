"""Print the CloudFormation template (or just an IAM policy) generated from the PynamoDB models."""
import json

import botocore.session
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leads import cloudformation
from leads.models import ALL_MODELS


class Command(BaseCommand):
    help = (
        "Print a CloudFormation template (JSON) with every table, index, TTL and stream the models declare, "
        "and least-privilege IAM policies for the app and for create_tables."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--policy-only", action="store_true",
            help="Print only the app's IAM policy document, with ARNs for DYNAMODB_TABLE_PREFIX and AWS_REGION.",
        )
        parser.add_argument("--admin", action="store_true", help="With --policy-only: the create_tables policy instead.")
        parser.add_argument("--account-id", default="*", help="With --policy-only: the AWS account in the ARNs.")

    def handle(self, *args, policy_only, admin, account_id, **options):
        if admin and not policy_only:
            raise CommandError("--admin goes with --policy-only; the template always has both policies.")
        if policy_only:
            document = cloudformation.admin_policy_document if admin else cloudformation.app_policy_document
            output = document(ALL_MODELS, self.literal_arns(account_id))
        else:
            output = cloudformation.template(ALL_MODELS)
        self.stdout.write(json.dumps(output, indent=2))

    def literal_arns(self, account_id: str) -> cloudformation.LiteralArns:
        """ARNs for the tables this configuration uses."""
        region = settings.AWS_REGION
        partition = botocore.session.get_session().get_partition_for_region(region)
        return cloudformation.LiteralArns(
            prefix=settings.DYNAMODB_TABLE_PREFIX, region=region, account=account_id, partition=partition,
        )
