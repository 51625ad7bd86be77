"""Fixed vocabularies of the demo world: channels, campaigns, cities, events, products, texts.

Everything here is plain data. Changing a list changes the generated files, so keep the order
of entries stable (indices into these tuples are drawn by the random generator).
"""

from __future__ import annotations

from typing import Final

# --- acquisition / marketing channels ---------------------------------------------------------

CHANNELS: Final = ("organic", "paid_search", "social", "email", "referral", "affiliate")
#: share of users acquired through each channel (unequal on purpose)
CHANNEL_SHARES: Final = (0.30, 0.22, 0.18, 0.10, 0.12, 0.08)
#: base probability that a user acquired through the channel ever buys
CHANNEL_BUY_RATE: Final = (0.33, 0.31, 0.24, 0.39, 0.42, 0.28)
#: channels that have marketing spend
PAID_CHANNELS: Final = ("paid_search", "social", "email", "affiliate")
#: cost per click, click-through-rate range (impressions = clicks / ctr)
PAID_ECONOMICS: Final = {
    "paid_search": (1.15, 0.025, 0.050),
    "social": (0.70, 0.005, 0.015),
    "email": (0.09, 0.015, 0.040),
    "affiliate": (0.45, 0.005, 0.012),
}

#: campaigns per channel: (name, weight, active from (month, day), active to (month, day)).
#: A window of None means always on. Organic traffic has no campaign; referral has one or none.
CAMPAIGNS: Final[
    dict[str, tuple[tuple[str, float, tuple[int, int] | None, tuple[int, int] | None], ...]]
] = {
    "organic": (),
    "paid_search": (
        ("brand_search", 1.0, None, None),
        ("generic_search", 0.8, None, None),
        ("shopping_ads", 0.6, None, None),
        ("competitor_terms", 0.3, None, None),
    ),
    "social": (
        ("always_on_social", 1.0, None, None),
        ("spring_sale", 2.0, (3, 1), (4, 15)),
        ("summer_lookbook", 1.2, (6, 1), (8, 31)),
        ("influencer_collab", 0.8, (9, 1), (12, 31)),
        ("singles_day", 2.5, (10, 25), (11, 11)),
    ),
    "email": (
        ("weekly_newsletter", 1.0, None, None),
        ("cart_reminder", 0.6, None, None),
        ("spring_sale", 1.5, (3, 1), (4, 15)),
        ("black_friday", 3.0, (11, 20), (12, 1)),
    ),
    "referral": (("refer_a_friend", 1.0, None, None),),
    "affiliate": (
        ("coupon_sites", 1.0, None, None),
        ("cashback_partner", 0.6, None, None),
        ("holiday_gift_guide", 1.5, (12, 1), (12, 24)),
    ),
}

DEVICES: Final = ("mobile", "desktop", "tablet")
DEVICE_SHARES: Final = (0.60, 0.33, 0.07)
DEVICE_BUY_FACTOR: Final = (0.95, 1.10, 1.00)

# --- cities -------------------------------------------------------------------------------------

#: (city, ISO country, UTC offset in hours, share of users)
CITIES: Final = (
    ("Shanghai", "CN", 8.0, 0.10),
    ("Beijing", "CN", 8.0, 0.09),
    ("Shenzhen", "CN", 8.0, 0.07),
    ("Guangzhou", "CN", 8.0, 0.05),
    ("Hangzhou", "CN", 8.0, 0.04),
    ("Chengdu", "CN", 8.0, 0.03),
    ("New York", "US", -5.0, 0.08),
    ("San Francisco", "US", -8.0, 0.06),
    ("Chicago", "US", -6.0, 0.04),
    ("Austin", "US", -6.0, 0.03),
    ("Seattle", "US", -8.0, 0.03),
    ("London", "GB", 0.0, 0.07),
    ("Berlin", "DE", 1.0, 0.04),
    ("Paris", "FR", 1.0, 0.03),
    ("Singapore", "SG", 8.0, 0.04),
    ("Tokyo", "JP", 9.0, 0.04),
    ("Sydney", "AU", 10.0, 0.03),
    ("Toronto", "CA", -5.0, 0.03),
    ("São Paulo", "BR", -3.0, 0.03),
    ("Mumbai", "IN", 5.5, 0.03),
)
US_AREA_CODES: Final = {
    "New York": "212",
    "San Francisco": "415",
    "Chicago": "312",
    "Austin": "512",
    "Seattle": "206",
    "Toronto": "416",
}

