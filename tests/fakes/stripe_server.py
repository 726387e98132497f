"""A fake Stripe API on loopback that the unmodified `stripe` package talks to.

Speaks the wire protocol: bearer API key, form-encoded bodies with bracketed nested keys,
`Idempotency-Key` (same key and parameters → the same response, replayed, counted once; same
key, other parameters → 400 idempotency_error), Stripe-style error bodies.
"""

from __future__ import annotations

import itertools
import re
import time
import urllib.parse
from typing import Any

from tests.fakes.server import FakeServer, Recorded, Reply


def decode_form(body: bytes) -> dict[str, Any]:
    """`a[b][0][c]=1` → {"a": {"b": [{"c": "1"}]}}, as Stripe decodes its form bodies."""
    out: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(body.decode(), keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _listify(out)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def _error(status: int, message: str, *, kind: str = "invalid_request_error", **extra: str) -> Reply:
    return Reply(status, {"error": {"type": kind, "message": message, **extra}})


class FakeStripe(FakeServer):
    """Products, prices and payment links; `products`, `prices`, `payment_links` by id."""

    def __init__(self, api_key: str = "sk_test_fake") -> None:
        super().__init__()
        self.api_key = api_key
        self.products: dict[str, dict[str, Any]] = {}
        self.prices: dict[str, dict[str, Any]] = {}
        self.payment_links: dict[str, dict[str, Any]] = {}
        self._idempotent: dict[str, tuple[str, str, dict[str, Any], Reply]] = {}
        self._ids = itertools.count(1)
        self.route("POST", r"/v1/products", self._create_product)
        self.route("POST", r"/v1/prices", self._create_price)
        self.route("POST", r"/v1/payment_links", self._create_payment_link)
        self.route("GET", r"/v1/payment_links/(?P<id>[^/]+)", self._get_payment_link)
        self.route("POST", r"/v1/payment_links/(?P<id>[^/]+)", self._update_payment_link)

    def form(self, rec: Recorded) -> dict[str, Any]:
        return decode_form(rec.body)

    def not_found(self, rec: Recorded) -> Reply:
        return _error(404, f"Unrecognized request URL ({rec.method}: {rec.path}).")

    # Authentication and idempotency wrap every route.
    def _handle(self, rec: Recorded) -> Reply:
        auth = rec.header("Authorization") or ""
        if auth != f"Bearer {self.api_key}":
            return _error(401, "Invalid API Key provided.")
        key = rec.header("Idempotency-Key")
        if rec.method != "POST" or not key:
            return super()._handle(rec)
        params = self.form(rec)
        seen = self._idempotent.get(key)
        if seen is not None:
            method, path, first_params, reply = seen
            if (method, path, first_params) != (rec.method, rec.path, params):
                return _error(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    kind="idempotency_error",
                )
            return Reply(reply.status, reply.body, {**reply.headers, "Idempotent-Replayed": "true"})
        reply = super()._handle(rec)
        if reply.status < 500:
            self._idempotent[key] = (rec.method, rec.path, params, reply)
        return reply

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):08d}"

    @staticmethod
    def _common(obj: str, oid: str, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": oid,
            "object": obj,
            "created": int(time.time()),
            "livemode": False,
            "metadata": params.get("metadata") or {},
        }

    def _create_product(self, rec: Recorded, _m: re.Match[str]) -> Reply:
        params = self.form(rec)
        if not params.get("name"):
            return _error(400, "Missing required param: name.", param="name")
        product = self._common("product", self._new_id("prod"), params) | {
            "name": params["name"],
            "description": params.get("description"),
            "active": True,
        }
        self.products[product["id"]] = product
        return Reply(200, product)

    def _create_price(self, rec: Recorded, _m: re.Match[str]) -> Reply:
        params = self.form(rec)
        for required in ("currency", "product", "unit_amount"):
            if not params.get(required):
                return _error(400, f"Missing required param: {required}.", param=required)
        if params["product"] not in self.products:
            return _error(400, f"No such product: '{params['product']}'", code="resource_missing")
        if not params["unit_amount"].isdigit():
            return _error(400, "Invalid integer: unit_amount", param="unit_amount")
        price = self._common("price", self._new_id("price"), params) | {
            "product": params["product"],
            "unit_amount": int(params["unit_amount"]),
            "currency": params["currency"],
            "type": "one_time",
            "active": True,
        }
        self.prices[price["id"]] = price
        return Reply(200, price)

    def _create_payment_link(self, rec: Recorded, _m: re.Match[str]) -> Reply:
        params = self.form(rec)
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            return _error(400, "Missing required param: line_items.", param="line_items")
        for item in items:
            if item.get("price") not in self.prices:
                return _error(400, f"No such price: '{item.get('price')}'", code="resource_missing")
        oid = self._new_id("plink")
        link = self._common("payment_link", oid, params) | {
            "active": True,
            "url": f"{self.base_url}/pay/{oid}",
            "payment_intent_data": params.get("payment_intent_data"),
            "line_items_params": items,
        }
        self.payment_links[oid] = link
        return Reply(200, link)

    def _get_payment_link(self, _rec: Recorded, m: re.Match[str]) -> Reply:
        link = self.payment_links.get(m["id"])
        if link is None:
            return _error(404, f"No such payment_link: '{m['id']}'", code="resource_missing")
        return Reply(200, link)

    def _update_payment_link(self, rec: Recorded, m: re.Match[str]) -> Reply:
        link = self.payment_links.get(m["id"])
        if link is None:
            return _error(404, f"No such payment_link: '{m['id']}'", code="resource_missing")
        params = self.form(rec)
        if "active" in params:
            link["active"] = params["active"] == "true"
        if "metadata" in params:
            link["metadata"] = {**link["metadata"], **params["metadata"]}
        return Reply(200, link)
