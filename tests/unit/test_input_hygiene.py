"""Input hygiene (issue 9): control and invisible characters, lax booleans and digits refused.

The rules live in the shared input types (``erp_common.schemas``); the last test walks every
declared operation's input, so a field a domain declares with a bare ``int``, ``Decimal`` or
``str`` fails here instead of reaching production.
"""
from __future__ import annotations

import types
import typing
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from erp_common import domains
from erp_common.operations import REGISTRY
from erp_common.schemas import Code, Id, Input, Int, Line, Money, Name, PageQuery, Quantity, Text


class Sample(Input):
    name: Name
    code: Code | None = None
    line: Line = ""
    text: Text = ""
    plain: str = ""
    id: Id | None = None
    count: Int = 0
    price: Money | None = None
    qty: Quantity | None = None


def _error(**fields) -> dict:
    with pytest.raises(ValidationError) as exc:
        Sample(name="ok", **fields) if "name" not in fields else Sample(**fields)
    (error,) = exc.value.errors()
    return error


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb", "a\x7fb", "a\u0085b", "a\u009bb", "a\nb", "a\tb", "a\rb"])
def test_control_characters_are_refused_in_one_line_fields(bad):
    for field in ("name", "line"):
        error = _error(**{field: bad})
        assert error["loc"] == (field,) and "control characters" in error["msg"]


def test_multiline_text_keeps_tabs_and_newlines_but_no_other_control():
    assert Sample(name="n", text="line 1\r\n\tline 2").text == "line 1\r\n\tline 2"
    assert "control characters" in _error(text="a\x00b")["msg"]
    assert "control characters" in _error(plain="a\x00b")["msg"]  # the base class: even a bare str


@pytest.mark.parametrize("invisible", ["\u200b", "\u200b\u200c\u200d", "\u200e\u200f", "\u2060", "\ufeff",
                                       "\u0301\u0302", "\u3000", "\u00a0\u2003", "\u3164", "\u200b \u200b"])
def test_a_name_needs_a_visible_character(invisible):
    error = _error(name=invisible)
    assert error["loc"] == ("name",)
    assert "visible" in error["msg"] or "at least 1 character" in error["msg"]


def test_names_in_any_script_are_fine():
    assert Sample(name="红色 T恤").name == "红色 T恤"
    assert Sample(name="e\u0301te\u0301").name == "e\u0301te\u0301"  # combining marks on letters
    assert Sample(name="\u0627\u0644\u0639\u0631\u0628\u064a\u0629").name


@pytest.mark.parametrize("field", ["id", "count", "price", "qty"])
@pytest.mark.parametrize("bad", [True, False, "1_000", "\u0661\u0662", "\uff11\uff12", "\u00b2", " 12", "1e3", "0x10"])
def test_numbers_are_numbers_in_ascii_digits(field, bad):
    error = _error(**{field: bad})
    assert error["loc"][0] == field


def test_ascii_digit_strings_and_json_numbers_still_read():
    sample = Sample(name="n", id="12", count="-3", price="99.50", qty=".5")
    assert (sample.id, sample.count, sample.price, sample.qty) == (12, -3, Decimal("99.50"), Decimal("0.5"))
    assert Sample(name="n", id=12, price=Decimal("1.5"), qty=2).qty == 2
    with pytest.raises(ValidationError):
        PageQuery(page=True)
    with pytest.raises(ValidationError):
        PageQuery(page_size="\u0662\u0660")


def test_category_id_true_is_refused_with_a_clear_message():
    from erp_common.catalog.schemas import ItemCreateIn
    with pytest.raises(ValidationError) as exc:
        ItemCreateIn(name="x", category_id=True, price=1)
    (error,) = exc.value.errors()
    assert error["loc"] == ("category_id",) and "not true or false" in error["msg"]


# --- every declared input uses the shared types ----------------------------------------------

_MARKED = {id(t) for t in (Id, Int, Money, Quantity, Name, Code, Line, Text)}


def _leaves(annotation, path: str, seen: set) -> typing.Iterator[tuple[str, object, list]]:
    """(path, bare type, metadata) of every scalar a field can hold."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        for leaf_path, leaf, leaf_meta in _leaves(base, path, seen):
            yield leaf_path, leaf, leaf_meta + meta
    elif origin in (typing.Union, types.UnionType, list, dict, tuple, set):
        for arg in typing.get_args(annotation):
            yield from _leaves(arg, path, seen)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in seen:
            seen.add(annotation)
            for name, info in annotation.model_fields.items():
                yield from _leaves(_annotation(info), f"{annotation.__name__}.{name}", seen)
    else:
        yield path, annotation, []


def _annotation(info):
    # FieldInfo keeps the outermost Annotated metadata apart from the type: put it back together.
    return typing.Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def _strict_validators() -> set:
    from erp_common import schemas
    return {schemas._strict_int, schemas._strict_decimal, schemas._one_line, schemas._multiline}


def test_every_operation_input_uses_the_shared_types():
    domains.load()
    strict = _strict_validators()
    loose = []
    for op in REGISTRY.values():
        if op.input is None:
            continue
        for path, leaf, meta in _leaves(op.input, op.input.__name__, set()):
            meta = meta + [inner for m in meta for inner in getattr(m, "metadata", ())]  # Field(...) inside
            funcs = {getattr(m, "func", None) for m in meta}
            patterned = any(getattr(m, "pattern", None) for m in meta)
            if leaf in (int, Decimal) and not funcs & strict:
                loose.append(f"{op.name}: {path} ({leaf.__name__})")
            elif leaf is str and not (funcs & strict or patterned):
                loose.append(f"{op.name}: {path} (str)")
    assert not loose, "fields not declared with erp_common.schemas types:\n" + "\n".join(sorted(set(loose)))


@pytest.mark.parametrize("bad", [12, "12", "3.2471311249765733e-109", True, 1.5, "-1", Decimal("1700000000")])
def test_times_and_days_are_iso_text_not_seconds_since_1970(bad):
    from erp_common.schemas import Day, UtcDateTime

    class When(Input):
        at: UtcDateTime | None = None
        day: Day | None = None

    for field in ("at", "day"):
        with pytest.raises(ValidationError) as exc:
            When(**{field: bad})
        assert exc.value.errors()[0]["loc"] == (field,) and "ISO-8601" in exc.value.errors()[0]["msg"]
    assert When(at="2026-12-01T10:00:00+01:00", day="2026-12-01").at.isoformat() == "2026-12-01T09:00:00+00:00"
