"""CNY amounts in Decimal: the figures of the wage sheets and commissions, rounded half-up to the fen."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from marshmallow import Schema, ValidationError

from shared.money import (
    CENT,
    Money,
    MoneyError,
    Rate,
    format_money,
    format_rate,
    parse_money,
    parse_rate,
    quantize,
)

# --- the business figures ------------------------------------------------------------------------------


def test_hourly_wage_160_hours_at_20() -> None:
    assert format_money(160 * parse_money("20")) == "3200.00"


def test_base_plus_one_percent_commission() -> None:
    base = parse_money("4000")
    gmv = parse_money("100000")
    assert format_money(base + parse_rate("0.01") * gmv) == "5000.00"


def test_five_percent_commission() -> None:
    assert format_money(parse_rate("0.05") * parse_money("100000.00")) == "5000.00"


def test_thirds_round_half_up() -> None:
    total = parse_money("100.00")
    one_third = quantize(total / 3)
    two_thirds = quantize(total * 2 / 3)
    assert one_third == Decimal("33.33")
    assert two_thirds == Decimal("66.67")
    assert format_money(one_third) == "33.33"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("2.675", "2.68"),  # as a float, 2.675 is 2.67499999… and would round to 2.67
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # half-up, not banker's rounding (which gives 0.02)
        ("-0.005", "-0.01"),
        ("-0.004", "0.00"),  # no "-0.00"
    ],
)
def test_quantize_half_up(raw: str, expected: str) -> None:
    q = quantize(Decimal(raw))
    assert q == Decimal(expected)
    assert format_money(q) == expected


def test_quantize_refuses_float() -> None:
    with pytest.raises(TypeError):
        quantize(2.675)  # type: ignore[arg-type]


def test_cent() -> None:
    assert Decimal("0.01") == CENT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("4000"), "4000.00"),
        (Decimal("4E+3"), "4000.00"),
        (4000, "4000.00"),
        (Decimal("0"), "0.00"),
        (Decimal("-12.5"), "-12.50"),
        (Decimal("12345678.9"), "12345678.90"),
    ],
)
def test_format_money_always_two_places(value: Decimal | int, expected: str) -> None:
    assert format_money(value) == expected


# --- parsing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4000", Decimal("4000.00")),
        ("4000.00", Decimal("4000.00")),
        ("  12.5 ", Decimal("12.50")),
        ("1.230", Decimal("1.23")),
        ("0", Decimal("0.00")),
        (Decimal("99.9"), Decimal("99.90")),
        (4000, Decimal("4000.00")),
    ],
)
def test_parse_money_accepts(value: object, expected: Decimal) -> None:
    result = parse_money(value)
    assert result == expected
    assert isinstance(result, Decimal)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (4000.0, "not a float (4000.0)"),
        (0.1, "not a float (0.1)"),
        (True, "boolean"),
        (False, "boolean"),
        ("abc", "decimal"),
        ("1.234", "2 decimal places"),
        (Decimal("1.234"), "2 decimal places"),
        ("NaN", "decimal"),
        ("Infinity", "decimal"),
        (Decimal("NaN"), "finite"),
        (Decimal("-Infinity"), "finite"),
        ("", "empty"),
        ("   ", "empty"),
        ("1e3", "decimal"),
        ("1_000", "decimal"),
        ("¥100", "decimal"),
        (None, "NoneType"),
        ([1], "list"),
        ("-5", "negative"),
        (-5, "negative"),
        ("1" * 40, "too large"),
    ],
)
def test_parse_money_refuses(value: object, message: str) -> None:
    with pytest.raises(MoneyError, match=re.escape(message)) as excinfo:
        parse_money(value)
    assert isinstance(excinfo.value, ValueError)
    assert str(excinfo.value).startswith("amount ")


def test_parse_money_negative_when_allowed_and_field_name() -> None:
    assert parse_money("-12.50", allow_negative=True) == Decimal("-12.50")
    with pytest.raises(MoneyError, match=r"^refund must not be negative"):
        parse_money("-1", field="refund")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.01", Decimal("0.01")), ("0", Decimal("0")), ("1", Decimal("1")), ("0.125", Decimal("0.125"))],
)
def test_parse_rate_accepts(value: str, expected: Decimal) -> None:
    assert parse_rate(value) == expected


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (0.01, {}, "float"),
        (True, {}, "boolean"),
        ("-0.01", {}, "negative"),
        ("1.01", {}, "at most 1"),
        ("5", {}, "at most 1"),
        ("0.30000000000000004", {}, "decimal places"),
        ("NaN", {}, "decimal"),
        ("0.6", {"max_value": Decimal("0.5")}, "at most 0.5"),
    ],
)
def test_parse_rate_refuses(value: object, kwargs: dict[str, Decimal], message: str) -> None:
    with pytest.raises(MoneyError, match=re.escape(message)):
        parse_rate(value, **kwargs)


def test_format_rate_plain_notation() -> None:
    assert format_rate(Decimal("1E-2")) == "0.01"
    assert format_rate(Decimal("0.050")) == "0.050"


# --- marshmallow fields --------------------------------------------------------------------------------


class WageSchema(Schema):
    base = Money(required=True)
    bonus = Money(minimum="0.01", maximum="10000")
    adjustment = Money(allow_negative=True, allow_none=True)
    commission_rate = Rate()


def test_schema_loads_string_into_decimal() -> None:
    data = WageSchema().load(
        {"base": "4000.00", "bonus": "0.01", "adjustment": "-50", "commission_rate": "0.01"}
    )
    assert data == {
        "base": Decimal("4000.00"),
        "bonus": Decimal("0.01"),
        "adjustment": Decimal("-50.00"),
        "commission_rate": Decimal("0.01"),
    }
    assert isinstance(data["base"], Decimal)
    assert isinstance(data["commission_rate"], Decimal)


def test_schema_refuses_float_with_message() -> None:
    with pytest.raises(ValidationError) as excinfo:
        WageSchema().load({"base": 4000.0})
    (message,) = excinfo.value.messages["base"]  # type: ignore[index]
    assert "float" in message
    assert "decimal string" in message


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"base": "-1"}, "base", "must not be negative"),
        ({"base": "1.001"}, "base", "2 decimal places"),
        ({"base": True}, "base", "boolean"),
        ({"base": "4000", "bonus": "0"}, "bonus", "at least 0.01"),
        ({"base": "4000", "bonus": "-1"}, "bonus", "must not be negative"),
        ({"base": "4000", "bonus": "10000.01"}, "bonus", "at most 10000.00"),
        ({"base": "4000", "commission_rate": 0.01}, "commission_rate", "float"),
        ({"base": "4000", "commission_rate": "1.5"}, "commission_rate", "at most 1"),
        ({"base": None}, "base", "null"),
        ({}, "base", "Missing data"),
    ],
)
def test_schema_validation_errors(payload: dict[str, object], field: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        WageSchema().load(payload)
    messages = excinfo.value.messages
    assert isinstance(messages, dict)
    assert fragment in " ".join(messages[field])


def test_schema_dumps_two_places_and_rate_as_string() -> None:
    out = WageSchema().dump(
        {"base": Decimal("4000"), "bonus": 5, "adjustment": None, "commission_rate": Decimal("1E-2")}
    )
    assert out == {"base": "4000.00", "bonus": "5.00", "adjustment": None, "commission_rate": "0.01"}


def test_field_with_data_key_names_it_in_messages() -> None:
    class S(Schema):
        amount = Money(data_key="totalAmount")

    with pytest.raises(ValidationError) as excinfo:
        S().load({"totalAmount": "x"})
    assert excinfo.value.messages == {
        "totalAmount": ["totalAmount must be a decimal number such as \"4000.00\", got 'x'"]
    }


def test_field_options_are_checked() -> None:
    with pytest.raises(ValueError, match="allow_negative"):
        Money(minimum="-10")
    assert Money(minimum="-10", allow_negative=True).minimum == Decimal("-10.00")
    with pytest.raises(ValueError, match="greater"):
        Money(minimum="10", maximum="5")
    with pytest.raises(MoneyError):
        Money(maximum=10.0)  # type: ignore[arg-type]


def test_fields_document_themselves_as_strings() -> None:
    assert Money().metadata["type"] == "string"
    assert Rate(metadata={"description": "提成比例"}).metadata == {
        "type": "string",
        "pattern": r"^\d+(\.\d+)?$",
        "example": "0.01",
        "description": "提成比例",
    }
