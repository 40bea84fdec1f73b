"""Email addresses as Leads stores and compares them."""


def normalise_email(email: str) -> str:
    """The address as stored and looked up: surrounding spaces dropped, lower-cased (keys are case-sensitive)."""
    return email.strip().lower()
