"""Booking numbers: format, alphabet, generation and reading what people type."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.booking_numbers import (
    ALPHABET,
    is_booking_number,
    new_booking_number,
    normalize_booking_number,
)

AMBIGUOUS = set("0O1ILU")
# Written out independently: digits 2-9 and A-Z without I, L, O, U.
EXPECTED_ALPHABET = set("23456789") | (set("ABCDEFGHIJKLMNOPQRSTUVWXYZ") - set("ILOU"))
SHAPE = re.compile(r"\ABK-[A-Z2-9]{6}-[A-Z2-9]{4}\Z")

body = st.text(alphabet=ALPHABET, min_size=10, max_size=10)
numbers = body.map(lambda b: f"BK-{b[:6]}-{b[6:]}")


def test_alphabet_is_exactly_the_unambiguous_characters() -> None:
    assert set(ALPHABET) == EXPECTED_ALPHABET
    assert len(ALPHABET) == len(set(ALPHABET)) == 30
    assert not AMBIGUOUS & set(ALPHABET)


def test_ten_thousand_new_numbers() -> None:
    generated = [new_booking_number() for _ in range(10_000)]
    for number in generated:
        assert is_booking_number(number), number
        assert SHAPE.match(number), number
        assert not AMBIGUOUS & set(number[3:].replace("-", "")), number
    # 30^10 ≈ 5.9e14 possibilities: a collision among 10,000 has probability ≈ 8.5e-8.
    assert len(set(generated)) == len(generated)


def test_new_numbers_use_the_whole_alphabet() -> None:
    seen = {c for _ in range(2_000) for c in new_booking_number()[3:].replace("-", "")}
    assert seen == set(ALPHABET)


@pytest.mark.parametrize("text", ["BK-234567-89AB", "BK-ZZZZZZ-2222", "BK-ABCDEF-GHJK"])
def test_is_booking_number_accepts_well_formed(text: str) -> None:
    assert is_booking_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "BK-23456-789AB",  # dash in the wrong place
        "BK-2345678-9AB",
        "BK-234567-89A",  # too short
        "BK-234567-89ABC",  # too long
        "BK23456789AB",  # no dashes
        "bk-234567-89ab",  # lower case is for normalize, not for the strict check
        "XX-234567-89AB",
        "BK-O34567-89AB",  # O
        "BK-034567-89AB",  # 0
        "BK-134567-89AB",  # 1
        "BK-I34567-89AB",  # I
        "BK-L34567-89AB",  # L
        "BK-234567-89UB",  # U
        " BK-234567-89AB",
        "BK-234567-89AB ",
        "xBK-234567-89AB",
        "BK-234567-89ABx",
    ],
)
def test_is_booking_number_refuses_anything_else(text: str) -> None:
    assert not is_booking_number(text)


def test_is_booking_number_refuses_a_trailing_newline() -> None:
    # "exactly a well-formed booking number": a scanner's trailing newline is not part of it.
    assert not is_booking_number("BK-234567-89AB\n")


@pytest.mark.parametrize(
    "typed",
    [
        "BK-234567-89AB",
        "bk-234567-89ab",
        "Bk-234567-89aB",
        "BK23456789AB",
        "bk23456789ab",
        "BK 234567 89AB",
        "  bk 2345 6789 ab  ",
        "234567-89AB",
        "23456789AB",
        "2345 6789 ab",
        "BK_234567_89AB",
        "BK-234567-89AB\n",
        "\tBK--234567--89AB",
    ],
)
def test_normalize_reads_what_people_type(typed: str) -> None:
    assert normalize_booking_number(typed) == "BK-234567-89AB"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "BK",
        "BK-",
        "BK-234567-89A",  # 9 characters
        "BK-234567-89ABC",  # 11 characters
        "2345678",
        "BK-234567-89AB-2",
        "BK-O34567-89AB",  # ambiguous characters are not mapped to look-alikes
        "BK-034567-89AB",
        "BK-134567-89AB",
        "BK-I34567-89AB",
        "bk-l34567-89ab",
        "BK-234567-89UB",
        "BK-234567-89A!",
        "BK.234567.89AB",
        "KB-234567-89AB",
    ],
)
def test_normalize_refuses(typed: str) -> None:
    assert normalize_booking_number(typed) is None


def test_normalize_reads_a_number_whose_body_starts_with_bk_typed_without_prefix() -> None:
    # "BK" and "K" are both in the alphabet, so BK-BK2345-678A is a real number. Typed
    # without its prefix (as every other number may be) it must still be found.
    assert is_booking_number("BK-BK2345-678A")
    assert normalize_booking_number("BK-BK2345-678A") == "BK-BK2345-678A"
    assert normalize_booking_number("BK2345678A") == "BK-BK2345-678A"


def test_normalize_maps_nothing_silently_into_the_alphabet() -> None:
    # "ß".upper() == "SS": a character outside the alphabet must not turn into two inside it.
    assert normalize_booking_number("BK-2345ß-789A") is None


@st.composite
def typed_versions(draw: st.DrawFn, number: str, *, prefix: bool) -> str:
    chars = number.replace("-", "")
    if not prefix:
        chars = chars[2:]
    out = []
    for c in chars:
        out.append(c.lower() if draw(st.booleans()) else c)
        out.append(draw(st.sampled_from(["", "", "", " ", "-", "  ", "_", "\t"])))
    lead = draw(st.sampled_from(["", " ", "\n"]))
    return lead + "".join(out)


@given(st.data(), numbers)
def test_normalize_inverts_random_spacing_and_case(data: st.DataObject, number: str) -> None:
    typed = data.draw(typed_versions(number, prefix=True))
    assert normalize_booking_number(typed) == number


@given(st.data(), numbers.filter(lambda n: not n.startswith("BK-BK")))
def test_normalize_inverts_random_spacing_and_case_without_prefix(
    data: st.DataObject, number: str
) -> None:
    # Numbers whose body starts with "BK" are covered by the dedicated test above.
    typed = data.draw(typed_versions(number, prefix=False))
    assert normalize_booking_number(typed) == number


@given(numbers)
def test_normalize_of_a_well_formed_number_is_itself(number: str) -> None:
    assert is_booking_number(number)
    assert normalize_booking_number(number) == number


@given(st.text(max_size=20))
def test_normalize_returns_none_or_a_well_formed_number(text: str) -> None:
    result = normalize_booking_number(text)
    assert result is None or is_booking_number(result)
