"""The one interface the bridge speaks to an ERP through. The reference adapter is Tryton 8.2
(``erp_bridge.adapters.tryton``); another ERP is another class with these methods.

Transient trouble raises ``ErpUnavailable``; a refusal retrying cannot cure raises ``ErpRejected``.
"""

from __future__ import annotations

from typing import Protocol

from erp_bridge.domain.model import Customer, ErpOrder, OrderLine


class ErpPort(Protocol):
    def upsert_customer(self, customer: Customer) -> int:
        """The ERP party with ``customer.party_code``: created, or its name and address brought up to date."""

    def create_free_order(self, reference: str, party: int, customer: Customer, lines: tuple[OrderLine, ...],
                          cost_centre: str, currency: str) -> ErpOrder:
        """A draft sale at zero price with the cost centre as analytic account on every line."""

    def create_sale_order(self, reference: str, party: int, customer: Customer, lines: tuple[OrderLine, ...],
                          currency: str) -> ErpOrder:
        """A draft sale of a won deal's lines at their prices."""

    def find_order(self, reference: str) -> ErpOrder | None:
        """The ERP order carrying our reference, if any."""

    def read_order(self, erp_id: int) -> ErpOrder:
        """An order's current state."""

    def quote(self, order: ErpOrder) -> ErpOrder:
        """draft -> quotation."""

    def confirm(self, order: ErpOrder) -> ErpOrder:
        """quotation -> confirmed (the ERP may go on to processing)."""
