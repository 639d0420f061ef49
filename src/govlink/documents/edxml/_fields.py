"""How each model field maps to XML, derived once per class from its annotations.

Build and parse both walk these specs, so the element order and the conversions
exist in one place (the model's field order) and cannot drift apart.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Literal

from govlink.documents.edxml.models import EDXML_NS, EdxmlModel

Kind = Literal["text", "date", "datetime", "model", "models", "texts"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    wire: str
    kind: Kind
    model: type[EdxmlModel] | None = None
    tag: str = ""
    """The element's Clark name in the edXML namespace (what the builder writes)."""


def _kind(annotation: object) -> tuple[Kind, type[EdxmlModel] | None]:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is list:
        (item,) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, EdxmlModel):
            return "models", item
        return "texts", None
    if origin in (typing.Union, types.UnionType):
        if datetime in args:
            return "datetime", None
        if date in args:
            return "date", None
        (only,) = args
        return _kind(only)
    if isinstance(annotation, type):
        if issubclass(annotation, EdxmlModel):
            return "model", annotation
        if issubclass(annotation, str | Enum):
            return "text", None
    raise TypeError(f"no XML mapping for {annotation!r}")  # pragma: no cover - model bug


@cache
def element_fields(cls: type[EdxmlModel]) -> tuple[FieldSpec, ...]:
    """The element fields of ``cls`` in wire order (skipping bookkeeping fields)."""
    specs: list[FieldSpec] = []
    for name, info in cls.model_fields.items():
        if name in cls.NON_ELEMENT_FIELDS:
            continue
        kind, model = _kind(info.annotation)
        wire = info.alias or name
        specs.append(FieldSpec(name, wire, kind, model, f"{{{EDXML_NS}}}{wire}"))
    return tuple(specs)
