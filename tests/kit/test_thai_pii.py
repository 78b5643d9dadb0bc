"""Thai identifier detection (TH-MIN-02) and normalisation for blind indexes (TH-SEC-01)."""

from __future__ import annotations

import time

import pytest
from hypothesis import example, given, strategies as st

from rujai.kit.thai_pii import (
    PiiMatch,
    find_pii,
    is_valid_thai_national_id,
    mask_pii,
    national_id_check_digit,
    normalise_email,
    normalise_phone,
)

# Fictional IDs built with the check-digit rule; they belong to nobody we know of.
VALID_ID = "1101700203468"
VALID_ID_DASHED = "1-1017-00203-46-8"
WEIGHTS = range(13, 1, -1)

twelve_digits = st.text(alphabet="0123456789", min_size=12, max_size=12)
WORDS = ["ชื่อ", "สมชาย", "ใจดี", "เลขบัตร", "ประชาชน", "ที่อยู่", "กรุงเทพฯ", "ลูกค้า", "ครับ"]
WORDS += ["customer", "note", "name", "Somchai", "ID", "card", "please", "call", "ok"]
words = st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join)
left_edges = st.sampled_from([" ", ": ", "(", "\n", "เลขที่", "#"])
right_edges = st.sampled_from([" ", ")", ".", ", ", "ครับ", "\n"])


def weighted_sum(digits: str) -> int:
    return sum(int(d) * w for d, w in zip(digits[:12], WEIGHTS, strict=True))


def make_id(first12: str) -> str:
    return first12 + str((11 - weighted_sum(first12) % 11) % 10)


def id_forms(national_id: str) -> list[str]:
    d = national_id
    groups = [d[0], d[1:5], d[5:10], d[10:12], d[12]]
    return [d, "-".join(groups), " ".join(groups)]


# --- check digit ------------------------------------------------------------------------------


def test_is_valid_thai_national_id_accepts_plain_dashed_and_spaced_forms():
    for form in [*id_forms(VALID_ID), VALID_ID_DASHED]:
        assert is_valid_thai_national_id(form), form


@pytest.mark.parametrize(
    "value",
    ["1101700203469", "110170020346", "11017002034680", "1101700203a68", "", "-------------"],
)
def test_is_valid_thai_national_id_rejects_wrong_check_digit_length_or_characters(value):
    assert not is_valid_thai_national_id(value)


def test_is_valid_thai_national_id_accepts_thai_digits():
    thai = VALID_ID.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    assert is_valid_thai_national_id(thai)


def test_national_id_check_digit_rejects_anything_but_twelve_ascii_digits():
    with pytest.raises(ValueError, match="12 ASCII digits"):
        national_id_check_digit("12345")


@given(twelve_digits)
def test_exactly_one_check_digit_completes_any_twelve_digits(first12):
    valid = [c for c in "0123456789" if is_valid_thai_national_id(first12 + c)]
    assert valid == [make_id(first12)[12]]


@given(twelve_digits, st.integers(0, 12), st.integers(1, 9))
@example("000000000000", 12, 1)
@example("000000000000", 2, 5)
@example("000000000000", 0, 5)
def test_single_digit_change_is_detected_except_where_the_rule_cannot_see_it(first12, pos, shift):
    """What the mod-11/mod-10 rule really guarantees for one changed digit.

    - the check digit itself (position 12): always detected;
    - the third digit (position 2) has weight 11 = 0 (mod 11): never detected;
    - any other position: detected unless the weighted sum moves between residues 0 and 10
      (mod 11), which both map to check digit 1 (the mod-10 collapse).
    """
    original = make_id(first12)
    digit = (int(original[pos]) + shift) % 10
    changed = original[:pos] + str(digit) + original[pos + 1 :]
    residues = {weighted_sum(original) % 11, weighted_sum(changed) % 11}
    expected_valid = pos == 2 or (pos != 12 and residues == {0, 10})
    assert is_valid_thai_national_id(changed) is expected_valid


