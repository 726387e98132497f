"""The activities as the workflows declare them (workflows/activity_defs.py and the declarations
beside their workflows) agree with what the worker registers: every declared activity is
registered under its name, with the same input type, and a result the declaration accepts; and
no declaration (whose body never runs) is itself registered."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from boardroom.settings import load_settings
from workers.worker import registrations
from workflows import activity_defs, digest, notices, smoke


def _declared() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for module in (activity_defs, notices, digest, smoke):
        for fn in vars(module).values():
            definition = getattr(fn, "__temporal_activity_definition", None)
            if definition is not None and inspect.iscoroutinefunction(fn):
                found[definition.name] = fn
    return found


def _types(fn: Callable[..., Any]) -> tuple[list[Any], Any]:
    fn = getattr(fn, "__func__", fn)
    hints = typing.get_type_hints(fn)
    params = [p for p in inspect.signature(fn).parameters if p != "self"]
    return [hints.get(p) for p in params], hints.get("return")


def test_every_declared_activity_is_registered_with_the_same_types(tmp_path: Path) -> None:
    settings = load_settings(environment="test", database_url=f"sqlite:///{tmp_path / 'defs.db'}")
    _, registered = registrations(settings)
    implementations = {a.__temporal_activity_definition.name: a for a in registered}  # type: ignore[attr-defined]
    declared = _declared()
    # What the workflows call: the agents, the store writes, the integrations, the notices.
    assert {"produce", "review", "sync_project", "open_gate", "validate_launch", "send_digest", "ping"} <= set(declared)
    assert set(declared) <= set(implementations), sorted(set(declared) - set(implementations))
    for name, fn in declared.items():
        implementation = implementations[name]
        assert fn.__name__ == name, f"{fn.__name__} declares {name}: the summaries use the function's name"
        if implementation is fn:
            continue  # a workflow may call the implementation itself (smoke calls health.ping)
        assert fn.__module__.startswith("workflows."), fn.__module__
        declared_args, declared_result = _types(fn)
        impl_args, impl_result = _types(implementation)
        assert declared_args == impl_args, (name, declared_args, impl_args)
        # Equal, or one member of a declared union (open_gate: older workers answered None).
        union = typing.get_origin(declared_result) in (typing.Union, types.UnionType)
        assert impl_result == declared_result or (union and impl_result in typing.get_args(declared_result)), (
            name,
            declared_result,
            impl_result,
        )
    # A worker registers the bodies in activities/, never a declaration.
    assert not [a for a in registered if getattr(a, "__module__", "").startswith("workflows.")]


async def test_a_declaration_run_in_place_of_the_activity_says_so() -> None:
    with pytest.raises(RuntimeError, match="only declared in workflows/: register the one in activities/"):
        await activity_defs.produce(None)  # type: ignore[arg-type]
