"""Typed platform options: one pydantic model per platform, validated when settings load.

``settings.<platform>.options`` comes from TOML, ``.env`` or environment variables,
so a flag may arrive as ``true``, ``"true"`` or ``"1"``, a number as ``"100"``, and a
key as ``verify_replies`` or ``VERIFY_REPLIES``. Each platform declares its options as
a subclass of :class:`OptionsModel` in ``govlink/<platform>/options.py`` and registers
it with :func:`register_options`. When :class:`~govlink.core.config.GovLinkSettings`
load, every platform's options are validated: a bad value, or an unknown name, is one
:class:`ConfigurationError` naming ``GOVLINK_<PLATFORM>__OPTIONS__<NAME>`` and the
expected form (the field's description), with a "did you mean" for a misspelt name.

Platform code reads them typed: ``PaymentsOptions.of(settings).verify_replies``.
"""

from __future__ import annotations

import difflib
import importlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic import ValidationError as PydanticValidationError

from govlink.core.config import PLATFORMS
from govlink.core.errors import ConfigurationError

if TYPE_CHECKING:
    from govlink.core.config import GovLinkSettings

__all__ = [
    "BlankIsNone",
    "Codes",
    "Lower",
    "OptionText",
    "OptionsModel",
    "PathList",
    "Upper",
    "comma_list",
    "json_mapping",
    "load_platform_modules",
    "options_model",
    "register_options",
    "validate_options",
]

_PLATFORM_MODULES = {name: f"govlink.{name}.options" for name in PLATFORMS}
_MODELS: dict[str, type[OptionsModel]] = {}
_loaded = False


def load_platform_modules() -> None:
    """Import each platform's ``options`` module (it registers its options model, the
    auth styles it accepts and its own styles). Idempotent."""
    global _loaded
    if _loaded:
        return
    for module in _PLATFORM_MODULES.values():
        importlib.import_module(module)
    _loaded = True


def _norm(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def comma_list(value: Any) -> Any:
    """A TOML list as is; ``"a, b"`` (one environment variable) as ``["a", "b"]``."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _to_text(value: Any) -> Any:
    """Numbers written without quotes in TOML (``channel_code = 1``) as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


OptionText = Annotated[str, BeforeValidator(_to_text)]
"""A text option; an unquoted TOML number is accepted as its text."""
PathList = Annotated[list[str], BeforeValidator(comma_list)]
"""File paths: a TOML list, or one comma-separated string."""
Codes = Annotated[frozenset[str], BeforeValidator(lambda v: [str(c) for c in comma_list(v)])]
"""Reply codes: a TOML list, or one comma-separated string."""
Lower = BeforeValidator(_lower)
"""Annotate a ``Literal`` option to accept any case (``GET``/``get``)."""
Upper = BeforeValidator(_upper)
"""Annotate a ``Literal`` of upper-case words to accept any case."""
BlankIsNone = BeforeValidator(_blank_is_none)
"""Annotate an optional option so an empty value means "not set"."""


class OptionsModel(BaseModel):
    """Base of every platform's options model.

    Keys are matched loosely (case, ``_`` and ``-`` ignored; a field's alias, e.g. a
    wire name, works too); unknown keys are refused. Each field's ``description`` is the expected
    form quoted in errors.
    """

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=True, allow_inf_nan=False
    )
    platform: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _match_keys(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        names: dict[str, str] = {}
        for name, info in cls.model_fields.items():
            names[_norm(name)] = name
            if info.alias:
                names[_norm(info.alias)] = name
        return {names.get(_norm(str(key)), str(key)): value for key, value in data.items()}

    @classmethod
    def variable(cls, name: str) -> str:
        return f"GOVLINK_{cls.platform.upper()}__OPTIONS__{name.upper()}"

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Self:
        """Validate ``raw``; the first problem as a :class:`ConfigurationError`."""
        try:
            return cls.model_validate(dict(raw))
        except PydanticValidationError as exc:
            raise cls._configuration_error(exc, raw) from None

    @classmethod
    def of(cls, settings: GovLinkSettings) -> Self:
        """This platform's options from ``settings`` (validated already at load; parsed
        again here so a changed ``options`` table is seen)."""
        return cls.parse(getattr(settings, cls.platform).options)

    @classmethod
    def _configuration_error(
        cls, exc: PydanticValidationError, raw: Mapping[str, Any]
    ) -> ConfigurationError:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "?"
        if error["type"] == "extra_forbidden":
            known = sorted(cls.model_fields)
            close = difflib.get_close_matches(name.lower(), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return ConfigurationError(
                f"unknown {cls.platform} option {name!r}{hint}",
                setting=cls.variable(name),
                expected="nothing: no such option exists (the options are "
                + ", ".join(known)
                + ")",
            )
        info = cls.model_fields.get(name)
        given = next((v for k, v in raw.items() if _norm(str(k)) == _norm(name)), None)
        expected = (info.description if info is not None else None) or str(error["msg"])
        return ConfigurationError(
            f"{cls.platform} option {name} is {given!r}: {error['msg']}",
            setting=cls.variable(name),
            expected=expected,
        )


def register_options(model: type[OptionsModel]) -> type[OptionsModel]:
    """Register ``model`` as the options of ``model.platform`` (usable as a decorator)."""
    _MODELS[model.platform] = model
    return model


def options_model(platform: str) -> type[OptionsModel] | None:
    """The options model of ``platform`` (None for sections without options)."""
    load_platform_modules()
    return _MODELS.get(platform)


def validate_options(platform: str, raw: Mapping[str, Any]) -> OptionsModel | None:
    """Validate ``raw`` as ``platform``'s options (None when it has no model)."""
    model = options_model(platform)
    if model is None:
        return None
    return model.parse(raw)


def json_mapping(value: Any) -> Any:
    """A JSON object given as text (one environment variable) as a dict."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
