"""The ERP port on Tryton 8.2 (trytond with sale, analytic_sale, party, product) over JSON-RPC.

Protocol: POST ``{url}/{database}/rpc/`` with ``{"id", "method", "params"}``; ``common.db.login`` answers
``[user id, session, ...]`` and later calls carry ``Authorization: Session base64(login:user_id:session)``.
Decimals travel as ``{"__class__": "Decimal", "decimal": "1.00"}`` (dates likewise). Model methods take the
user's context (company, language) as their last parameter, which the Tryton client sends too: the server
does not add it.

What the ERP holds for us:
- a party per customer, keyed by its unique ``code``; an address per recipient and address;
- an analytic account per cost centre (code = our "departments/{id}") under the root ``COST_CENTRES``;
- a sale per order with ``reference`` = ours: zero unit price and the cost centre on each line for a
  sample, the deal's prices for a won deal; quoted, then confirmed.
"""

from __future__ import annotations

import base64
import json
import threading
from decimal import Decimal
from typing import Any

import requests

from erp_bridge.domain.model import Customer, ErpOrder, ErpRejected, ErpUnavailable, OrderLine

COST_CENTRE_ROOT_CODE = "COST_CENTRES"
# Tryton exceptions that mean "try again", not "no".
_TRANSIENT = frozenset({"ConcurrencyException", "RateLimitException", "LoginException"})
_ORDER_FIELDS = ["id", "number", "state", "reference"]


def _encode(obj: object) -> dict:
    if isinstance(obj, Decimal):
        return {"__class__": "Decimal", "decimal": str(obj)}
    raise TypeError(f"cannot send {type(obj).__name__} to Tryton")


def _decode(dct: dict) -> object:
    if dct.get("__class__") == "Decimal":
        return Decimal(dct["decimal"])
    return dct


