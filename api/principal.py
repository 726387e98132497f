"""Who is asking: the owner whose projects, deliverables and lessons a request may read and change.

One function, so binding API keys to names changes one place. Today the JSON API and the console
answer one operator (loopback clients without keys, or any holder of a configured key), whose
projects carry the default owner "ceo"; when the auth dependency records a named principal on the
request (`request.state.principal`), that name is the owner.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

DEFAULT_OWNER = "ceo"


def caller_owner(request: Request) -> str:
    """The owner this request acts for (see the module docstring)."""
    principal = getattr(request.state, "principal", None)
    name = getattr(principal, "name", principal)
    if isinstance(name, str) and name.strip():
        return name.strip()[:200]
    return DEFAULT_OWNER


OwnerDep = Annotated[str, Depends(caller_owner)]
