"""Domain errors raised by services and selectors; views map them to HTTP."""


class LeadsError(Exception):
    """Base class for every domain error."""


class LeadNotFound(LeadsError):
    """No lead has that id (or it was deleted)."""


class LeadConflict(LeadsError):
    """Someone else saved the lead since it was loaded."""

    def __init__(self, current=None):
        super().__init__("The lead was changed by someone else.")
        self.current = current


class RateLimited(LeadsError):
    """The client has used up its allowance for this window."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many requests; retry in {retry_after} s.")
        self.retry_after = retry_after


class StorageUnavailable(LeadsError):
    """DynamoDB could not be reached, or throttled past every retry."""


class StaffExists(LeadsError):
    """A staff account with that email already exists."""


class StaffNotFound(LeadsError):
    """No staff account has that email (or it was removed meanwhile)."""
