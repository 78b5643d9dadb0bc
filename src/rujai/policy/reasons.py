"""Reason codes of the policy decision and their texts for the subject, in Thai and English.

``rules.evaluate`` returns one of these on every verdict; ``policy/README.md`` lists each with the
requirement it comes from.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["REASON_TEXT", "Reason"]


class Reason(StrEnum):
    ALLOWED_CONSENT = "allowed_consent"
    ALLOWED_BASIS = "allowed_basis"
    UNKNOWN_PURPOSE = "unknown_purpose"
    UNKNOWN_CATEGORY = "unknown_category"
    CATEGORY_NOT_IN_PURPOSE = "category_not_in_purpose"
    PURPOSE_DOES_NOT_COLLECT = "purpose_does_not_collect"
    RESTRICTED = "restricted"
    OBJECTED_DIRECT_MARKETING = "objected_direct_marketing"
    OBJECTED_PROFILING = "objected_profiling"
    OBJECTED_LEGITIMATE_INTEREST = "objected_legitimate_interest"
    SENSITIVE_NEEDS_EXPLICIT_CONSENT = "sensitive_needs_explicit_consent"
    NO_CONSENT = "no_consent"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    NOTICE_OUTDATED = "notice_outdated"
    GUARDIAN_CONSENT_REQUIRED = "guardian_consent_required"
    GUARDIAN_CO_CONSENT_PENDING = "guardian_co_consent_pending"
    NOT_A_RIGHTS_PURPOSE = "not_a_rights_purpose"
    OUTSIDE_CONTROLLER_INSTRUCTIONS = "outside_controller_instructions"  # TH-PRC-01
    AGE_UNKNOWN = "age_unknown"
    # A disclosure's recipient (policy.disclosure; TH-USE-01, TH-XB-01, TH-PRC-01).
    UNKNOWN_RECIPIENT = "unknown_recipient"
    RECIPIENT_NOT_FOR_PURPOSE = "recipient_not_for_purpose"
    NO_TRANSFER_MECHANISM = "no_transfer_mechanism"
    TRANSFER_MECHANISM_EXPIRED = "transfer_mechanism_expired"
    TRANSFER_CONSENT_NOT_INFORMED = "transfer_consent_not_informed"
    NO_PROCESSOR_AGREEMENT = "no_processor_agreement"
    PROCESSOR_AGREEMENT_EXPIRED = "processor_agreement_expired"
    PURPOSE_NOT_IN_AGREEMENT = "purpose_not_in_agreement"


REASON_TEXT: dict[Reason, tuple[str, str]] = {
    Reason.ALLOWED_CONSENT: ("ได้รับความยินยอมจากคุณสำหรับวัตถุประสงค์นี้", "You consented to this purpose."),
    Reason.ALLOWED_BASIS: (
        "ใช้ฐานทางกฎหมายอื่นที่ไม่ใช่ความยินยอม",
        "Allowed on a lawful basis other than consent.",
    ),
    Reason.UNKNOWN_PURPOSE: ("ไม่มีวัตถุประสงค์นี้ในนโยบาย", "This purpose is not in the policy."),
    Reason.UNKNOWN_CATEGORY: ("ไม่มีประเภทข้อมูลนี้ในนโยบาย", "This data category is not in the policy."),
    Reason.CATEGORY_NOT_IN_PURPOSE: (
        "วัตถุประสงค์นี้ไม่ได้ประกาศว่าใช้ข้อมูลประเภทนี้",
        "This purpose does not declare this data category.",
    ),
    Reason.PURPOSE_DOES_NOT_COLLECT: (
        "วัตถุประสงค์นี้ใช้ได้เฉพาะข้อมูลที่มีอยู่แล้ว ไม่ใช่เหตุให้เก็บข้อมูลใหม่",
        "This purpose only uses data already held; it is no reason to collect more.",
    ),
    Reason.RESTRICTED: ("คุณขอให้ระงับการใช้ข้อมูล", "You asked us to restrict the use of your data."),
    Reason.OBJECTED_DIRECT_MARKETING: (
        "คุณคัดค้านการตลาดแบบตรง",
        "You objected to direct marketing.",
    ),
    Reason.OBJECTED_PROFILING: ("คุณคัดค้านการทำโปรไฟล์", "You objected to profiling."),
    Reason.OBJECTED_LEGITIMATE_INTEREST: (
        "คุณคัดค้านการใช้ข้อมูลโดยอาศัยประโยชน์โดยชอบด้วยกฎหมาย",
        "You objected to processing based on legitimate interest.",
    ),
    Reason.SENSITIVE_NEEDS_EXPLICIT_CONSENT: (
        "ข้อมูลอ่อนไหวต้องได้รับความยินยอมโดยชัดแจ้ง",
        "Sensitive data needs your explicit consent.",
    ),
    Reason.NO_CONSENT: ("ยังไม่ได้รับความยินยอม", "You have not consented to this purpose."),
    Reason.WITHDRAWN: ("คุณถอนความยินยอมแล้ว", "You withdrew your consent."),
    Reason.EXPIRED: ("ความยินยอมหมดอายุแล้ว", "Your consent has expired."),
    Reason.NOTICE_OUTDATED: (
        "ประกาศความเป็นส่วนตัวเปลี่ยนแปลง ต้องขอความยินยอมใหม่",
        "The privacy notice changed; we need your consent again.",
    ),
    Reason.GUARDIAN_CONSENT_REQUIRED: (
        "ต้องได้รับความยินยอมจากผู้ใช้อำนาจปกครอง",
        "A parent or guardian must consent.",
    ),
    Reason.GUARDIAN_CO_CONSENT_PENDING: (
        "รอความยินยอมจากผู้ใช้อำนาจปกครอง",
        "Waiting for a parent or guardian to consent as well.",
    ),
    Reason.NOT_A_RIGHTS_PURPOSE: (
        "วัตถุประสงค์นี้ไม่ใช่การดำเนินการตามคำขอใช้สิทธิตามกฎหมาย",
        "This purpose is not the legal duty of answering your requests.",
    ),
    Reason.AGE_UNKNOWN: (
        "ต้องทราบอายุของคุณก่อน เพื่อตรวจสอบว่าคุณให้ความยินยอมได้ด้วยตนเองหรือไม่",
        "We need to know your age to check whether you can consent on your own.",
    ),
    Reason.UNKNOWN_RECIPIENT: ("ไม่มีผู้รับข้อมูลรายนี้ในนโยบาย", "This recipient is not declared."),
    Reason.RECIPIENT_NOT_FOR_PURPOSE: (
        "ผู้รับข้อมูลรายนี้ไม่ได้รับข้อมูลเพื่อวัตถุประสงค์นี้",
        "This recipient does not receive data for this purpose.",
    ),
    Reason.NO_TRANSFER_MECHANISM: (
        "ไม่มีมาตรการรองรับการโอนข้อมูลไปต่างประเทศ",
        "No transfer mechanism for this country.",
    ),
    Reason.TRANSFER_MECHANISM_EXPIRED: (
        "มาตรการรองรับการโอนข้อมูลไปต่างประเทศหมดอายุแล้ว",
        "The transfer mechanism has expired.",
    ),
    Reason.TRANSFER_CONSENT_NOT_INFORMED: (
        "ประกาศไม่ได้แจ้งผู้รับและประเทศปลายทาง",
        "The notice does not name this recipient and country.",
    ),
    Reason.NO_PROCESSOR_AGREEMENT: (
        "ไม่มีสัญญาประมวลผลข้อมูลที่ลงนามแล้ว",
        "No signed processing agreement.",
    ),
    Reason.PROCESSOR_AGREEMENT_EXPIRED: (
        "สัญญาประมวลผลข้อมูลหมดอายุแล้ว",
        "The processing agreement has expired.",
    ),
    Reason.PURPOSE_NOT_IN_AGREEMENT: (
        "สัญญาประมวลผลข้อมูลไม่ครอบคลุมวัตถุประสงค์นี้",
        "The processing agreement does not cover this purpose.",
    ),
    Reason.OUTSIDE_CONTROLLER_INSTRUCTIONS: (
        "ผู้ประมวลผลข้อมูลใช้ข้อมูลได้เฉพาะตามคำสั่งของผู้ควบคุมข้อมูลที่ยังมีผลอยู่",
        "As a processor we may use data only on the controller's current instructions.",
    ),
}
