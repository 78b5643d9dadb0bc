"""The demo brand's offers: a generic default and targeted offers with message variants.

The same product, sold by a different point: "looks sharp" for young customers, "great value"
for families, a thank-you for Gold members, "we miss you" for customers drifting away.
"""

from __future__ import annotations

from typing import Any

DEMO_OFFERS: list[dict[str, Any]] = [
    {
        "id": "welcome5",
        "kind": "coupon",
        "title": {"th": "ส่วนลด 5% ทุกชิ้น", "en": "5% off everything"},
        "is_generic": True,
        "variants": {
            "default": {
                "th": "ช้อปวันนี้ รับส่วนลด 5% ทุกชิ้นในร้าน",
                "en": "Shop today and get 5% off everything in store",
            }
        },
    },
    {
        "id": "family_value",
        "kind": "discount",
        "title": {"th": "ชุดครัวและของใช้เด็ก ลด 15%", "en": "15% off kitchen and kids"},
        "eligibility": {"categories_any": ["kitchen", "kids", "groceries"]},
        "variants": {
            "default": {
                "th": "คุ้มค่าสำหรับทั้งบ้าน ลด 15% ของใช้ในครัวและของเด็ก",
                "en": "Great value for the whole family: 15% off kitchen and kids",
            },
            "champions": {
                "th": "ขอบคุณที่เลือกเรามาตลอด ลด 15% ของใช้ในบ้านให้ครอบครัวคุณ",
                "en": "Thank you for always choosing us: 15% off for your family",
            },
        },
    },
    {
        "id": "style_drop",
        "kind": "discount",
        "title": {"th": "แฟชั่นและแกดเจ็ต ลด 20%", "en": "20% off fashion and gadgets"},
        "eligibility": {"categories_any": ["fashion", "gadgets", "beauty"]},
        "variants": {
            "default": {
                "th": "ของใหม่มาแล้ว ลด 20% แฟชั่นและแกดเจ็ต",
                "en": "New in: 20% off fashion and gadgets",
            },
            "20_29": {
                "th": "ดูดีทุกวัน ลด 20% คอลเลกชันใหม่",
                "en": "Looks sharp every day: 20% off the new collection",
            },
            "under_20": {
                "th": "สไตล์ที่ใช่ ราคาที่ชอบ ลด 20%",
                "en": "Your style, your price: 20% off",
            },
        },
    },
    {
        "id": "vip_thanks",
        "kind": "coupon",
        "title": {"th": "ของขวัญสำหรับสมาชิกคนพิเศษ", "en": "A gift for our VIP members"},
        "eligibility": {"tiers": ["gold", "platinum"]},
        "variants": {
            "default": {
                "th": "รับบัตรกำนัล 500 บาท เมื่อช้อปครบ 3,000 บาท",
                "en": "A 500 baht voucher when you spend 3,000 baht",
            },
            "platinum": {
                "th": "สมาชิกแพลทินัม รับบัตรกำนัล 1,000 บาท และส่งฟรีทุกออเดอร์",
                "en": "Platinum members: a 1,000 baht voucher and free delivery on every order",
            },
        },
    },
    {
        "id": "we_miss_you",
        "kind": "coupon",
        "title": {"th": "เราคิดถึงคุณ ลด 15%", "en": "We miss you: 15% off"},
        "eligibility": {"segments": ["at_risk", "cannot_lose", "hibernating", "about_to_sleep"]},
        "variants": {
            "default": {
                "th": "ไม่ได้เจอกันนาน กลับมาช้อปรับส่วนลด 15%",
                "en": "It has been a while: come back for 15% off",
            },
        },
    },
]
