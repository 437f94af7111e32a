"""CNY amounts (人民币, 元) as :class:`~decimal.Decimal` from the JSON request to the database and back.

Money is never a float here: 0.1 + 0.2 != 0.3 in binary floating point, and a wage sheet (时薪 × 工时) or a
commission (佣金 = rate × GMV) that is off by a fen (分) is a dispute with an agent or a merchant. So amounts
travel in JSON as strings ("4000.00"), are parsed strictly (floats and bools are refused, not converted),
computed in Decimal, rounded half-up to the fen (四舍五入, as a Chinese invoice does — not Python's
default banker's rounding), and written back with exactly two places.

Commission rates (提成比例) are decimal strings too ("0.01" = 1 %), see :func:`parse_rate`.

:class:`Money` and :class:`Rate` are marshmallow fields applying the same rules to API schemas;
:class:`DecimalString` is the field for any other exact quantity (hours, seconds, percentages) that a
response carries as a decimal string. All three are documented in OpenAPI as ``type: string`` with a
``pattern``, never as ``number``: a client generated from the spec must not parse them as floats.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError, fields

__all__ = [
    "CENT",
    "DECIMAL_PATTERN",
    "MONEY_PATTERN",
    "RATE_MAX_PLACES",
    "RATE_PATTERN",
    "DecimalString",
    "Money",
    "MoneyError",
    "Rate",
    "format_money",
    "format_rate",
    "parse_money",
    "parse_rate",
    "quantize",
]

CENT = Decimal("0.01")
#: More places than this in a rate is almost surely a float leaking through ("0.30000000000000004").
RATE_MAX_PLACES = 6
_RATE_STEP = Decimal(1).scaleb(-RATE_MAX_PLACES)

# Plain decimal notation only: Decimal() would also take "1e3", "1_000", "NaN", "Infinity" and ".5".
_DECIMAL_TEXT = re.compile(r"[+-]?\d+(?:\.\d+)?")
#: What every decimal string in a response looks like (OpenAPI ``pattern``): plain notation, no exponent.
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
MONEY_PATTERN = r"^-?\d+(\.\d{1,2})?$"
RATE_PATTERN = r"^\d+(\.\d+)?$"


class MoneyError(ValueError):
    """An amount or a rate that is not acceptable; the message is meant for the API caller."""


def quantize(value: Decimal | int) -> Decimal:
    """Rounds to the fen (0.01), half-up: 0.005 → 0.01, 2.675 → 2.68, 1/3 of 100 → 33.33.

    Floats are refused (TypeError): ``Decimal(2.675)`` is 2.67499999…, which would round down.
    """
    dec = _as_decimal(value)
    if not dec.is_finite():
        raise MoneyError(f"cannot round {value!r}: not a finite number")
    try:
        return dec.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise MoneyError(f"{value!r} is too large to be an amount") from exc


def format_money(value: Decimal | int) -> str:
    """The amount with exactly two places, plain notation: ``Decimal("4E+3")`` → ``"4000.00"``.

    The value is rounded half-up first (a computed commission may carry more places); -0.00 is written
    as "0.00".
    """
    q = quantize(value)
    if q == 0:
        q = abs(q)
    return format(q, "f")


def parse_money(value: object, *, allow_negative: bool = False, field: str = "amount") -> Decimal:
    """An amount from untrusted input (JSON, CSV, a form), as a Decimal with two places.

    Accepts ``str`` ("4000", "4000.00", "  12.5 "), ``Decimal`` and ``int``. Refuses ``float`` and
    ``bool`` (money must be a string in JSON; a float has already lost precision and ``True`` is not
    1 yuan), empty strings, NaN/Infinity, exponent or underscore notation, and values that are not a whole
    number of fen — "1.234" is refused rather than silently rounded, because guessing the rounding of
    someone else's figure is how invoices end up disputed ("1.230" is accepted: it *is* 1.23). Negative
    amounts are refused unless ``allow_negative`` (refunds, adjustments). ``field`` names the value in
    the error message.
    """
    dec = _coerce(value, field)
    if not dec.is_finite():
        raise MoneyError(f"{field} must be a finite amount, got {value!r}")
    try:
        q = dec.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise MoneyError(f"{field} is too large: {value!r}") from exc
    if q != dec:
        raise MoneyError(f"{field} must have at most 2 decimal places (whole fen), got {value!r}")
    if q < 0 and not allow_negative:
        raise MoneyError(f"{field} must not be negative, got {value!r}")
    if q == 0:
        q = abs(q)
    return q


def parse_rate(value: object, *, max_value: Decimal = Decimal("1"), field: str = "rate") -> Decimal:
    """A commission rate (提成比例) given as a decimal string: "0.01" is 1 %, "0.05" is 5 %.

    Same input rules as :func:`parse_money` (no float, no bool, no NaN), never negative, at most
    ``max_value`` (1 = 100 % by default; a rate of "5" meaning 5 % is exactly the mistake this catches),
    and at most :data:`RATE_MAX_PLACES` decimal places. The value is returned as given, not rounded.
    """
    dec = _coerce(value, field)
    if not dec.is_finite():
        raise MoneyError(f"{field} must be a finite number, got {value!r}")
    if dec < 0:
        raise MoneyError(f"{field} must not be negative, got {value!r}")
    if dec > max_value:
        raise MoneyError(f"{field} must be at most {format_rate(max_value)}, got {value!r}")
    try:
        exact = dec.quantize(_RATE_STEP) == dec
    except InvalidOperation as exc:
        raise MoneyError(f"{field} is too large: {value!r}") from exc
    if not exact:
        raise MoneyError(f"{field} must have at most {RATE_MAX_PLACES} decimal places, got {value!r}")
    return abs(dec) if dec == 0 else dec


def format_rate(value: Decimal | int) -> str:
    """A rate in plain decimal notation, without float conversion: ``Decimal("1E-2")`` → ``"0.01"``."""
    return format(_as_decimal(value), "f")


def _coerce(value: object, field: str) -> Decimal:
    """Type checks shared by amounts and rates; returns the unvalidated Decimal."""
    if isinstance(value, bool):  # before int: bool is an int subclass
        raise MoneyError(f'{field} must be a decimal string such as "4000.00", not a boolean')
    if isinstance(value, float):
        raise MoneyError(
            f'{field} must be a decimal string such as "4000.00", not a float ({value!r}): '
            "floats cannot represent fen exactly"
        )
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise MoneyError(f"{field} must not be empty")
        if not _DECIMAL_TEXT.fullmatch(text):
            raise MoneyError(f'{field} must be a decimal number such as "4000.00", got {value!r}')
        return Decimal(text)
    raise MoneyError(f'{field} must be a decimal string such as "4000.00", got {type(value).__name__}')


def _as_decimal(value: Decimal | int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"expected Decimal or int, got {type(value).__name__} {value!r}")
    return value if isinstance(value, Decimal) else Decimal(value)


def _openapi(metadata: Any, **defaults: Any) -> dict[str, Any]:
    """apispec copies these metadata keys into the OpenAPI schema, so clients see "string", not "any"."""
    return {**defaults, **(metadata or {})}


class Money(fields.Field[Decimal]):
    """A CNY amount: loads a decimal string (or int) into a two-place Decimal, dumps ``"4000.00"``.

    ``allow_negative`` admits refunds and adjustments; ``minimum`` / ``maximum`` (inclusive; str, int or
    Decimal) bound the value, e.g. ``Money(minimum="0.01")`` for a price that may not be free.
    """

    def __init__(
        self,
        *,
        allow_negative: bool = False,
        minimum: Decimal | int | str | None = None,
        maximum: Decimal | int | str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs["metadata"] = _openapi(
            kwargs.get("metadata"), type="string", pattern=MONEY_PATTERN, example="4000.00"
        )
        super().__init__(**kwargs)
        self.allow_negative = allow_negative
        self.minimum = None if minimum is None else parse_money(minimum, allow_negative=True, field="minimum")
        self.maximum = None if maximum is None else parse_money(maximum, allow_negative=True, field="maximum")
        if self.minimum is not None and self.minimum < 0 and not allow_negative:
            raise ValueError("Money(minimum=...) is negative but allow_negative is False")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("Money(minimum=...) is greater than maximum")

    def _serialize(self, value: Decimal | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):  # e.g. a value read back from a text column
            value = parse_money(value, allow_negative=True, field=attr or "amount")
        return format_money(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        name = self.data_key or attr or "amount"
        try:
            amount = parse_money(value, allow_negative=self.allow_negative, field=name)
        except MoneyError as exc:
            raise ValidationError(str(exc)) from exc
        if self.minimum is not None and amount < self.minimum:
            raise ValidationError(f"{name} must be at least {format_money(self.minimum)}, got {value!r}")
        if self.maximum is not None and amount > self.maximum:
            raise ValidationError(f"{name} must be at most {format_money(self.maximum)}, got {value!r}")
        return amount


class Rate(fields.Field[Decimal]):
    """A commission rate: loads a decimal string in [0, ``max_value``] (default 1) into a Decimal and
    dumps it back as a string in plain notation — never through float."""

    def __init__(self, *, max_value: Decimal | int | str = Decimal("1"), **kwargs: Any) -> None:
        kwargs["metadata"] = _openapi(
            kwargs.get("metadata"), type="string", pattern=RATE_PATTERN, example="0.01"
        )
        super().__init__(**kwargs)
        self.max_value = parse_rate(max_value, max_value=Decimal("Infinity"), field="max_value")

    def _serialize(self, value: Decimal | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = parse_rate(value, max_value=Decimal("Infinity"), field=attr or "rate")
        return format_rate(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        try:
            return parse_rate(value, max_value=self.max_value, field=self.data_key or attr or "rate")
        except MoneyError as exc:
            raise ValidationError(str(exc)) from exc


class DecimalString(fields.Field[Decimal]):
    """An exact quantity that is not money (hours, seconds, percentages): a Decimal in Python, a decimal
    string in JSON (``"7.50"``), documented as ``type: string`` with :data:`DECIMAL_PATTERN`.

    marshmallow's ``Decimal(as_string=True)`` dumps strings too, but apispec documents it as a
    ``number`` (and its range limits as numbers), so a response would contradict its own schema. Loading
    accepts what ``fields.Decimal`` accepts (a decimal string or a JSON number, no NaN/Infinity), rounded
    to ``places`` when given; range limits are documented as ``x-minimum``/``x-maximum``.
    """

    def __init__(self, places: int | None = None, *, rounding: str | None = None, **kwargs: Any) -> None:
        example = (
            "7.5" if places is None else format(Decimal("7.5").quantize(Decimal(1).scaleb(-places)), "f")
        )
        kwargs["metadata"] = _openapi(
            kwargs.get("metadata"), type="string", pattern=DECIMAL_PATTERN, example=example
        )
        super().__init__(**kwargs)
        # The parsing rules are marshmallow's own; only the documented shape differs.
        self._decimal = fields.Decimal(places=places, rounding=rounding)
        self.places = self._decimal.places
        self.rounding = rounding

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        dec = value if isinstance(value, Decimal) else Decimal(str(value))
        if self.places is not None and dec.is_finite():
            dec = dec.quantize(self.places, rounding=self.rounding)
        return format(dec, "f")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        return self._decimal.deserialize(value, attr, data, **kwargs)
