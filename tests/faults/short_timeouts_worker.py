"""`boardroom worker` with the agent activities' start-to-close timeout cut to 12 s (integrations 36 s).

Why: no activity options in workflows/options.py set a heartbeat timeout, so an activity that
was running on a SIGKILLed worker is only retried when its start-to-close timeout expires
(7 min for agents, 10 min for integrations). The crash scenarios run this worker so they
finish in seconds; `test_sigkill_retries_lost_activity_promptly` shows the product behaviour.
The dicts are mutated in place before any workflow runs: the workflow modules import them
through the sandbox's pass-through, so they see the shorter timeouts.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from workflows import options

LIMIT = timedelta(seconds=12)


def main() -> int:
    # Agent calls against the fake LLM take about a second; a launch publishes to GitHub at
    # one write per second, so integrations keep more room.
    options.AGENT["start_to_close_timeout"] = LIMIT
    options.INTEGRATION["start_to_close_timeout"] = 3 * LIMIT
    from boardroom.cli import main as cli_main

    return cli_main(["worker"])


if __name__ == "__main__":
    sys.exit(main())