def test_mod_ten_collapse_lets_one_change_through():
    # weighted sum 0 -> residue 0 -> check 1; +5 on the first digit adds 65 = 10 (mod 11) -> check 1
    original = make_id("000000000000")
    changed = "5" + original[1:]
    assert original[12] == changed[12] == "1"
    assert is_valid_thai_national_id(original)
    assert is_valid_thai_national_id(changed)


# --- finding national IDs -------------------------------------------------------------------


@given(twelve_digits, st.integers(0, 2), words, left_edges, right_edges, words)
def test_valid_national_id_in_thai_or_english_text_is_found_and_masked(
    first12, form, before, left, right, after
):
    """TH-MIN-02: an ID typed into free text is found wherever it sits."""
    national_id = id_forms(make_id(first12))[form]
    prefix = before + left
    text = prefix + national_id + right + after
    masked, matches = mask_pii(text)
    assert matches == [PiiMatch("national_id", len(prefix), len(prefix) + len(national_id))]
    assert masked == prefix + "[national_id]" + right + after


@given(twelve_digits, st.integers(1, 9), words, left_edges, right_edges, words)
def test_national_id_with_wrong_check_digit_is_not_found(
    first12, shift, before, left, right, after
):
    valid = make_id(first12)
    invalid = valid[:12] + str((int(valid[12]) + shift) % 10)
    text = before + left + invalid + right + after
    assert find_pii(text) == []
    assert mask_pii(text) == (text, [])


@pytest.mark.parametrize(
    "text",
    [f"x{VALID_ID}", f"{VALID_ID}9", f"9{VALID_ID}", f"ORD-{VALID_ID}", f"{VALID_ID}.50"],
)
def test_national_id_is_not_found_inside_longer_codes_or_numbers(text):
    assert find_pii(text) == []


def test_national_id_next_to_thai_script_is_found():
    text = f"เลขบัตรประชาชน{VALID_ID}ค่ะ"
    assert mask_pii(text)[0] == "เลขบัตรประชาชน[national_id]ค่ะ"


def test_national_id_with_mixed_separators_is_not_found():
    assert find_pii("1-1017 00203-46 8") == []


# --- phones ------------------------------------------------------------------------------------


PHONES = [
    ("0812345678", "+66812345678"),
    ("081-234-5678", "+66812345678"),
    ("081 234 5678", "+66812345678"),
    ("08-1234-5678", "+66812345678"),
    ("0612345678", "+66612345678"),
    ("099 876 5432", "+66998765432"),
    ("02-123-4567", "+6621234567"),
    ("021234567", "+6621234567"),
    ("053-123-456", "+6653123456"),
    ("038 123 456", "+6638123456"),
    ("074123456", "+6674123456"),
    ("+66812345678", "+66812345678"),
    ("+66 81 234 5678", "+66812345678"),
    ("+66-2-123-4567", "+6621234567"),
    ("66812345678", "+66812345678"),
]


@pytest.mark.parametrize(("phone", "e164"), PHONES)
def test_thai_phone_forms_are_found_and_normalised(phone, e164):
    text = f"ติดต่อคุณสมหญิง โทร {phone} ได้ทุกวัน"
    start = text.index(phone)
    assert find_pii(text) == [PiiMatch("phone", start, start + len(phone))]
    assert normalise_phone(phone) == e164


def test_phones_next_to_thai_script_and_in_lists_are_all_found():
    text = "โทร0812345678หรือ02-123-4567, 0898765432 Tel.053123456"
    masked, matches = mask_pii(text)
    assert masked == "โทร[phone]หรือ[phone], [phone] Tel.[phone]"
    assert [m.kind for m in matches] == ["phone"] * 4


def test_phone_in_thai_digits_is_found():
    assert mask_pii("โทร ๐๘๑๒๓๔๕๖๗๘")[0] == "โทร [phone]"
    assert normalise_phone("๐๘๑-๒๓๔-๕๖๗๘") == "+66812345678"


