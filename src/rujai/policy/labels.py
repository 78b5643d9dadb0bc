"""Subject-facing words in Thai and English for notices and the record of processing.

Pure data plus two formatting helpers (retention phrases, dates in the Buddhist Era for Thai).
"""

from __future__ import annotations

from datetime import date

from rujai.kit.time import buddhist_year
from rujai.policy.schemas import Lang, LawfulBasis, TransferMechanism

Pair = tuple[str, str]  # (th, en)

BASIS: dict[LawfulBasis, Pair] = {
    LawfulBasis.CONSENT: ("ความยินยอม", "Your consent"),
    LawfulBasis.EXPLICIT_CONSENT: ("ความยินยอมโดยชัดแจ้ง", "Your explicit consent"),
    LawfulBasis.CONTRACT: ("การปฏิบัติตามสัญญา", "Performing a contract with you"),
    LawfulBasis.LEGAL_OBLIGATION: ("การปฏิบัติตามกฎหมาย", "A legal obligation"),
    LawfulBasis.VITAL_INTEREST: ("การป้องกันอันตรายต่อชีวิต", "Protecting someone's life"),
    LawfulBasis.PUBLIC_TASK: ("ภารกิจเพื่อประโยชน์สาธารณะ", "A task in the public interest"),
    LawfulBasis.LEGITIMATE_INTEREST: ("ประโยชน์โดยชอบด้วยกฎหมาย", "Our legitimate interest"),
    LawfulBasis.RESEARCH: ("การศึกษาวิจัยหรือสถิติ", "Research or statistics"),
}

MECHANISM: dict[TransferMechanism, Pair] = {
    TransferMechanism.NONE: ("ไม่มีการโอนไปต่างประเทศ", "No transfer abroad"),
    TransferMechanism.ADEQUACY: (
        "ประเทศปลายทางมีมาตรฐานการคุ้มครองที่เพียงพอ",
        "The destination has adequate protection",
    ),
    TransferMechanism.CONSENT: (
        "ความยินยอมของคุณหลังได้รับแจ้งความเสี่ยง",
        "Your consent after being told of the risks",
    ),
    TransferMechanism.STANDARD_CLAUSES: (
        "ข้อสัญญามาตรฐานในการคุ้มครองข้อมูล",
        "Standard data protection clauses",
    ),
    TransferMechanism.BINDING_CORPORATE_RULES: (
        "นโยบายคุ้มครองข้อมูลภายในกลุ่มกิจการ",
        "Binding corporate rules",
    ),
}

# (id, th title, en title, th text, en text) — PDPA ss.19, 30-36; GDPR Arts. 15-21.
RIGHTS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "access",
        "สิทธิขอเข้าถึงและขอรับสำเนา",
        "Right of access",
        "ขอดูและขอรับสำเนาข้อมูลของคุณภายใน 30 วัน",
        "See and get a copy of your data within 30 days.",
    ),
    (
        "portability",
        "สิทธิขอให้โอนย้ายข้อมูล",
        "Right to data portability",
        "ขอรับข้อมูลในรูปแบบที่อ่านได้ด้วยเครื่อง (JSON, CSV) หรือให้ส่งไปยังผู้ควบคุมรายอื่น",
        "Get your data in a machine-readable format (JSON, CSV), or have it sent elsewhere.",
    ),
    (
        "rectification",
        "สิทธิขอแก้ไขข้อมูล",
        "Right to rectification",
        "ขอแก้ไขข้อมูลที่ไม่ถูกต้อง รวมถึงความสนใจที่ระบบอนุมาน",
        "Correct data that is wrong, including interests we inferred.",
    ),
    (
        "erasure",
        "สิทธิขอให้ลบข้อมูล",
        "Right to erasure",
        "ขอให้ลบหรือทำให้ข้อมูลไม่สามารถระบุตัวตนได้",
        "Have your data deleted or anonymised.",
    ),
    (
        "restriction",
        "สิทธิขอให้ระงับการใช้ข้อมูล",
        "Right to restriction",
        "ขอให้เก็บข้อมูลไว้แต่หยุดใช้",
        "Have us keep your data but stop using it.",
    ),
    (
        "objection",
        "สิทธิคัดค้าน",
        "Right to object",
        "คัดค้านการตลาดแบบตรง ซึ่งเราหยุดทันทีเสมอ และการใช้ข้อมูลโดยอาศัยประโยชน์โดยชอบด้วยกฎหมาย",
        "Object to direct marketing, which we always stop at once, and to use based on our "
        "legitimate interest.",
    ),
    (  # shown on its own, apart from the other objections (GDPR Art. 21(4), Art. 22; EU-02)
        "object_profiling",
        "สิทธิคัดค้านการวิเคราะห์ความสนใจ (profiling)",
        "Right to object to profiling",
        "คัดค้านการวิเคราะห์ความสนใจและการตัดสินใจโดยอัตโนมัติจากข้อมูลของคุณ "
        "เราจะหยุดใช้ข้อมูลของคุณเพื่อแนะนำสินค้าและข้อเสนอเฉพาะคุณ",
        "Object to profiling and automated decisions based on your data: we stop using it "
        "for recommendations and offers tailored to you.",
    ),
    (
        "withdraw_consent",
        "สิทธิถอนความยินยอม",
        "Right to withdraw consent",
        "ถอนความยินยอมได้ทุกเมื่อ ง่ายเท่ากับการให้ความยินยอม โดยไม่กระทบการใช้ข้อมูลก่อนหน้านั้น",
        "Withdraw consent at any time, as easily as you gave it; earlier use stays lawful.",
    ),
)

