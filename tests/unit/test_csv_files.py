"""The shared CSV writer quotes formula-like cells (OWASP) and the reader undoes exactly that."""
from __future__ import annotations

import csv
import io

import pytest

from erp_common.csv_files import csv_text, escape_cell, unescape_cell


@pytest.mark.parametrize("value, written", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("'=x", "''=x"), ("''+x", "'''+x"), ("'plain", "'plain"), ("plain", "plain"), ("", ""),
    ("-5.00", "-5.00"), ("-12", "-12"), ("-1+2", "'-1+2"), ("-1e3", "'-1e3"), (None, ""), (12, "12"),
])
def test_escape_and_back(value, written):
    assert escape_cell(value) == written
    assert unescape_cell(written) == ("" if value is None else str(value))


def test_a_file_never_starts_a_cell_with_a_formula():
    text = csv_text(["a", "b"], [["=cmd", "-5.5"], ["@x", "ok"]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["a", "b"], ["'=cmd", "-5.5"], ["'@x", "ok"]]
