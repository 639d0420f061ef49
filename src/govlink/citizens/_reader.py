"""Replies read element by element, by NAME, into the models of :mod:`govlink.citizens.models`.

Why not a schema: the population database's element order is not public, and real
replies carry elements no published list names (PLATFORMS.md §4). A reader driven
by a fixed sequence either loses what comes "out of order" or refuses it. Here each
child element is looked up by its local name (any namespace: real replies put
``CongdanCollection`` in ``http://www.mic.gov.vn/dancu/1.0`` inside an envelope of
``http://dancuquocgia.bca``) among the model's wire aliases:

* a known name fills its field (a nested model is read the same way, recursively);
* an unknown name is kept in the model's ``extra`` (text, or the element's XML when it
  has children), so nothing the service sent is ever dropped;
* what cannot be read faithfully (text where a structure is expected, a structure
  where text is expected, a single field repeated, a value the type refuses) raises
  :class:`ReplyShapeError` naming the element's path, never a silently empty field.

Attributes count as children (``@name`` in ``extra`` when unknown); ``xsi:nil`` means
absent. The reader is sans-I/O and shared by every operation and both transports.
"""

from __future__ import annotations

import copy
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from lxml import etree
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from govlink.core.errors import PlatformError

__all__ = ["ReplyShapeError", "read_model"]

M = TypeVar("M", bound=BaseModel)

_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NIL = f"{{{_XSI}}}nil"


class ReplyShapeError(PlatformError):
    """A reply element cannot be read into its model without losing or inventing data."""


@dataclass(frozen=True)
class _Field:
    name: str
    model: type[BaseModel] | None
    many: bool
    items: str | None  # list wrapper: the element name of its items
    optional: bool  # None when absent


@dataclass(frozen=True)
class _Shape:
    fields: dict[str, _Field]
    flatten: frozenset[str]
    has_extra: bool


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """``(inner type, repeated)`` of ``X | None``, ``tuple[X, ...]``, ``list[X]``."""
    many = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else annotation
        origin = typing.get_origin(annotation)
    if origin in (tuple, list):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        annotation, many = (args[0] if args else str), True
    return annotation, many


