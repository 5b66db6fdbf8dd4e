"""The after-sales aggregate: returns, refunds and invoices of an order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from shop.model import Invoice, Refund, ReturnEligibility, ReturnRequest


@runtime_checkable
class AfterSales(Protocol):
    def return_eligibility(self, number: str) -> ReturnEligibility: ...

    def create_return(
        self, number: str, reason: str, product_ids: Sequence[str] | None = None
    ) -> ReturnRequest:
        """``product_ids`` None means every line. Raises ReturnNotAllowedError outside the window."""
        ...

    def get_return(self, return_id: str) -> ReturnRequest: ...

    def returns_for_order(self, number: str) -> list[ReturnRequest]: ...

    def request_refund(self, number: str, reason: str = "") -> Refund:
        """Refund for a returned order / open return request; RefundNotAllowedError otherwise
        (a delivered order needs a return first; an unshipped one is cancelled instead)."""
        ...

    def get_refund(self, refund_id: str) -> Refund: ...

    def refunds_for_order(self, number: str) -> list[Refund]: ...

    def invoices_for_order(self, number: str) -> list[Invoice]: ...

    def get_invoice(self, invoice_id: str) -> Invoice: ...
