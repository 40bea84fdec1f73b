"""Errors storage reports in its own terms; leads.domain.exceptions re-exports them as domain errors."""


class StorageUnavailable(Exception):
    """DynamoDB could not be reached, or throttled past every retry."""
