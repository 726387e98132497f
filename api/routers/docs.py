"""The API reference as a plain page: every JSON route from the OpenAPI schema, no script.

FastAPI's Swagger UI and ReDoc load scripts from a CDN and run inline script, which the pages'
Content-Security-Policy refuses; tools read `/openapi.json` itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.routers.pages import templates

router = APIRouter(tags=["docs"], include_in_schema=False)

METHODS = ("get", "post", "put", "patch", "delete")


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body: dict[str, Any] = op.get("requestBody", {}).get("content", {})
            first: dict[str, Any] = next(iter(body.values()), {})
            schema: dict[str, Any] = first.get("schema", {})
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": (op.get("description") or "").strip(),
                    "body": schema.get("$ref", "").rsplit("/", 1)[-1] or ("form" if body else ""),
                    "responses": sorted(op.get("responses", {})),
                    "tag": (op.get("tags") or [""])[0],
                }
            )
    return rows


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The JSON API's routes, their bodies and answers. Read-only; needs no key (the schema is public)."""
    spec = request.app.openapi()
    return templates.TemplateResponse(
        request,
        "docs.html",
        {"ops": operations(spec), "title": spec["info"]["title"], "version": spec["info"]["version"]},
    )
