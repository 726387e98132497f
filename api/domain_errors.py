"""The one place a domain error becomes HTTP: its status code, and the JSON answer
`{"detail": message}` the API gives for it (the handler is installed in api/app.py).

The pages that render their own error page for a refusal take the status from `status_for` too.
"""

from __future__ import annotations

from fastapi import Request, status
from fastapi.responses import JSONResponse

from domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unavailable

STATUS: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Invalid: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def status_for(exc: DomainError) -> int:
    """The status of the nearest kind the error is (UnknownGate is a NotFound: 404); 400 for a
    bare DomainError."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return status.HTTP_400_BAD_REQUEST


async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse({"detail": exc.message}, status_code=status_for(exc))
