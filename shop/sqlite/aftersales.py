"""SQLite implementation of ``AfterSales``: returns, refunds and invoices."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from datetime import timedelta

from shop import policy
from shop.errors import (
    InvalidInputError,
    InvoiceNotFoundError,
    RefundNotAllowedError,
    RefundNotFoundError,
    ReturnNotAllowedError,
    ReturnNotFoundError,
)
from shop.ids import (
    normalize_invoice_id,
    normalize_order_number,
    normalize_product_id,
    normalize_refund_id,
    normalize_return_id,
)
from shop.model import (
    Invoice,
    Order,
    Refund,
    ReturnEligibility,
    ReturnRequest,
)
from shop.sqlite.base import SqliteBase, clean_text, to_db

logger = logging.getLogger(__name__)


class SqliteAfterSales(SqliteBase):
    """``AfterSales`` on SQLite: returns, refunds and invoices."""

    def _eligibility(self, conn: sqlite3.Connection, order: Order) -> ReturnEligibility:
        if order.status == "delivered" and order.delivered_at is not None:
            deadline = order.delivered_at + timedelta(days=policy.RETURN_WINDOW_DAYS)
            if self.now() > deadline:
                return ReturnEligibility(
                    order.number,
                    False,
                    f"the {policy.RETURN_WINDOW_DAYS}-day return window ended on {deadline.date().isoformat()}",
                    deadline,
                )
            open_return = conn.execute(
                "SELECT id FROM returns WHERE order_number = ? AND status IN ('requested', 'received')",
                (order.number,),
            ).fetchone()
            if open_return:
                return ReturnEligibility(
                    order.number,
                    False,
                    f"a return ({open_return[0]}) is already open for this order",
                    deadline,
                )
            return ReturnEligibility(
                order.number, True, f"returnable until {deadline.date().isoformat()}", deadline
            )
        reasons = {
            "pending": "the order has not shipped yet; it can be cancelled instead",
            "paid": "the order has not shipped yet; it can be cancelled instead",
            "packed": "the order has not shipped yet; it can be cancelled instead",
            "shipped": "the order is still on its way; it can be returned once it has arrived",
            "cancelled": "the order was cancelled",
            "returned": "the order has already been returned",
        }
        return ReturnEligibility(order.number, False, reasons.get(order.status, order.status), None)

    def return_eligibility(self, number: str) -> ReturnEligibility:
        normalized = normalize_order_number(number)
        with self.read() as conn:
            return self._eligibility(conn, self._load_order(conn, normalized))

    def create_return(
        self, number: str, reason: str, product_ids: Sequence[str] | None = None
    ) -> ReturnRequest:
        normalized = normalize_order_number(number)
        why = clean_text("reason", reason, max_len=500, allow_empty=True) or "not specified"
        now = self.now()
        with self.transaction() as conn:
            order = self._load_order(conn, normalized)
            eligibility = self._eligibility(conn, order)
            if not eligibility.eligible:
                raise ReturnNotAllowedError(normalized, order.status, eligibility.reason)
            in_order = [line.product_id for line in order.lines]
            if product_ids is None or len(product_ids) == 0:
                chosen = in_order
            else:
                chosen = []
                for raw in product_ids:
                    pid = normalize_product_id(raw)
                    if pid not in in_order:
                        raise InvalidInputError("product_id", pid, in_order)
                    if pid not in chosen:
                        chosen.append(pid)
            return_id = self.next_id(conn, "return")
            conn.execute(
                "INSERT INTO returns (id, order_number, status, reason, product_ids, created_at)"
                " VALUES (?, ?, 'requested', ?, ?, ?)",
                (return_id, normalized, why, json.dumps(chosen), to_db(now)),
            )
            row = conn.execute("SELECT * FROM returns WHERE id = ?", (return_id,)).fetchone()
        logger.info("return %s created for order %s", return_id, normalized)
        return self._return(row)

    def get_return(self, return_id: str) -> ReturnRequest:
        normalized = normalize_return_id(return_id)
        with self.read() as conn:
            row = conn.execute("SELECT * FROM returns WHERE id = ?", (normalized,)).fetchone()
        if row is None:
            raise ReturnNotFoundError(normalized)
        return self._return(row)

    def returns_for_order(self, number: str) -> list[ReturnRequest]:
        normalized = normalize_order_number(number)
        with self.read() as conn:
            self._load_order(conn, normalized)
            rows = conn.execute(
                "SELECT * FROM returns WHERE order_number = ? ORDER BY created_at, id", (normalized,)
            ).fetchall()
        return [self._return(r) for r in rows]

    def request_refund(self, number: str, reason: str = "") -> Refund:
        normalized = normalize_order_number(number)
        clean_text("reason", reason, max_len=500, allow_empty=True)
        now = self.now()
        with self.transaction() as conn:
            order = self._load_order(conn, normalized)
            existing = conn.execute(
                "SELECT id, status FROM refunds WHERE order_number = ? AND status IN ('pending', 'processing')",
                (normalized,),
            ).fetchone()
            if existing:
                raise RefundNotAllowedError(
                    normalized, order.status, f"refund {existing['id']} is already {existing['status']}"
                )
            open_return = conn.execute(
                "SELECT * FROM returns WHERE order_number = ? AND refund_id IS NULL"
                " AND status IN ('requested', 'received') ORDER BY created_at LIMIT 1",
                (normalized,),
            ).fetchone()
            if open_return is None:
                if order.status in policy.CANCELLABLE_STATUSES:
                    why = "the order has not shipped yet; cancel it to get your money back"
                elif order.status in ("shipped", "delivered"):
                    why = "start a return first; the refund follows when the return is registered"
                else:
                    why = f"nothing left to refund on a {order.status} order"
                raise RefundNotAllowedError(normalized, order.status, why)
            returned = set(json.loads(open_return["product_ids"]))
            amount = sum(line.total_minor for line in order.lines if line.product_id in returned)
            refund_id = self._insert_refund(conn, order, amount, open_return["id"], now)
            conn.execute("UPDATE returns SET refund_id = ? WHERE id = ?", (refund_id, open_return["id"]))
            row = conn.execute("SELECT * FROM refunds WHERE id = ?", (refund_id,)).fetchone()
        return self._refund(row)

    def get_refund(self, refund_id: str) -> Refund:
        normalized = normalize_refund_id(refund_id)
        with self.read() as conn:
            row = conn.execute("SELECT * FROM refunds WHERE id = ?", (normalized,)).fetchone()
        if row is None:
            raise RefundNotFoundError(normalized)
        return self._refund(row)

    def refunds_for_order(self, number: str) -> list[Refund]:
        normalized = normalize_order_number(number)
        with self.read() as conn:
            self._load_order(conn, normalized)
            rows = conn.execute(
                "SELECT * FROM refunds WHERE order_number = ? ORDER BY created_at, id", (normalized,)
            ).fetchall()
        return [self._refund(r) for r in rows]

    def invoices_for_order(self, number: str) -> list[Invoice]:
        normalized = normalize_order_number(number)
        with self.read() as conn:
            self._load_order(conn, normalized)
            rows = conn.execute(
                "SELECT * FROM invoices WHERE order_number = ? ORDER BY issued_at, id", (normalized,)
            ).fetchall()
        return [self._invoice(r) for r in rows]

    def get_invoice(self, invoice_id: str) -> Invoice:
        normalized = normalize_invoice_id(invoice_id)
        with self.read() as conn:
            row = conn.execute("SELECT * FROM invoices WHERE id = ?", (normalized,)).fetchone()
        if row is None:
            raise InvoiceNotFoundError(normalized)
        return self._invoice(row)