class TrytonErp:
    """One instance per process; thread- and greenlet-safe (one login shared, renewed when it expires)."""

    def __init__(self, url: str, database: str, user: str, password: str, *, timeout: float = 10.0) -> None:
        self.endpoint = f"{url.rstrip('/')}/{database}/rpc/"
        self.user = user
        self.password = password
        self.timeout = timeout
        self._http = requests.Session()
        self._lock = threading.Lock()
        self._auth: str | None = None
        self._context: dict = {}
        self._products: dict[str, tuple[int, int]] = {}
        self._currencies: dict[str, int] = {}
        self._root: int | None = None
        self._cost_centres: dict[str, int] = {}

    # --- transport ---------------------------------------------------------------------------------

    def _post(self, method: str, params: list, auth: str | None) -> Any:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        body = json.dumps({"id": 0, "method": method, "params": params}, default=_encode)
        try:
            response = self._http.post(self.endpoint, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ErpUnavailable(f"Tryton unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code in (401, 403):
            raise _SessionExpired(response.status_code)
        if response.status_code >= 500 or response.status_code in (409, 423, 429):
            raise ErpUnavailable(f"Tryton answered HTTP {response.status_code} to {method}")
        if response.status_code != 200:
            raise ErpRejected(f"Tryton answered HTTP {response.status_code} to {method}: {response.text[:300]}")
        reply = json.loads(response.text, object_hook=_decode)
        if "error" in reply and reply["error"]:
            raise _error(method, reply["error"])
        return reply.get("result")

    def _login(self) -> None:
        try:
            result = self._post("common.db.login", [self.user, {"password": self.password}, "en"], None)
        except _SessionExpired as exc:
            # a bad login is configuration, fixed outside: retried with the job's backoff, bounded by its budget
            raise ErpUnavailable(f"Tryton refused the login of {self.user!r} (HTTP {exc.args[0]})") from exc
        if not result:
            raise ErpRejected(f"Tryton refused the login of {self.user!r}")
        user_id, session = result[0], result[1]
        token = base64.b64encode(f"{self.user}:{user_id}:{session}".encode()).decode()
        auth = f"Session {token}"
        self._context = self._post("model.res.user.get_preferences", [True, {}], auth) or {}
        self._auth = auth

    def call(self, method: str, *params: object) -> Any:
        """A model method with the user's context appended; logs in (again) when needed."""
        for _ in range(2):
            with self._lock:
                if self._auth is None:
                    self._login()
                auth, context = self._auth, self._context
            try:
                return self._post(method, [*params, context], auth)
            except _SessionExpired:
                with self._lock:
                    if self._auth == auth:
                        self._auth = None
        raise ErpUnavailable(f"Tryton session kept expiring during {method}")

    # --- the port ----------------------------------------------------------------------------------

    def upsert_customer(self, customer: Customer) -> int:
        found = self.call("model.party.party.search_read", [("code", "=", customer.party_code)], 0, 1, None,
                          ["id", "name"])
        if found:
            party = found[0]
            if customer.name and party["name"] != customer.name:
                self.call("model.party.party.write", [party["id"]], {"name": customer.name})
            return party["id"]
        try:
            party_id, = self.call("model.party.party.create", [{"name": customer.name or customer.party_code,
                                                                "code": customer.party_code}])
            return party_id
        except ErpRejected:
            # another worker created the same customer a moment ago (the code is unique)
            found = self.call("model.party.party.search_read", [("code", "=", customer.party_code)], 0, 1, None,
                              ["id"])
            if found:
                return found[0]["id"]
            raise

    def create_free_order(self, reference: str, party: int, customer: Customer, lines: tuple[OrderLine, ...],
                          cost_centre: str, currency: str) -> ErpOrder:
        root = self._cost_centre_root()
        account = self._cost_centre(cost_centre)
        analytic = [["create", [{"root": root, "account": account}]]]
        return self._create_sale(reference, party, customer, lines, currency, analytic)

    def create_sale_order(self, reference: str, party: int, customer: Customer, lines: tuple[OrderLine, ...],
                          currency: str) -> ErpOrder:
        return self._create_sale(reference, party, customer, lines, currency, None)

    def find_order(self, reference: str) -> ErpOrder | None:
        found = self.call("model.sale.sale.search_read", [("reference", "=", reference)], 0, None, [["id", "ASC"]],
                          _ORDER_FIELDS)
        live = [o for o in found if o["state"] != "cancelled"] or found
        return _order(live[0]) if live else None

    def read_order(self, erp_id: int) -> ErpOrder:
        found = self.call("model.sale.sale.read", [erp_id], _ORDER_FIELDS)
        if not found:
            raise ErpRejected(f"Tryton sale {erp_id} no longer exists")
        return _order(found[0])

    def quote(self, order: ErpOrder) -> ErpOrder:
        self.call("model.sale.sale.quote", [order.erp_id])
        # the button raised nothing, so the sale is a quotation; its number is read after the confirm
        return ErpOrder(order.erp_id, order.number, "quotation", order.reference)

    def confirm(self, order: ErpOrder) -> ErpOrder:
        self.call("model.sale.sale.confirm", [order.erp_id])
        return self.read_order(order.erp_id)

    # --- Tryton specifics --------------------------------------------------------------------------

    def _create_sale(self, reference: str, party: int, customer: Customer, lines: tuple[OrderLine, ...],
                     currency: str, analytic: list | None) -> ErpOrder:
        invoice_address, shipment_address = self._addresses(party, customer)
        sale_lines = []
        for line in lines:
            product, unit = self._product(line.product)
            values = {"type": "line", "product": product, "unit": unit, "quantity": float(line.quantity),
                      "unit_price": line.unit_price, "description": line.description or line.product}
            if analytic is not None:
                values["analytic_accounts"] = analytic
            sale_lines.append(values)
        sale_id, = self.call("model.sale.sale.create", [{
            "party": party, "invoice_address": invoice_address, "shipment_address": shipment_address,
            "currency": self._currency(currency), "reference": reference,
            "description": reference, "lines": [["create", sale_lines]]}])
        return ErpOrder(erp_id=sale_id, number="", state="draft", reference=reference)

    def _addresses(self, party: int, customer: Customer) -> tuple[int, int]:
        """(invoice address, shipment address): the party's first address, and the recipient's (made once)."""
        existing = self.call("model.party.address.search_read", [("party", "=", party)], 0, None, [["id", "ASC"]],
                             ["id", "party_name", "street_unstructured"])
        wanted = {"party_name": customer.recipient or None, "street_unstructured": customer.address or None}
        shipment = next((a["id"] for a in existing
                         if (a["party_name"] or None) == wanted["party_name"]
                         and (a["street_unstructured"] or None) == wanted["street_unstructured"]), None)
        if shipment is None:
            shipment, = self.call("model.party.address.create", [dict(wanted, party=party)])
        invoice = existing[0]["id"] if existing else shipment
        return invoice, shipment

    def _product(self, code: str) -> tuple[int, int]:
        if code not in self._products:
            found = self.call("model.product.product.search_read", [("code", "=", code), ("salable", "=", True)],
                              0, 1, None, ["id", "sale_uom"])
            if not found:
                raise ErpRejected(f"the ERP has no salable product with code {code!r}")
            self._products[code] = (found[0]["id"], found[0]["sale_uom"])
        return self._products[code]

    def _currency(self, code: str) -> int:
        if code not in self._currencies:
            found = self.call("model.currency.currency.search", [("code", "=", code)], 0, 1, None)
            if not found:
                raise ErpRejected(f"the ERP has no currency {code!r}")
            self._currencies[code] = found[0]
        return self._currencies[code]

    def _cost_centre_root(self) -> int:
        if self._root is None:
            found = self.call("model.analytic_account.account.search",
                              [("code", "=", COST_CENTRE_ROOT_CODE), ("type", "=", "root")], 0, 1, None)
            if not found:
                raise ErpRejected(f"the ERP has no analytic root account {COST_CENTRE_ROOT_CODE!r} for cost centres")
            self._root = found[0]
        return self._root

    def _cost_centre(self, code: str) -> int:
        """The analytic account of a cost centre, made when missing. Two workers may both make it; the
        oldest wins and the other removes its own, so every order of a department uses one account."""
        if code in self._cost_centres:
            return self._cost_centres[code]
        root = self._cost_centre_root()
        domain = [("code", "=", code), ("root", "=", root)]
        found = self.call("model.analytic_account.account.search", domain, 0, None, [["id", "ASC"]])
        if found:
            self._cost_centres[code] = found[0]
            return found[0]
        mine, = self.call("model.analytic_account.account.create", [{
            "name": f"Sales department {code.removeprefix('departments/')}", "code": code, "type": "normal",
            "root": root, "parent": root}])
        found = self.call("model.analytic_account.account.search", domain, 0, None, [["id", "ASC"]])
        if found[0] != mine:
            self.call("model.analytic_account.account.delete", [mine])
        self._cost_centres[code] = found[0]
        return found[0]


class _SessionExpired(Exception):
    pass


def _order(row: dict) -> ErpOrder:
    return ErpOrder(erp_id=row["id"], number=row.get("number") or "", state=row["state"],
                    reference=row.get("reference") or "")


def _error(method: str, error: object) -> Exception:
    if isinstance(error, list) and error and isinstance(error[0], str):
        name = error[0]
        detail = error[1] if len(error) > 1 else ""
        if isinstance(detail, list):  # a Tryton exception: [class name, [message, description, ...]]
            message = " ".join(str(part) for part in detail[:2] if part)
            if name in _TRANSIENT:
                return ErpUnavailable(f"Tryton {name} in {method}: {message}")
            return ErpRejected(f"Tryton refused {method}: {name}: {message}")
        # an unexpected server error: [str(exception), traceback]; the budget bounds the retries
        return ErpUnavailable(f"Tryton failed in {method}: {name[:500]}")
    return ErpUnavailable(f"Tryton failed in {method}: {error!r}"[:600])
