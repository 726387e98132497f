"""Who is asking: the owner whose projects, deliverables and lessons a request may read and change.

The authenticated principal (api.auth): the name of the caller's API key, or the local owner
("ceo") of an instance without keys — the same name projects are
created under, so a caller sees and changes only their own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.auth import PrincipalDep


def caller_owner(principal: PrincipalDep) -> str:
    """The owner this request acts for."""
    return principal.name[:200]


OwnerDep = Annotated[str, Depends(caller_owner)]
