"""The `boardroom` command: run the stack, and (through the API) start and follow projects.

Every failure a person can cause ends with one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from domain.errors import ConfigError

Handler = Callable[[argparse.Namespace], int]
SERVICES = ("up", "worker", "api")
# Keep in step with boardroom.settings.WORKER_ROLES (not imported here: the CLI starts light).
WORKER_ROLES = ("all", "workflows", "activities")
# Commands that hold a Temporal client (its native threads) until they end.
TEMPORAL_COMMANDS = (*SERVICES, "digest")


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from boardroom.settings import load_settings

    return load_settings(getattr(args, "config", None))


def cmd_up(args: argparse.Namespace) -> int:
    from boardroom.devstack import load_devstack
    from workers.devstack_runner import up_main

    dev = load_devstack(args.config)
    from boardroom.settings import load_dev_stack_settings

    settings = load_dev_stack_settings(args.config)
    base = Path(args.config).resolve().parent if args.config else Path.cwd()
    asyncio.run(up_main(settings, dev, base))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from boardroom.settings import load_settings
    from workers.devstack_runner import worker_main

    # --role wins over BOARDROOM_WORKER_ROLE; without it the setting decides (default `all`).
    overrides = {"worker_role": args.role} if args.role else {}
    asyncio.run(worker_main(load_settings(args.config, **overrides)))
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    from workers.devstack_runner import api_main

    asyncio.run(api_main(_settings(args)))
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from boardroom.client import connect
    from workers.schedules import describe_digest, run_digest_now

    settings = _settings(args)

    async def go() -> str:
        client = await connect(settings)
        if not args.now:
            return await describe_digest(client, settings)
        result = await run_digest_now(client, settings)
        if not result.pending:
            return "digest: nothing waits for a decision; nothing sent"
        sent = ", ".join(result.sent) or "no channel"
        failed = f"; failed: {', '.join(result.failed)}" if result.failed else ""
        return f"digest: {result.pending} pending decision(s) sent by {sent}{failed}"

    print(asyncio.run(go()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="boardroom", description=__doc__)
    parser.add_argument("--config", help="path to temporal-dev.yaml (default: the repository's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("up", help="start Temporal dev server, worker and API; Ctrl-C stops all").set_defaults(
        handler=cmd_up
    )
    worker = sub.add_parser("worker", help="run a worker against the configured Temporal")
    worker.add_argument(
        "--role",
        choices=WORKER_ROLES,
        help="all: workflows and activities (default, or BOARDROOM_WORKER_ROLE); "
        "workflows: workflows and the store activities they run locally; activities: activities only",
    )
    worker.set_defaults(handler=cmd_worker)
    sub.add_parser("api", help="run the API against the configured Temporal").set_defaults(handler=cmd_api)
    digest = sub.add_parser("digest", help="show the daily digest schedule; --now sends the digest now")
    digest.add_argument("--now", action="store_true", help="trigger the schedule once and wait for the run")
    digest.set_defaults(handler=cmd_digest)
    __import__("boardroom.cli_client", fromlist=["register"]).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose or args.command in ("up", "worker", "api") else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # The SDK's own logs at WARNING keep `up` readable.
    logging.getLogger("temporalio").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    handler: Handler = args.handler
    try:
        code = handler(args)
    except ConfigError as exc:
        print(f"boardroom: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    if args.command in TEMPORAL_COMMANDS:
        # The worker and API have shut down cleanly by now (`digest` has printed its answer).
        # Leave without interpreter teardown: the Temporal SDK's native threads can abort the
        # process while Python finalizes, turning a clean exit into exit code -6.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
