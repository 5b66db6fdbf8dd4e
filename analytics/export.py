"""The analytics tables as CSV, safe to open in a spreadsheet (formula injection: OWASP's advice)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from analytics import schema
from analytics.errors import UnknownTableError

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text starting like a formula gets a leading quote; numbers and None (empty) stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def table_csv(db: Path, table: str) -> str:
    """Every row of ``table`` (one of ``schema.EXPORTED``) as CSV with a header line."""
    if table not in schema.EXPORTED:
        raise UnknownTableError(table, schema.EXPORTED)
    connection = schema.read_only(db)
    try:
        cursor = connection.execute(f"SELECT * FROM {table}")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([column[0] for column in cursor.description])
        for row in cursor:
            writer.writerow([safe_cell(value) for value in tuple(row)])
        return out.getvalue()
    finally:
        connection.close()
