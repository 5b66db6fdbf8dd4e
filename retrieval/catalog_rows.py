"""Streaming the rows of a catalog file (CSV, JSON or parquet) without holding the file in memory.

A row is read, handed on and dropped before the next is read, so ``limit`` in
:func:`retrieval.catalog.iter_catalog` stops reading as soon as it is reached.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.errors import CatalogError, ConfigError

FORMATS = ("csv", "json", "parquet")


def is_missing(value: Any) -> bool:
    """None or NaN (parquet and pandas spell an empty cell NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


CHUNK_BYTES = 1 << 16
MAX_DESCRIPTION_CHARS = 20_000  # a longer description is an export bug, not shopper text: the row is refused


@dataclass
class RowStream:
    """The rows of a catalog file, read lazily. ``columns`` is None where the format has no header (JSON):
    then ``seen_columns`` collects the keys of the rows read so far."""

    rows: Iterator[dict[str, Any]]
    columns: list[str] | None
    seen_columns: set[str] = field(default_factory=set)


def open_rows(path: str | Path, fmt: str, encoding: str = "utf-8") -> RowStream:
    """Start reading ``path``; nothing beyond the header (CSV) or the schema (parquet) is read yet."""
    path = Path(path)
    if fmt not in FORMATS:
        raise ConfigError("catalog format", fmt, FORMATS)
    if not path.is_file():
        raise CatalogError(path, "file not found")
    if fmt == "parquet":
        return _parquet_rows(path)
    if fmt == "json":
        stream = RowStream(iter(()), None)
        stream.rows = _json_rows(path, encoding, stream.seen_columns)
        return stream
    return _csv_rows(path, encoding)


def _decoded_chunks(path: Path, encoding: str) -> Iterator[str]:
    """The file's text, decoded incrementally; a bad byte names its offset and line."""
    import codecs

    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        raise ConfigError("catalog encoding", encoding, "a Python codec name such as utf-8") from None
    offset, line_no, first = 0, 1, True
    with path.open("rb") as handle:
        for raw in iter(lambda: handle.read(CHUNK_BYTES), b""):
            try:
                text = decoder.decode(raw)
            except UnicodeDecodeError as exc:
                at = offset + exc.start
                line = line_no + raw[: exc.start].count(b"\n")
                raise CatalogError(
                    path,
                    f"not valid {encoding} at byte {at} (line {line}); "
                    're-save the file as UTF-8 or set "encoding" in the mapping',
                ) from exc
            offset += len(raw)
            line_no += raw.count(b"\n")
            if first and text:
                text, first = text.lstrip("\ufeff"), False
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail


_LINE_END = re.compile(r"\r\n|\r(?!\Z)|\n")  # a \r at the end of a chunk may be the start of \r\n


def _lines(chunks: Iterable[str]) -> Iterator[str]:
    """Lines with their endings (\n, \r\n or \r, as ``newline=""`` reads them) from text chunks."""
    buf = ""
    for chunk in chunks:
        buf += chunk
        start = 0
        for match in _LINE_END.finditer(buf):
            yield buf[start : match.end()]
            start = match.end()
        buf = buf[start:]
    if buf:
        yield buf


def _csv_rows(path: Path, encoding: str) -> RowStream:
    import csv

    reader = csv.DictReader(_lines(_decoded_chunks(path, encoding)))
    try:
        columns = [c for c in (reader.fieldnames or []) if c is not None]
    except csv.Error as exc:
        raise CatalogError(path, f"CSV error on line {reader.line_num}: {exc}") from exc

    def rows() -> Iterator[dict[str, Any]]:
        number = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    raise CatalogError(
                        path,
                        f"a field on line {reader.line_num} is longer than {csv.field_size_limit():,} characters "
                        f"(a product description may have at most {MAX_DESCRIPTION_CHARS:,})",
                        row=number + 1,
                    ) from exc
                raise CatalogError(path, f"CSV error on line {reader.line_num}: {exc}") from exc
            number += 1
            extra = row.get(None)  # type: ignore[call-overload]
            if extra is not None:
                raise CatalogError(
                    path,
                    f"{len(columns) + len(extra)} values for {len(columns)} columns (unquoted comma?)",
                    row=number,
                )
            yield row

    return RowStream(rows(), columns)


def _parquet_rows(path: Path) -> RowStream:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        columns = [str(c) for c in parquet.schema_arrow.names]
    except Exception as exc:  # pyarrow raises several types
        raise CatalogError(path, f"not a readable parquet file: {exc}") from exc

    def rows() -> Iterator[dict[str, Any]]:
        try:
            for batch in parquet.iter_batches(batch_size=4096):
                for row in batch.to_pylist():
                    yield {k: (None if is_missing(v) else v) for k, v in row.items()}
        except Exception as exc:
            raise CatalogError(path, f"not a readable parquet file: {exc}") from exc

    return RowStream(rows(), columns)


_NOT_A_LIST = 'expected a JSON list of product objects (or {"products": [...]})'


class _JsonCursor:
    """Incremental JSON over decoded chunks: values are parsed one at a time with ``raw_decode``."""

    def __init__(self, path: Path, chunks: Iterator[str]) -> None:
        self.path, self._chunks = path, chunks
        self.buf, self.pos, self.eof = "", 0, False
        self._decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        if self.pos > CHUNK_BYTES:
            self.buf, self.pos = self.buf[self.pos :], 0
        chunk = next(self._chunks, None)
        if chunk is None:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def peek(self) -> str:
        """The next non-blank character ('' at the end of the file), not consumed."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def expect(self, chars: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            found = repr(char) if char else "the end of the file"
            raise CatalogError(self.path, f"invalid JSON: expected one of {chars!r}, found {found}")
        self.pos += 1
        return char

    def _more_chunks(self, count: int) -> bool:
        return any([self._more() for _ in range(count)])

    def value(self) -> Any:
        """The next JSON value; a value spanning many chunks reads twice as many each retry (linear time)."""
        self.peek()
        want = 1
        while True:
            try:
                value, end = self._decoder.raw_decode(self.buf, self.pos)
            except ValueError as exc:
                if self._more_chunks(want):
                    want *= 2
                    continue
                raise CatalogError(self.path, f"invalid JSON: {exc}") from exc
            if end == len(self.buf) and self._more():  # a number may go on in the next chunk
                continue
            self.pos = end
            return value


def _json_rows(path: Path, encoding: str, seen: set[str]) -> Iterator[dict[str, Any]]:
    """The objects of a top-level list, or of the first "products" / "items" list of a top-level object."""
    cursor = _JsonCursor(path, _decoded_chunks(path, encoding))
    first = cursor.peek()
    if first == "{":
        cursor.expect("{")
        while True:
            if cursor.peek() == "}":
                raise CatalogError(path, _NOT_A_LIST)
            key = cursor.value()
            cursor.expect(":")
            if key in ("products", "items"):
                break
            cursor.value()
            cursor.expect(",}")
            if cursor.buf[cursor.pos - 1] == "}":
                raise CatalogError(path, _NOT_A_LIST)
    elif not first:
        raise CatalogError(path, "invalid JSON: the file is empty")
    if cursor.peek() != "[":
        if cursor.peek() in '{"-0123456789tfn':
            cursor.value()  # a syntax error is reported as such
        raise CatalogError(path, _NOT_A_LIST)
    cursor.expect("[")
    if cursor.peek() == "]":
        return
    while True:
        item = cursor.value()
        if not isinstance(item, dict):
            raise CatalogError(path, _NOT_A_LIST)
        seen.update(item)
        yield item
        if cursor.expect(",]") == "]":
            return
