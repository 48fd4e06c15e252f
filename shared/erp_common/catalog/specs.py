"""SKU specifications: checking an item's spec lists and turning them into SKU combinations.

An item's ``sku_specs`` is an ordered mapping from a spec name to its values, e.g.
``{"color": ["红色", "蓝色"], "size": ["S", "M", "L"]}``; every combination of one value per
spec is one SKU (here 6), in a stable order (the first spec varies slowest). An item with no
specs has exactly one SKU with empty specs. Pure functions, no database.

In CSV files specs are written ``color=红色;size=S`` (one SKU) or ``color=红色|蓝色;size=S|M|L``
(every combination), so ``=``, ``;`` and ``|`` cannot appear in names or values.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping

MAX_SPECS = 5
MAX_COMBINATIONS = 500
MAX_NAME = 30
MAX_VALUE = 40
RESERVED = set("=;|")


class SpecError(ValueError):
    """A spec list is unusable; ``field`` names where (``sku_specs.color``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _check_text(field: str, text: str, limit: int, what: str) -> None:
    if not text:
        raise SpecError(field, f"a {what} cannot be empty")
    if len(text) > limit:
        raise SpecError(field, f"a {what} is at most {limit} characters")
    if RESERVED & set(text):
        raise SpecError(field, f"a {what} cannot contain '=', ';' or '|'")


def check_specs(specs: Mapping[str, list[str]], field: str = "sku_specs") -> dict[str, list[str]]:
    """Validate spec lists: names and values present, no duplicates, at most 500 combinations."""
    if len(specs) > MAX_SPECS:
        raise SpecError(field, f"at most {MAX_SPECS} specs")
    clean: dict[str, list[str]] = {}
    count = 1
    for name, values in specs.items():
        name = name.strip()
        where = f"{field}.{name}" if name else field
        _check_text(where, name, MAX_NAME, "spec name")
        if name in clean:
            raise SpecError(where, "the spec is listed twice")
        if not values:
            raise SpecError(where, "list at least one value")
        stripped = [v.strip() for v in values]
        for value in stripped:
            _check_text(where, value, MAX_VALUE, "spec value")
        duplicates = sorted({v for v in stripped if stripped.count(v) > 1})
        if duplicates:
            raise SpecError(where, f"duplicate value(s): {', '.join(duplicates)}")
        clean[name] = stripped
        count *= len(stripped)
    if count > MAX_COMBINATIONS:
        raise SpecError(field, f"{count} combinations: at most {MAX_COMBINATIONS} SKUs per item")
    return clean


def combinations(specs: Mapping[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of one value per spec, first spec slowest; ``[{}]`` with no specs."""
    names = list(specs)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(specs[n] for n in names))]


def spec_key(names: list[str], values: Mapping[str, str]) -> str:
    """The unique key of a combination within its item: the values in spec order."""
    return "|".join(values[n] for n in names)


def specs_from_skus(names: list[str], combos: list[Mapping[str, str]]) -> dict[str, list[str]]:
    """Rebuild the spec lists from existing SKUs' specs, values in order of first appearance."""
    out: dict[str, list[str]] = {n: [] for n in names}
    for combo in combos:
        for name in names:
            value = combo.get(name)
            if value is not None and value not in out[name]:
                out[name].append(value)
    return out


def parse_text(text: str, field: str = "specs") -> dict[str, list[str]]:
    """``color=红色|蓝色;size=S`` -> ``{"color": ["红色", "蓝色"], "size": ["S"]}`` (checked)."""
    specs: dict[str, list[str]] = {}
    text = text.strip()
    if not text:
        return {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, values = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SpecError(field, f"{part.strip()!r} is not name=value")
        if name in specs:
            raise SpecError(f"{field}.{name}", "the spec is listed twice")
        specs[name] = [v for v in values.split("|")]
    return check_specs(specs, field)


def format_text(specs: Mapping[str, str | list[str]]) -> str:
    """The inverse of ``parse_text``: one SKU's specs or spec lists as CSV text."""
    return ";".join(f"{n}={v if isinstance(v, str) else '|'.join(v)}" for n, v in specs.items())
