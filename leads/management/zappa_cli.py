"""Zappa's command line, leaving DynamoDB Stream triggers to `manage.py deploy`.

`python -m leads.management.zappa_cli deploy production -s settings.json` is `zappa deploy …`, except
that Zappa neither creates nor removes event-source mappings for DynamoDB Streams: Zappa 0.63 creates
them without the StartingPosition AWS requires (so it always fails), and without the retry settings
the stream handler relies on. Nor does it ask PyPI about a newer Zappa on every run (it is pinned). `manage.py deploy` manages that mapping itself (leads.management.deploy),
and `manage.py undeploy` removes it. The stream's entry stays in the settings Zappa reads, because
Zappa's handler routes each record by its stream ARN through that entry (AWS_EVENT_MAPPING in the
package's zappa_settings.py).

`manage.py deploy` runs this in a subprocess, with VIRTUAL_ENV naming the virtualenv to package.
"""
import sys
from contextlib import contextmanager

from zappa import cli


def is_stream_trigger(event: dict) -> bool:
    """True for an `events` entry whose source is a DynamoDB Stream."""
    return ":dynamodb:" in event.get("event_source", {}).get("arn", "")


class ZappaCLI(cli.ZappaCLI):
    @contextmanager
    def _without_stream_triggers(self):
        events = self.stage_config.get("events", [])
        self.override_stage_config_setting("events", [event for event in events if not is_stream_trigger(event)])
        try:
            yield
        finally:
            self.override_stage_config_setting("events", events)

    def check_for_update(self):
        """Never ask PyPI for a newer Zappa: it is pinned in requirements-deploy.txt, upgraded deliberately."""

    def schedule(self):
        with self._without_stream_triggers():
            super().schedule()

    def unschedule(self):
        with self._without_stream_triggers():
            super().unschedule()


def main(argv=None) -> int:
    """Zappa's own entry point (zappa.cli.handle), with the class above."""
    command = ZappaCLI()
    try:
        return command.handle(argv) or 0
    except BaseException:
        command.on_exit()  # what zappa.cli.handle does on any failure: remove the uploaded zip
        raise


if __name__ == "__main__":
    sys.exit(main())