#: relative activity per local hour of day: low at night, peak in the evening
HOUR_WEIGHTS: Final = (
    1.2,
    0.6,
    0.35,
    0.25,
    0.25,
    0.35,
    0.7,
    1.3,
    2.0,
    2.4,
    2.6,
    2.8,
    3.2,
    3.0,
    2.8,
    2.8,
    3.0,
    3.4,
    4.2,
    5.2,
    5.8,
    5.6,
    4.2,
    2.4,
)

# --- people ---------------------------------------------------------------------------------------

CN_GIVEN: Final = (
    "mei",
    "wei",
    "jing",
    "lei",
    "xin",
    "yan",
    "hao",
    "li",
    "ying",
    "jun",
    "fang",
    "tao",
    "min",
    "qiang",
    "xiu",
    "bo",
)
CN_FAMILY: Final = (
    "chen",
    "wang",
    "li",
    "zhang",
    "liu",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
    "xu",
    "sun",
    "ma",
    "zhu",
    "hu",
    "guo",
)
WEST_GIVEN: Final = (
    "anna",
    "james",
    "maria",
    "david",
    "sophie",
    "lucas",
    "emma",
    "noah",
    "olivia",
    "liam",
    "ines",
    "mateo",
    "hannah",
    "oliver",
    "chloe",
    "arjun",
    "yuki",
    "priya",
    "ben",
    "sara",
)
WEST_FAMILY: Final = (
    "smith",
    "johnson",
    "garcia",
    "miller",
    "brown",
    "martin",
    "muller",
    "silva",
    "tanaka",
    "patel",
    "lee",
    "walker",
    "dubois",
    "schmidt",
    "kim",
    "nguyen",
    "rossi",
    "taylor",
)

# --- events ---------------------------------------------------------------------------------------

EVENTS: Final = (
    "page_view",  # 0
    "search",  # 1
    "product_view",  # 2
    "add_to_cart",  # 3
    "remove_from_cart",  # 4
    "view_delivery_info",  # 5
    "checkout_start",  # 6
    "apply_coupon",  # 7
    "payment_submit",  # 8
    "payment_success",  # 9
    "support_chat",  # 10
    "login",  # 11
    "share",  # 12
    "view_reviews",  # 13
    "logout",  # 14
)
EV = {name: code for code, name in enumerate(EVENTS)}
#: the purchase funnel, step 1..5
FUNNEL: Final = (
    "product_view",
    "add_to_cart",
    "checkout_start",
    "payment_submit",
    "payment_success",
)
#: share of visits at funnel step k that go on to step k+1
FUNNEL_CONTINUE: Final = (0.35, 0.55, 0.70, 0.85)

#: non-funnel events sprinkled after each funnel step (0 = before the first step)
FILLERS: Final[dict[int, tuple[tuple[str, float], ...]]] = {
    0: (("page_view", 0.55), ("search", 0.45)),
    1: (
        ("page_view", 0.35),
        ("search", 0.25),
        ("view_reviews", 0.25),
        ("share", 0.10),
        ("support_chat", 0.05),
    ),
    2: (
        ("page_view", 0.40),
        ("remove_from_cart", 0.20),
        ("search", 0.15),
        ("view_reviews", 0.15),
        ("support_chat", 0.05),
        ("share", 0.05),
    ),
    3: (("apply_coupon", 0.45), ("page_view", 0.30), ("support_chat", 0.25)),
    4: (("support_chat", 0.50), ("page_view", 0.50)),
    5: (("page_view", 0.60), ("share", 0.25), ("logout", 0.15)),
}
#: mean number of filler events after each funnel step
FILLER_RATE: Final = (0.7, 0.6, 0.4, 0.3, 0.1, 0.4)

