"""A cold Lambda execution environment on loopback: Zappa's own handler, fed events one per line.

Run as `python lambda_worker.py <dir holding zappa_settings.py>` from the project root (Lambda's
/var/task). Each line on stdin is an API Gateway event; each line on stdout is what
`zappa.handler.lambda_handler` returned for it, as JSON. Nothing of the test run is imported, so the
first event is the first request this interpreter's Django ever sees: a cold start.
"""
import json
import os
import sys
from pathlib import Path


class Context:
    """The parts of Lambda's context object Zappa's handler reads."""

    function_name = "leads-stage-test"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    @staticmethod
    def get_remaining_time_in_millis():
        return 30_000


def main(settings_dir: str) -> None:
    # Zappa and the app print (Zappa's "Instancing..", log lines): keep stdout for answers only.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.path[:1] = [settings_dir, str(Path.cwd())]  # the package root, as on Lambda

    from zappa.handler import lambda_handler

    for line in sys.stdin:
        response = lambda_handler(json.loads(line), Context())
        answers.write(json.dumps(response) + "\n")
        answers.flush()


if __name__ == "__main__":
    main(sys.argv[1])
