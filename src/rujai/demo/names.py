"""Made-up Thai customers for the demo: names in Thai script with romanisations, fictional contacts.

Given names are ordinary Thai first names; family names are assembled from common parts, so any
resemblance to a real person is chance. E-mail addresses use ``example.com`` (RFC 2606) and phone
numbers the ``08x-555-xxxx`` pattern, which no real subscriber is meant to recognise as theirs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, NamedTuple

Gender = Literal["female", "male"]


class ThaiName(NamedTuple):
    """A name in Thai script and its RTGS-style romanisation."""

    th: str
    rom: str


FEMALE: tuple[ThaiName, ...] = tuple(
    ThaiName(th, rom)
    for th, rom in (
        ("มาลี", "Mali"), ("สุดา", "Suda"), ("ปราณี", "Pranee"), ("นภา", "Napha"),
        ("วิไล", "Wilai"), ("รัตนา", "Rattana"), ("กัญญา", "Kanya"), ("พิมพ์ชนก", "Phimchanok"),
        ("ณัฐธิดา", "Natthida"), ("ศิริพร", "Siriporn"), ("อรุณี", "Arunee"), ("จันทร์เพ็ญ", "Chanpen"),
        ("ปิยะนุช", "Piyanuch"), ("สุภาพร", "Supaporn"), ("วรรณา", "Wanna"), ("ชลธิชา", "Chonthicha"),
        ("ธิดารัตน์", "Thidarat"), ("กมลชนก", "Kamonchanok"), ("พรทิพย์", "Pornthip"),
        ("นันทนา", "Nanthana"), ("ลลิตา", "Lalita"), ("อัญชลี", "Anchalee"), ("ปวีณา", "Paweena"),
        ("สิริกร", "Sirikorn"), ("เบญจวรรณ", "Benjawan"), ("ดวงใจ", "Duangjai"), ("แพรวา", "Praewa"),
        ("ขวัญใจ", "Khwanjai"), ("รุ่งนภา", "Rungnapha"), ("ทิพวรรณ", "Thippawan"),
    )
)  # fmt: skip

MALE: tuple[ThaiName, ...] = tuple(
    ThaiName(th, rom)
    for th, rom in (
        ("สมชาย", "Somchai"), ("ประเสริฐ", "Prasert"), ("วีระ", "Weera"), ("ธนากร", "Thanakorn"),
        ("ณัฐพล", "Nattaphon"), ("กิตติพงษ์", "Kittipong"), ("อนุชา", "Anucha"), ("สุรชัย", "Surachai"),
        ("ชัยวัฒน์", "Chaiwat"), ("พงศกร", "Pongsakorn"), ("ธีรพงษ์", "Theerapong"), ("วิชัย", "Wichai"),
        ("ปิยะพงษ์", "Piyapong"), ("อภิชาติ", "Aphichat"), ("เกียรติศักดิ์", "Kiattisak"),
        ("ศุภชัย", "Supachai"), ("ธนวัฒน์", "Thanawat"), ("จิรายุ", "Jirayu"), ("ภาณุวัฒน์", "Phanuwat"),
        ("นพดล", "Noppadon"), ("สุทธิพงษ์", "Suttipong"), ("ชนาธิป", "Chanathip"), ("วรวุฒิ", "Worawut"),
        ("อรรถพล", "Attaphon"), ("พีรพัฒน์", "Peerapat"), ("ธนภัทร", "Thanaphat"),
        ("กฤษดา", "Kritsada"), ("ณรงค์", "Narong"), ("บุญมี", "Bunmee"), ("ปกรณ์", "Pakorn"),
    )
)  # fmt: skip

# Family names: a head, a tail and sometimes an ending, e.g. ศรี + เจริญ + กุล = Sricharoenkun.
FAMILY_HEADS: tuple[ThaiName, ...] = tuple(
    ThaiName(th, rom)
    for th, rom in (
        ("ศรี", "Sri"), ("ทอง", "Thong"), ("แก้ว", "Kaew"), ("บุญ", "Bun"), ("สุข", "Suk"),
        ("รุ่ง", "Rung"), ("เพชร", "Phet"), ("มณี", "Manee"), ("ใจ", "Jai"), ("ชัย", "Chai"),
        ("พร", "Phon"), ("เงิน", "Ngoen"), ("ดี", "Dee"), ("แสง", "Saeng"),
    )
)  # fmt: skip
FAMILY_TAILS: tuple[ThaiName, ...] = tuple(
    ThaiName(th, rom)
    for th, rom in (
        ("สวัสดิ์", "sawat"), ("ประเสริฐ", "prasert"), ("เจริญ", "charoen"), ("รัตน์", "rat"),
        ("ไพศาล", "phaisan"), ("สมบูรณ์", "sombun"), ("ทวี", "thawee"), ("มั่นคง", "mankhong"),
        ("อุดม", "udom"), ("ยิ่งยง", "yingyong"), ("ศิริ", "siri"), ("เรือง", "ruang"),
        ("วัฒนา", "watthana"), ("ชื่น", "chuen"),
    )
)  # fmt: skip
FAMILY_ENDINGS: tuple[ThaiName, ...] = (
    ThaiName("กุล", "kun"),
    ThaiName("วงศ์", "wong"),
    ThaiName("ศักดิ์", "sak"),
)


@dataclass(frozen=True, slots=True)
class Person:
    """A made-up customer: gender, given and family name."""

    gender: Gender
    first: ThaiName
    last: ThaiName


def made_up_person(rng: random.Random) -> Person:
    """Draw a fictional person from ``rng``."""
    gender: Gender = "female" if rng.random() < 0.55 else "male"
    first = rng.choice(FEMALE if gender == "female" else MALE)
    head, tail = rng.choice(FAMILY_HEADS), rng.choice(FAMILY_TAILS)
    parts = [head, tail] + ([rng.choice(FAMILY_ENDINGS)] if rng.random() < 0.35 else [])
    last = ThaiName("".join(p.th for p in parts), "".join(p.rom for p in parts).capitalize())
    return Person(gender=gender, first=first, last=last)


def customer_id(number: int) -> str:
    """Return the demo brand's customer id for a number, e.g. ``BS-000123``."""
    return f"BS-{number:06d}"


def email(person: Person, number: int) -> str:
    """Return a fictional address ``<romanised>.<n>@example.com`` (RFC 2606)."""
    return f"{person.first.rom.lower()}.{number}@example.com"


def phone(number: int) -> str:
    """Return a fictional mobile number ``08x-555-xxxx``, unique for the first 70,000 numbers."""
    second = (1, 2, 4, 5, 6, 8, 9)[number % 7]
    return f"08{second}-555-{number % 10_000:04d}"