STATIC_PAGES: Final = ("/", "/deals", "/account", "/help/shipping", "/wishlist", "/new-arrivals")
SEARCH_QUERIES: Final = (
    "wireless earbuds",
    "yoga mat",
    "kids books",
    "coffee grinder",
    "face serum",
    "lego",
    "phone case",
    "desk lamp",
    "running shoes",
    "蓝牙耳机",
    "保温杯",
    "口红",
    "儿童玩具",
    "air fryer",
    "notebook",
    "backpack",
    "sunscreen",
    "board game",
)
PAYMENT_METHODS: Final = ("card", "paypal", "alipay", "wechat_pay", "apple_pay")
LOGIN_METHODS: Final = ("password", "google", "wechat", "apple")
SHARE_NETWORKS: Final = ("wechat", "weibo", "whatsapp", "facebook", "x", "copy_link")
COUPON_CODES: Final = ("SPRING10", "WELCOME5", "FREESHIP", "VIP15", "SINGLES11")

# --- products -------------------------------------------------------------------------------------

#: category, share of catalogue, median price USD, log-normal sigma
CATEGORIES: Final = (
    ("electronics", 0.18, 79.0, 0.7),
    ("books", 0.18, 14.0, 0.4),
    ("home", 0.18, 32.0, 0.6),
    ("beauty", 0.14, 22.0, 0.5),
    ("toys", 0.12, 25.0, 0.5),
    ("fashion", 0.12, 38.0, 0.5),
    ("sports", 0.08, 45.0, 0.6),
)
N_PRODUCTS: Final = 400
#: products per product line (products of one category bought together; the last of a category
#: may be shorter)
LINE_SIZE: Final = 8
CNY_PER_USD: Final = 7.2

# --- NPS comments ---------------------------------------------------------------------------------

NPS_THEMES: Final = ("delivery", "price", "quality", "service")
#: comments[(language, theme, positive)]
NPS_COMMENTS: Final[dict[tuple[str, str, bool], tuple[str, ...]]] = {
    ("en", "delivery", True): (
        "Fast delivery, arrived a day early",
        "Delivery was quick and tracking was accurate",
    ),
    ("en", "delivery", False): (
        "Delivery was slow",
        "No clear delivery date at checkout, so I almost gave up",
        'The "express" shipping was not express at all',
        "Shipping took almost two weeks",
    ),
    ("en", "price", True): ("Good value for money", "Prices are fair, and the coupons help"),
    ("en", "price", False): ("Too expensive compared to other shops", "Shipping fees are too high"),
    ("en", "quality", True): (
        "Great quality, exactly as described",
        "The product quality is excellent",
    ),
    ("en", "quality", False): ("Item broke after a week", "Quality was worse than the photos"),
    ("en", "service", True): (
        "Support was very patient",
        "Customer service solved my issue in minutes",
    ),
    ("en", "service", False): ("Support never replied", "Refund took forever"),
    ("zh", "delivery", True): ("物流很快，第二天就到了", "送货很准时"),
    ("zh", "delivery", False): ("配送太慢了", "不知道什么时候能送到", "运费太贵，送货时间也不清楚"),
    ("zh", "price", True): ("价格实惠", "优惠券很好用"),
    ("zh", "price", False): ("价格太贵了", "比别家贵"),
    ("zh", "quality", True): ("质量很好", "包装很仔细，质量不错"),
    ("zh", "quality", False): ("质量一般", "用了一周就坏了"),
    ("zh", "service", True): ("客服很耐心", "售后服务很好"),
    ("zh", "service", False): ("客服回复太慢", "退款太麻烦"),
}

EXPERIMENTS: Final = ("checkout_button_color", "free_shipping_banner")
