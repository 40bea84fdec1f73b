"""App config: binds the PynamoDB models to the DynamoDB settings at start-up."""
from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self):
        """Point every model at the configured endpoint, region and table prefix."""
        from leads.storage import dynamodb

        dynamodb.configure()