@pytest.mark.parametrize(
    "text",
    ["081234567", "08123456789", "0112345678", "012345678", "INV-0812345678", "0812345678-9"],
)
def test_wrong_length_prefix_or_code_is_not_a_phone(text):
    assert find_pii(text) == []


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("+66 (0)81 234 5678", "+66812345678"), ("0066812345678", "+66812345678")],
)
def test_normalise_phone_accepts_international_variants(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12345", "+1 415 555 0100", "0812345", "08123456789", "01234"])
def test_normalise_phone_rejects_non_thai_numbers(raw):
    with pytest.raises(ValueError, match="not a Thai phone number"):
        normalise_phone(raw)


def test_normalise_phone_maps_every_written_form_to_one_blind_index_value():
    forms = ["0812345678", "081-234-5678", "+66 81 234 5678", "66812345678", "+66(0)812345678"]
    assert {normalise_phone(f) for f in forms} == {"+66812345678"}


# --- e-mail ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["somchai@example.com", "s.jaidee+shop@mail.example.co.th", "A_B-c%9@sub-domain.example.org"],
)
def test_email_is_found_in_thai_text(email):
    text = f"อีเมลของฉันคือ {email} ขอบคุณค่ะ"
    start = text.index(email)
    assert find_pii(text) == [PiiMatch("email", start, start + len(email))]


def test_email_at_end_of_sentence_excludes_the_full_stop():
    assert mask_pii("Write to somying@example.com.")[0] == "Write to [email]."


def test_phone_number_as_email_local_part_is_one_email():
    assert find_pii("0812345678@example.com") == [PiiMatch("email", 0, 22)]


@pytest.mark.parametrize("text", ["a@b", "@example.com", "somchai@", "user@example", "x@-a.com"])
def test_incomplete_addresses_are_not_emails(text):
    assert [m for m in find_pii(text) if m.kind == "email"] == []


def test_normalise_email_strips_and_lowercases_local_part_and_domain():
    assert normalise_email("  Somchai.J@Example.CO.TH \n") == "somchai.j@example.co.th"


@pytest.mark.parametrize("raw", ["", "somchai", "somchai@", "@example.com", "a b@example.com"])
def test_normalise_email_rejects_non_addresses(raw):
    with pytest.raises(ValueError, match="not an e-mail address"):
        normalise_email(raw)


# --- no false positives, mixed text, speed -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "ORD-20240115-0042",
        "คำสั่งซื้อ ORD-20240115-0042 ราคา 1,299.00 บาท",
        "ราคา 12,990.00 บาท",
        "2024-01-15",
        "วันที่ 15/01/2567 เวลา 10:30 น.",
        "2024-01-15T10:30:00+07:00",
        "20240115103000",
        "SKU 0812-345-678X",
        "INV/2024/0812345678",
        "tracking TH1101700203468",
        "ยอดรวม 1101700203468.00",
    ],
)
def test_order_ids_prices_dates_and_codes_are_not_pii(text):
    assert find_pii(text) == []


def test_mixed_text_masks_every_identifier_in_order():
    text = (
        f"คุณสมหญิง ใจงาม เลขบัตร {VALID_ID_DASHED} โทร 081-234-5678 "
        "อีเมล somying@example.com สั่งซื้อ ORD-20240115-0042 ราคา 1,299.00 บาท"
    )
    masked, matches = mask_pii(text)
    assert masked == (
        "คุณสมหญิง ใจงาม เลขบัตร [national_id] โทร [phone] "
        "อีเมล [email] สั่งซื้อ ORD-20240115-0042 ราคา 1,299.00 บาท"
    )
    assert [m.kind for m in matches] == ["national_id", "phone", "email"]
    assert [text[m.start : m.end] for m in matches] == [
        VALID_ID_DASHED,
        "081-234-5678",
        "somying@example.com",
    ]


def test_scanning_adversarial_text_stays_linear():
    """Guard against catastrophic backtracking: 60 kB of near-misses in well under a second."""
    near_misses = "0 8 1 2 3 4 5 6 7 " * 1000 + "a" * 10_000 + "@" + "b-" * 10_000 + "1" * 5_000
    started = time.perf_counter()
    find_pii(near_misses)
    assert time.perf_counter() - started < 2.0
