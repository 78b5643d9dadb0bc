"""The demo catalogue of Baan Suay Living and the customer segments that shop in it.

Ten categories; each crosses nine products with five variants into 45 items, so the catalogue holds
450 SKUs (``KIT-0001`` ... ``HLT-0045``) with Thai and English names and shelf prices in baht ending
in 9 or 90, as Thai shops price them. The catalogue is fixed: every seed sells the same items.

Segments say which categories a kind of customer prefers, so that histories, and therefore
recommendations and offers, differ visibly between customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple


class Base(NamedTuple):
    """A product line: Thai name, English name, typical price in baht."""

    th: str
    en: str
    price: int


class Variant(NamedTuple):
    """A variant: Thai suffix, English pattern around ``{}`` (the base), price factor."""

    th: str
    en: str
    factor: float


@dataclass(frozen=True, slots=True)
class Category:
    """A product category with the parts its items are built from."""

    id: str
    prefix: str
    th: str
    en: str
    bases: tuple[Base, ...]
    variants: tuple[Variant, ...]


class Product(NamedTuple):
    """One catalogue item."""

    sku: str
    name_th: str
    name_en: str
    category: str
    price: Decimal
    base: Base


def _category(
    id_: str, prefix: str, th: str, en: str, bases: list[tuple[str, str, int]],
    variants: list[tuple[str, str, float]],
) -> Category:  # fmt: skip
    return Category(
        id_, prefix, th, en, tuple(Base(*b) for b in bases), tuple(Variant(*v) for v in variants)
    )


CATEGORIES: tuple[Category, ...] = (
    _category("kitchen", "KIT", "เครื่องครัว", "Kitchen", [
        ("กระทะเคลือบกันติด", "non-stick frying pan", 590), ("หม้อต้ม", "stock pot", 790),
        ("เขียงไม้", "wooden chopping board", 290), ("ชุดมีด", "knife set", 1290),
        ("ครกหิน", "stone mortar and pestle", 450), ("หม้อหุงข้าว", "rice cooker", 1490),
        ("กล่องถนอมอาหาร", "food container set", 350), ("กาต้มน้ำ", "kettle", 690),
        ("ชุดจานชาม", "dinnerware set", 990),
    ], [
        ("รุ่นคลาสสิก", "Classic {}", 1.0), ("รุ่นพรีเมียม", "Premium {}", 1.6),
        ("ไซซ์เล็ก", "Small {}", 0.75), ("ไซซ์ใหญ่", "Large {}", 1.3), ("สีมินต์", "Mint {}", 1.05),
    ]),
    _category("home_decor", "DEC", "ของแต่งบ้าน", "Home decor", [
        ("แจกันเซรามิก", "ceramic vase", 390), ("กรอบรูป", "photo frame", 250),
        ("โคมไฟตั้งโต๊ะ", "table lamp", 990), ("หมอนอิง", "cushion", 350),
        ("นาฬิกาแขวน", "wall clock", 590), ("เทียนหอม", "scented candle", 290),
        ("กระจกเงา", "wall mirror", 1290), ("พรมปูพื้น", "rug", 1490),
        ("ต้นไม้ประดิษฐ์", "artificial plant", 450),
    ], [
        ("สไตล์มินิมอล", "Minimalist {}", 1.0), ("ลายไทย", "Thai-pattern {}", 1.2),
        ("สไตล์นอร์ดิก", "Nordic {}", 1.1), ("สีทอง", "Gold {}", 1.3), ("ขนาดมินิ", "Mini {}", 0.7),
    ]),
    _category("furniture", "FUR", "เฟอร์นิเจอร์", "Furniture", [
        ("โซฟา 2 ที่นั่ง", "2-seat sofa", 8900), ("โต๊ะกินข้าว", "dining table", 5900),
        ("เก้าอี้", "dining chair", 1290), ("ตู้เสื้อผ้า", "wardrobe", 6900),
        ("ชั้นวางหนังสือ", "bookshelf", 2490), ("โต๊ะทำงาน", "work desk", 3490),
        ("เตียงนอน 5 ฟุต", "5-ft bed frame", 7900), ("ตู้รองเท้า", "shoe cabinet", 1990),
        ("โต๊ะกลาง", "coffee table", 1790),
    ], [
        ("ไม้สัก", "Teak {}", 1.5), ("ไม้โอ๊ค", "Oak {}", 1.2), ("สีขาว", "White {}", 1.0),
        ("สีวอลนัท", "Walnut {}", 1.1), ("รุ่นประหยัด", "Essential {}", 0.7),
    ]),
    _category("bedding_bath", "BED", "เครื่องนอนและห้องน้ำ", "Bedding and bath", [
        ("ชุดผ้าปูที่นอน", "bed sheet set", 890), ("ปลอกผ้านวม", "duvet cover", 1190),
        ("หมอนหนุน", "pillow", 390), ("ผ้าห่ม", "blanket", 690), ("ผ้าเช็ดตัว", "bath towel", 290),
        ("พรมเช็ดเท้า", "bath mat", 190), ("ม่านห้องน้ำ", "shower curtain", 350),
        ("ท็อปเปอร์", "mattress topper", 2490), ("ชุดคลุมอาบน้ำ", "bathrobe", 790),
    ], [
        ("ผ้าฝ้าย", "Cotton {}", 1.0), ("ไมโครไฟเบอร์", "Microfibre {}", 0.8),
        ("ใยไผ่", "Bamboo {}", 1.3), ("สีเทา", "Grey {}", 1.0), ("ลายทาง", "Striped {}", 1.05),
    ]),
    _category("fashion", "FSH", "แฟชั่น", "Fashion", [
        ("เสื้อยืด", "T-shirt", 290), ("เสื้อเชิ้ต", "shirt", 590), ("กางเกงยีนส์", "jeans", 990),
        ("กระโปรง", "skirt", 490), ("ชุดเดรส", "dress", 890), ("รองเท้าผ้าใบ", "sneakers", 1490),
        ("กระเป๋าผ้า", "tote bag", 350), ("หมวกแก๊ป", "cap", 250), ("กระเป๋าเป้", "backpack", 1190),
    ], [
        ("สีดำ", "Black {}", 1.0), ("สีขาว", "White {}", 1.0), ("ผ้าลินิน", "Linen {}", 1.3),
        ("ลายผ้าไทย", "Thai-textile {}", 1.4), ("ทรงโอเวอร์ไซซ์", "Oversized {}", 1.1),
    ]),
    _category("gadgets", "GAD", "แกดเจ็ต", "Gadgets", [
        ("หูฟังไร้สาย", "wireless earbuds", 1290), ("ลำโพงบลูทูธ", "Bluetooth speaker", 990),
        ("พาวเวอร์แบงก์", "power bank", 590), ("สมาร์ทวอทช์", "smartwatch", 2990),
        ("สายชาร์จ USB-C", "USB-C cable", 190), ("เมาส์ไร้สาย", "wireless mouse", 390),
        ("คีย์บอร์ด", "keyboard", 890), ("ปลั๊กไฟอัจฉริยะ", "smart plug", 450),
        ("ขาตั้งมือถือ", "phone stand", 190),
    ], [
        ("รุ่นมาตรฐาน", "Standard {}", 1.0), ("รุ่นโปร", "Pro {}", 1.8), ("สีดำ", "Black {}", 1.0),
        ("สีชมพู", "Pink {}", 1.0), ("รุ่นมินิ", "Mini {}", 0.75),
    ]),
    _category("kids", "KID", "ของใช้เด็กและของเล่น", "Kids and toys", [
        ("ตัวต่อ", "building blocks", 590), ("ตุ๊กตา", "plush toy", 350),
        ("หนังสือนิทาน", "picture book", 150), ("ชุดระบายสี", "colouring set", 190),
        ("ขวดนม", "baby bottle", 290), ("ผ้าอ้อม", "diapers", 459), ("รถของเล่น", "toy car", 250),
        ("กระเป๋านักเรียน", "school bag", 690), ("จักรยานทรงตัว", "balance bike", 1990),
    ], [
        ("ลายช้าง", "Elephant {}", 1.0), ("ลายไดโนเสาร์", "Dinosaur {}", 1.0),
        ("สีพาสเทล", "Pastel {}", 1.0), ("แพ็กครอบครัว", "{} family pack", 1.6),
        ("สำหรับเด็กเล็ก", "{} for toddlers", 0.9),
    ]),
    _category("groceries", "GRO", "ของชำ", "Groceries", [
        ("ข้าวหอมมะลิ 5 กก.", "jasmine rice 5 kg", 219), ("น้ำปลา", "fish sauce", 45),
        ("กาแฟคั่วบด", "ground coffee", 259), ("ชาเขียว", "green tea", 129),
        ("บะหมี่กึ่งสำเร็จรูป", "instant noodles", 69), ("น้ำพริกเผา", "chilli paste", 79),
        ("น้ำมันรำข้าว", "rice bran oil", 89), ("ขนมข้าวเกรียบ", "rice crackers", 39),
        ("นมยูเอชที", "UHT milk", 79),
    ], [
        ("สูตรดั้งเดิม", "Original {}", 1.0), ("ออร์แกนิก", "Organic {}", 1.4),
        ("แพ็กคู่", "{} twin pack", 1.9), ("ขนาดประหยัด", "Value-size {}", 1.6),
        ("จากเชียงใหม่", "{} from Chiang Mai", 1.2),
    ]),
    _category("beauty", "BEA", "ความงาม", "Beauty", [
        ("ครีมกันแดด", "sunscreen", 390), ("เซรั่มบำรุงผิว", "face serum", 890),
        ("โฟมล้างหน้า", "facial foam", 190), ("ลิปสติก", "lipstick", 350), ("แชมพู", "shampoo", 159),
        ("โลชั่นบำรุงผิว", "body lotion", 229), ("มาสก์หน้า", "sheet mask", 59),
        ("สบู่ก้อน", "bar soap", 79), ("ครีมทามือ", "hand cream", 149),
    ], [
        ("สูตรอ่อนโยน", "Gentle {}", 1.0), ("กลิ่นมะลิ", "Jasmine {}", 1.05),
        ("กลิ่นตะไคร้", "Lemongrass {}", 1.05), ("ออร์แกนิก", "Organic {}", 1.4),
        ("ขนาดพกพา", "Travel-size {}", 0.6),
    ]),
    _category("health_food", "HLT", "อาหารเพื่อสุขภาพ", "Health food", [
        ("กราโนล่า", "granola", 189), ("ข้าวกล้อง 1 กก.", "brown rice 1 kg", 95),
        ("อัลมอนด์อบ", "roasted almonds", 259), ("ชาสมุนไพร", "herbal tea", 149),
        ("โปรตีนจากพืช", "plant protein powder", 890), ("น้ำผึ้งดอกลำไย", "longan honey", 229),
        ("ข้าวโอ๊ต", "rolled oats", 129), ("ผลไม้อบแห้ง", "dried fruit", 119),
        ("เมล็ดเจีย", "chia seeds", 159),
    ], [
        ("สูตรดั้งเดิม", "Original {}", 1.0), ("ออร์แกนิก", "Organic {}", 1.3),
        ("ขนาดครอบครัว", "Family-size {}", 1.8), ("จากเชียงราย", "{} from Chiang Rai", 1.15),
        ("แพ็กทดลอง", "Trial-pack {}", 0.5),
    ]),
)  # fmt: skip

CATEGORY_IDS: tuple[str, ...] = tuple(c.id for c in CATEGORIES)

# Category weights per segment (a customer's own weights are drawn around these).
SEGMENTS: dict[str, dict[str, float]] = {
    "young_urban": {"fashion": 0.34, "gadgets": 0.34, "beauty": 0.1, "home_decor": 0.08},
    "family": {"kitchen": 0.24, "kids": 0.3, "groceries": 0.3, "bedding_bath": 0.08},
    "wellness": {"beauty": 0.38, "health_food": 0.38, "groceries": 0.08, "bedding_bath": 0.06},
    "home_lover": {"furniture": 0.32, "home_decor": 0.34, "bedding_bath": 0.16, "kitchen": 0.08},
}
SEGMENT_SHARES: dict[str, float] = {
    "young_urban": 0.3,
    "family": 0.3,
    "wellness": 0.2,
    "home_lover": 0.2,
}
# The rest of each segment's weight is spread evenly over all categories.
BACKGROUND = 0.1


def shelf_price(value: float) -> Decimal:
    """Round a price the way Thai shops mark it: 39, 459, 1,290 baht."""
    if value < 1000:
        return Decimal(max(19, round(value / 10) * 10 - 1))
    return Decimal(round(value / 100) * 100 - 10)


def catalogue() -> list[Product]:
    """Return the 450 demo products, category by category, in SKU order."""
    products: list[Product] = []
    for category in CATEGORIES:
        number = 0
        for base in category.bases:
            for variant in category.variants:
                number += 1
                products.append(
                    Product(
                        sku=f"{category.prefix}-{number:04d}",
                        name_th=f"{base.th} {variant.th}",
                        name_en=_english(variant.en.format(base.en)),
                        category=category.id,
                        price=shelf_price(base.price * variant.factor),
                        base=base,
                    )
                )
    return products


def _english(name: str) -> str:
    return name[0].upper() + name[1:]
