"""RSS of a fresh worker process per role: `python -m bench.worker_rss`.

Each role runs in its own interpreter that imports what `boardroom worker --role ROLE` imports and
builds that worker's registration lists (workers/worker.py `registrations`), then reports VmRSS
and the number of loaded modules. No Temporal server is needed. infra/README.md quotes the figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROLES = ("all", "workflows", "activities")

_PROBE = """
import json, sys
import workers.devstack_runner
from boardroom.settings import load_settings
from workers.worker import registrations

settings = load_settings(environment="test", database_url={database_url!r}, worker_role={role!r})
workflows, activities = registrations(settings)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({{
    "role": {role!r},
    "workflows": len(workflows),
    "activities": len(activities),
    "rss_mib": int(status["VmRSS"].split()[0]) / 1024,
    "modules": len(sys.modules),
}}))
"""


def measure(role: str, database_url: str) -> dict[str, object]:
    code = textwrap.dedent(_PROBE.format(role=role, database_url=database_url))
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'rss.db'}"
        for role in ROLES:
            r = measure(role, database_url)
            print(
                f"{role:<11} {r['rss_mib']:6.1f} MiB  {r['workflows']} workflows  "
                f"{r['activities']:>2} activities  {r['modules']} modules"
            )


if __name__ == "__main__":
    main()
