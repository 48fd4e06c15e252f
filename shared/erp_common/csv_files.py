"""CSV answers that a spreadsheet opens safely: the one writer of every CSV file the ERP serves.

A cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR is a formula to Excel, LibreOffice and
Google Sheets (CSV injection: ``=HYPERLINK(...)``, ``@SUM(...)``, DDE). As OWASP advises, such a
cell is written with a single quote in front, which spreadsheets show as text and do not keep.
A plain number (``-5.00``) is left alone: it is data to a spreadsheet, not a formula, and a
margin of ``'-5.00`` would no longer add up.

An importer reads a cell back with ``unescape_cell``, so export -> import round-trips: a quote is
only ever added before a trigger character, or before quotes that precede one (a value that
itself starts with ``'=`` is written ``''=`` and read back ``'=``).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

from .operations import FileResult

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _needs_quote(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_TRIGGERS)


def escape_cell(value: object) -> str:
    """The cell as written: a formula-like text gets a leading single quote."""
    text = "" if value is None else str(value)
    if _needs_quote(text) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    """The value ``escape_cell`` wrote ``text`` for (text not written by it is returned unchanged)."""
    if text.startswith("'") and _needs_quote(text):
        return text[1:]
    return text


def csv_text(columns: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([escape_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def csv_file(columns: Iterable[str], rows: Iterable[Iterable[object]], name: str) -> FileResult:
    """A ``text/csv`` answer downloaded as ``<name>.csv``."""
    return FileResult(csv_text(columns, rows), "text/csv; charset=utf-8",
                      {"Content-Disposition": f'attachment; filename="{name}.csv"'})