@cache
def _shape(cls: type[BaseModel]) -> _Shape:
    fields: dict[str, _Field] = {}
    for name, info in cls.model_fields.items():
        if name == "extra" or info.alias is None:
            continue
        inner, many = _unwrap(info.annotation)
        model = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        items = extra.get("items")
        optional = not info.is_required() and info.default is None
        fields[info.alias] = _Field(
            name, model, many, items if isinstance(items, str) else None, optional
        )
    flatten: frozenset[str] = getattr(cls, "_flatten_wire", frozenset())
    return _Shape(fields, frozenset(flatten), "extra" in cls.model_fields)


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def _str(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _text(element: etree._Element) -> str | None:
    text = element.text
    if text is None:
        return None
    text = text.strip()
    return text or None


def _as_extra(element: etree._Element) -> str:
    """An unknown element as kept: its text, or its XML (namespace declarations it does
    not use dropped) when it has children or attributes."""
    if len(element) or element.attrib:
        alone = copy.deepcopy(element)
        etree.cleanup_namespaces(alone)
        return etree.tostring(alone, encoding="unicode", with_tail=False)
    return (element.text or "").strip()


def _keep(extra: dict[str, str], name: str, value: str) -> None:
    extra[name] = value if name not in extra else f"{extra[name]}\n{value}"


def _is_blank(element: etree._Element) -> bool:
    """No text and no attribute anywhere inside: the element says nothing."""
    if any(e.attrib for e in element.iter() if isinstance(e.tag, str)):
        return False
    return not any(_str(text).strip() for text in element.itertext())


def _has_elements(element: etree._Element) -> bool:
    return any(isinstance(child.tag, str) for child in element)


class _Reading:
    """One model being read: collected values and unknown elements."""

    __slots__ = ("data", "extra", "shape", "where")

    def __init__(self, shape: _Shape, where: str) -> None:
        self.shape = shape
        self.where = where
        self.data: dict[str, Any] = {}
        self.extra: dict[str, str] = {}

    def element(self, child: etree._Element) -> None:
        name = _local(child.tag)
        if name in self.shape.flatten:
            self.attributes(child)
            for grandchild in child:
                if isinstance(grandchild.tag, str):
                    self.element(grandchild)
            return
        spec = self.shape.fields.get(name)
        if spec is None:
            _keep(self.extra, name, _as_extra(child))
            return
        path = f"{self.where}/{name}"
        if child.get(_NIL) in ("true", "1"):
            value: Any = None
        elif spec.model is not None:
            # a structure is read as one, an empty element as an empty structure; text
            # alone is handed to the model (a name or a date written as one text)
            text = None if _has_elements(child) or child.attrib else _text(child)
            if text is not None:
                value = text
            elif spec.optional and _is_blank(child):
                value = None  # <NgayThangNamSinh><Nam/></NgayThangNamSinh>: nothing known
            else:
                value = read_model(spec.model, child, where=path)
        elif spec.items is not None:
            value = self.items(child, spec.items, path)
        else:
            if _has_elements(child):
                raise ReplyShapeError(
                    f"{path} holds elements where the population database sends text",
                    hint="the service's record format changed; report it with the evidence",
                )
            value = _text(child)
        self.put(spec, name, path, value)

    def items(self, child: etree._Element, item_name: str, path: str) -> list[str | None]:
        values: list[str | None] = []
        for item in child:
            if not isinstance(item.tag, str):
                continue
            if _local(item.tag) != item_name or _has_elements(item):
                raise ReplyShapeError(
                    f"{path} holds {_local(item.tag)!r} where only {item_name!r} items "
                    "of text are expected",
                    hint="the service's reply format changed; report it with the evidence",
                )
            values.append(_text(item))
        return values

    def put(self, spec: _Field, name: str, path: str, value: Any) -> None:
        if spec.many:
            if spec.items is not None:
                self.data.setdefault(name, []).extend(v for v in value if v is not None)
            elif value is not None:
                self.data.setdefault(name, []).append(value)
            return
        if name in self.data:
            raise ReplyShapeError(
                f"{path} appears more than once where the population database sends one",
                hint="the service's record format changed; report it with the evidence",
            )
        self.data[name] = value

    def attributes(self, element: etree._Element) -> None:
        for raw_key, raw_value in element.attrib.items():
            key, value = _str(raw_key), _str(raw_value)
            if key.startswith(f"{{{_XSI}}}"):
                continue
            name = _local(key)
            spec = self.shape.fields.get(name)
            if spec is not None and spec.model is None and name not in self.data:
                self.data[name] = value.strip() or None
            else:
                _keep(self.extra, f"@{name}", value)


def read_model(cls: type[M], element: etree._Element, *, where: str | None = None) -> M:
    """``element``'s children (and attributes) read by name into ``cls``.

    Raises :class:`ReplyShapeError` when an element cannot be read without losing
    data; the message names the element's path, never its value (personal data).
    """
    shape = _shape(cls)
    reading = _Reading(shape, where or _local(element.tag))
    reading.attributes(element)
    for child in element:
        if isinstance(child.tag, str):
            reading.element(child)
    data = reading.data
    if reading.extra:
        if not shape.has_extra:
            names = ", ".join(sorted(reading.extra))
            raise ReplyShapeError(
                f"{reading.where} holds element(s) govlink cannot keep: {names}",
                hint="the service's reply format changed; report it with the evidence",
            )
        data["extra"] = reading.extra
    try:
        return cls.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise ReplyShapeError(
            f"{reading.where}: {field or 'the record'} cannot be read ({first.get('msg')})",
            hint="the service's record format changed; report it with the evidence",
        ) from None
