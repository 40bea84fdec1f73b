"""Email backends for tests: a mail server that is down."""


class FailingEmailBackend:
    """Every send fails as an unreachable mail server does."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")
