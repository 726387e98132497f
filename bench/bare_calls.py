"""The activity calls a bare run makes when it runs Boardroom's own activities (the overhead
reference "same activities"): one measured project's activities, with the inputs its history
recorded, renamed for each bare run so that every run works on a project of its own.

Inputs carry what earlier activities returned: the ids of stored documents (the research,
each deliverable, the site). A bare run stores its own documents, under new ids, so it learns
each id's replacement from the results it gets (`learn`: the recorded result beside the one it
got) and puts it into the later inputs (`rename_ids`) — as the project's own code passes them on.

The bench writes the calls to a JSON file (`write`); the bare worker reads that file once at
start (`load`, from BENCH_BARE_CALLS) into `CALLS`, which its workflows read by their workflow
id. The module is passed through the workflow sandbox, so every run sees the one copy the worker
loaded; the file does not change while the worker runs, so a replay reads what the first run read.
Everything here but `write` and `load` is pure: workflow code calls it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload

ENV = "BENCH_BARE_CALLS"

# Keys whose value is a stored document's id (an int, or its digits in a details map), and keys
# whose value is a list of them.
DOCUMENT_ID_KEYS = frozenset(
    {
        "document_id",
        "deliverable_id",
        "research_document_id",
        "site_document_id",
        "previous_deliverable_id",
        "edited_deliverable_id",
        "source_document_id",
    }
)
DOCUMENT_IDS_KEYS = frozenset({"deliverable_ids", "published_ids"})
# Lookups whose results name other projects' documents: nothing to learn from them (nor from a
# result's `related`, the documents research found).
NOT_LEARNED_FROM = frozenset({"related_documents"})
NOT_LEARNED_KEYS = frozenset({"related"})


@dataclass(frozen=True)
class Call:
    """One activity call: its name, its arguments, the result the measured run got, and its
    options as scheduled (start_to_close_s, heartbeat_s, attempts, summary)."""

    name: str
    args: list[Any]
    result: Any
    options: dict[str, Any] = field(default_factory=dict)
    # Whether its arguments / its result hold document ids at all (found once, at load: the
    # bare workflow walks only those, so its own code stays as light as a bare one should be).
    carries_ids: bool = True
    returns_ids: bool = True


# Workflow id of a bare run → its calls, in the measured run's order.
CALLS: dict[str, list[Call]] = {}


class CallsError(ValueError):
    """An activity input the bare run cannot make again (not plain JSON: a payload codec)."""


def plain_json(name: str, payloads: list[Payload]) -> str:
    """The payloads as one JSON text (a list of their values)."""
    values: list[str] = []
    for p in payloads:
        encoding = p.metadata.get("encoding", b"")
        if encoding == b"binary/null":
            values.append("null")
        elif encoding == b"json/plain":
            values.append(p.data.decode())
        else:
            raise CallsError(f"{name}: payload encoded as {encoding.decode(errors='replace')!r}, not plain JSON")
    return "[" + ",".join(values) + "]"


def holds_ids(value: Any) -> bool:
    """Whether `value` has a document id key anywhere."""
    if isinstance(value, dict):
        return any(k in DOCUMENT_ID_KEYS or k in DOCUMENT_IDS_KEYS or holds_ids(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_ids(v) for v in value)
    return False


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def learn(recorded: Any, got: Any, ids: dict[int, int]) -> None:
    """Every document id where the recorded result and the result got differ: old → new."""
    if isinstance(recorded, dict) and isinstance(got, dict):
        for key, old in recorded.items():
            if key not in got or key in NOT_LEARNED_KEYS:
                continue
            new = got[key]
            if key in DOCUMENT_ID_KEYS:
                o, n = _as_id(old), _as_id(new)
                if o is not None and n is not None and o != n:
                    ids[o] = n
            else:
                learn(old, new, ids)
    elif isinstance(recorded, list) and isinstance(got, list):
        for old, new in zip(recorded, got, strict=False):
            learn(old, new, ids)


def rename_ids(value: Any, ids: dict[int, int]) -> Any:
    """`value` with every document id the run has learned a replacement for replaced."""
    if not ids:
        return value
    if isinstance(value, list):
        return [rename_ids(v, ids) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, v in value.items():
        if key in DOCUMENT_ID_KEYS and _as_id(v) in ids:
            new = ids[_as_id(v)]  # type: ignore[index]
            out[key] = str(new) if isinstance(v, str) else new
        elif key in DOCUMENT_IDS_KEYS and isinstance(v, list):
            out[key] = [ids.get(i, i) if isinstance(i, int) and not isinstance(i, bool) else i for i in v]
        else:
            out[key] = rename_ids(v, ids)
    return out


def write(path: Path, calls: list[tuple[str, str, str, dict[str, Any]]], renames: dict[str, tuple[str, str]]) -> None:
    """`calls`: (activity name, its arguments as JSON text, its result as JSON text, its options);
    `renames`: workflow id of a bare run → (the measured project's id, the id its project gets)."""
    path.write_text(json.dumps({"calls": calls, "renames": renames}))


def load(path: str | os.PathLike[str] | None = None) -> int:
    """Fill `CALLS` from the file (default: BENCH_BARE_CALLS, when set); how many runs it holds."""
    source = path or os.environ.get(ENV)
    if not source:
        return 0
    data = json.loads(Path(source).read_text())
    CALLS.clear()
    for workflow_id, (old, new) in data["renames"].items():
        calls = []
        for name, args, result, options in data["calls"]:
            results = json.loads(result.replace(old, new))
            value = json.loads(args.replace(old, new))
            got = results[0] if results else None
            calls.append(
                Call(
                    name,
                    value,
                    got,
                    options,
                    carries_ids=holds_ids(value),
                    returns_ids=name not in NOT_LEARNED_FROM and holds_ids(got),
                )
            )
        CALLS[workflow_id] = calls
    return len(CALLS)