COMPLAINT: Pair = (
    "คุณมีสิทธิร้องเรียนต่อสำนักงานคณะกรรมการคุ้มครองข้อมูลส่วนบุคคล (สคส.) ตามมาตรา 73",
    "You may complain to Thailand's Personal Data Protection Committee (PDPC) under s.73, "
    "or to your EU data protection authority.",
)

NO_CONSEQUENCE: Pair = (
    "คุณยังใช้บริการทั้งหมดได้ตามปกติ และถอนความยินยอมได้ทุกเมื่อ",
    "You can still use all our services, and you can withdraw consent at any time.",
)

HEADINGS: dict[str, Pair] = {
    "title": ("ประกาศความเป็นส่วนตัว", "Privacy notice"),
    "controller": ("ผู้ควบคุมข้อมูลส่วนบุคคล", "Who we are"),
    "dpo": ("เจ้าหน้าที่คุ้มครองข้อมูลส่วนบุคคล (DPO)", "Data Protection Officer (DPO)"),
    "purposes": ("เราใช้ข้อมูลของคุณเพื่ออะไร", "What we use your data for"),
    "basis": ("ฐานทางกฎหมาย", "Lawful basis"),
    "data": ("ข้อมูลที่ใช้", "Data used"),
    "sensitive": ("ข้อมูลอ่อนไหว", "sensitive"),
    "required": ("จำเป็นต้องให้ข้อมูล", "Required"),
    "optional": ("ไม่บังคับ เลือกได้", "Optional, your choice"),
    "consequence": ("หากไม่ให้ข้อมูลหรือไม่ยินยอม", "If you say no"),
    "retention": ("ระยะเวลาเก็บรักษา", "How long we keep it"),
    "days": ("วัน", "days"),
    "recipients": ("ผู้รับข้อมูล", "Who we share it with"),
    "country": ("ประเทศ", "Country"),
    "abroad": ("การโอนข้อมูลไปต่างประเทศ", "Transfers abroad"),
    "mechanism": ("มาตรการคุ้มครองการโอน", "Safeguard"),
    "no_recipients": ("ไม่มีการเปิดเผยแก่บุคคลอื่น", "Not shared with anyone else"),
    "no_transfers": ("ไม่มีการโอนข้อมูลไปต่างประเทศ", "No data is transferred abroad"),
    "rights": ("สิทธิของคุณ", "Your rights"),
    "exercise": ("วิธีใช้สิทธิ", "How to use your rights"),
    "complaint": ("การร้องเรียน", "Complaints"),
    "security": ("การรักษาความปลอดภัย", "How we protect your data"),
    "version": ("ฉบับ", "Version"),
    "effective": ("มีผลตั้งแต่", "Effective from"),
    "notice_version": ("ฉบับประกาศ", "Notice version"),
    "direct_marketing": ("การตลาดแบบตรง", "Direct marketing"),
    "profiling": ("มีการทำโปรไฟล์", "Profiling"),
    "name": ("ชื่อ", "Name"),
    "email": ("อีเมล", "Email"),
    "phone": ("โทรศัพท์", "Phone"),
    "address": ("ที่อยู่", "Address"),
}

SENSITIVE_NOTE: Pair = (
    "วัตถุประสงค์นี้ใช้ข้อมูลอ่อนไหว เราจึงขอความยินยอมโดยชัดแจ้งจากคุณ",
    "This purpose uses sensitive data, so we ask for your explicit consent.",
)

_THAI_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip
_ENGLISH_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def pick(pair: Pair, lang: Lang) -> str:
    """Return the Thai or English half of ``pair``."""
    return pair[0] if lang == "th" else pair[1]


def heading(key: str, lang: Lang) -> str:
    """Return the heading ``key`` in ``lang``."""
    return pick(HEADINGS[key], lang)


def headings(lang: Lang) -> dict[str, str]:
    """Return every heading in ``lang``."""
    return {key: pick(pair, lang) for key, pair in HEADINGS.items()}


def retention_phrase(days: int, lang: Lang) -> str:
    """Say ``days`` as people do: whole years, whole months (30 days) or days."""
    if days % 365 == 0:
        count, unit = days // 365, ("ปี", "year")
    elif days % 30 == 0:
        count, unit = days // 30, ("เดือน", "month")
    else:
        count, unit = days, ("วัน", "day")
    if lang == "th":
        return f"{count} {unit[0]}"
    return f"{count} {unit[1]}{'' if count == 1 else 's'}"


def format_date(value: date, lang: Lang) -> str:
    """Format a date as Thai readers expect (Buddhist Era) or in English."""
    if lang == "th":
        return f"{value.day} {_THAI_MONTHS[value.month - 1]} พ.ศ. {buddhist_year(value)}"
    return f"{value.day} {_ENGLISH_MONTHS[value.month - 1]} {value.year}"
