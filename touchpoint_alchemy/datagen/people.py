"""Users of one batch: ids, acquisition channel, device, city, PII, consent, signup time.

The signup *instant* is fixed later by the login event of the signup visit (see
:mod:`touchpoint_alchemy.datagen.journeys`); here we draw the local day and time of that visit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import vocab
from .util import Calendar, prefixed_ids, weighted_choice

ANON_MULTIPLIER = 0x9E3779B97F4A7C15
ANON_MASK = (1 << 40) - 1
#: anonymous-only visitors are numbered from here so their ids never meet users' ids
ANON_ONLY_BASE = 1 << 39


@dataclass
class People:
    """Per-user attributes of one batch (arrays of length ``n``)."""

    n: int
    offset: int
    user_id: pa.Array
    anon_id: np.ndarray  # object array of str
    channel: np.ndarray
    device: np.ndarray
    city: np.ndarray  # true city index (for time zone and language)
    city_hidden: np.ndarray  # city written as null
    tz_hours: np.ndarray
    is_cn: np.ndarray
    email: np.ndarray  # object array of str | None
    phone: np.ndarray  # object array of str | None
    consent: np.ndarray  # 0 true, 1 false, 2 null
    signup_local: np.ndarray  # local time of the signup visit, in days since the start
    variant: np.ndarray  # (n, 2): -1 not in the experiment, 0 control, 1 treatment


def anonymous_ids(numbers: np.ndarray, salt: int) -> np.ndarray:
    """Distinct ``a_`` ids: an odd multiplier makes the map a bijection modulo 2**40."""
    mixed = (numbers.astype(np.uint64) * np.uint64(ANON_MULTIPLIER) + np.uint64(salt)) & np.uint64(
        ANON_MASK
    )
    return np.array([f"a_{int(v):010x}" for v in mixed], dtype=object)


def signup_days(rng: np.random.Generator, size: int, days: int) -> np.ndarray:
    """Signup day offsets: front-loaded so that early cohorts have many months of history."""
    front = rng.beta(1.0, 1.8, size)
    flat = rng.random(size)
    x = np.where(rng.random(size) < 0.7, front, flat)
    return np.floor(x * (days - 4)).astype(np.int64)


def time_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    """Local time of day as a fraction of a day: few visits at night, a peak in the evening."""
    hour = weighted_choice(rng, vocab.HOUR_WEIGHTS, size)
    return (hour + rng.random(size)) / 24.0


def _email(rng: np.random.Generator, cn: bool, seen: set[str]) -> str:
    if cn or rng.random() < 0.15:
        given, family = vocab.CN_GIVEN, vocab.CN_FAMILY
    else:
        given, family = vocab.WEST_GIVEN, vocab.WEST_FAMILY
    g = given[int(rng.integers(len(given)))]
    f = family[int(rng.integers(len(family)))]
    pattern = int(rng.integers(4))
    local = (f"{g}.{f}", f"{g}{f}", f"{g}_{f}", f"{g[0]}{f}")[pattern]
    digits = int(rng.integers(2, 5))
    local += str(int(rng.integers(10 ** (digits - 1), 10**digits)))
    domain = (
        "example.com",
        "example.com",
        "example.org",
        "example.net",
        "example.cn" if cn else "example.com",
    )[int(rng.integers(5))]
    address = f"{local}@{domain}"
    while address in seen:  # keep e-mails unique: lengthen the number until it is
        local += str(int(rng.integers(10)))
        address = f"{local}@{domain}"
    seen.add(address)
    if rng.random() < 0.03:  # odd but valid: mixed case (the warehouse lower-cases)
        address = ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.capitalize()
    return address


def _digits(rng: np.random.Generator, k: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, k))


def _phone(rng: np.random.Generator, city: str, country: str) -> str:
    style = int(rng.integers(3))
    if country == "CN":
        prefix = ("138", "139", "150", "186", "135", "159", "188", "177")[int(rng.integers(8))]
        a, b = _digits(rng, 4), _digits(rng, 4)
        return (f"+86 {prefix}-{a}-{b}", f"+86{prefix}{a}{b}", f"{prefix} {a} {b}")[style]
    if country in ("US", "CA"):
        area, last = vocab.US_AREA_CODES.get(city, "415"), _digits(rng, 4)
        return (f"({area}) 555-{last}", f"+1 {area}-555-{last}", f"{area}.555.{last}")[style]
    if country == "GB":
        last = _digits(rng, 3)
        return (f"+44 20 7946 0{last}", f"020 7946 0{last}", f"+44 (0)20 7946 0{last}")[style]
    formats = {
        "DE": lambda: f"+49 30 {_digits(rng, 7)}",
        "FR": lambda: (
            f"+33 1 {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)}"
        ),
        "SG": lambda: f"+65 {_digits(rng, 4)} {_digits(rng, 4)}",
        "JP": lambda: f"+81 3-{_digits(rng, 4)}-{_digits(rng, 4)}",
        "AU": lambda: f"+61 2 {_digits(rng, 4)} {_digits(rng, 4)}",
        "BR": lambda: f"+55 11 9{_digits(rng, 4)}-{_digits(rng, 4)}",
        "IN": lambda: f"+91 98{_digits(rng, 3)} {_digits(rng, 5)}",
    }
    return formats[country]()


def make_people(
    rng: np.random.Generator, cal: Calendar, offset: int, n: int, salt: int, seen_emails: set[str]
) -> People:
    """Draw ``n`` users numbered from ``offset + 1``."""
    numbers = np.arange(offset, offset + n, dtype=np.int64)
    channel = weighted_choice(rng, vocab.CHANNEL_SHARES, n)
    device = weighted_choice(rng, vocab.DEVICE_SHARES, n)
    city = weighted_choice(rng, [c[3] for c in vocab.CITIES], n)
    city_hidden = rng.random(n) < 0.03
    tz_hours = np.array([c[2] for c in vocab.CITIES])[city]
    is_cn = np.array([c[1] == "CN" for c in vocab.CITIES])[city]

    email = np.full(n, None, dtype=object)
    phone = np.full(n, None, dtype=object)
    has_email = rng.random(n) >= 0.10
    has_phone = rng.random(n) >= 0.30
    for i in range(n):  # per-user string formatting: cheap next to the touchpoints
        name, country = vocab.CITIES[city[i]][0], vocab.CITIES[city[i]][1]
        if has_email[i]:
            email[i] = _email(rng, bool(is_cn[i]), seen_emails)
        if has_phone[i]:
            phone[i] = _phone(rng, name, country)

    u = rng.random(n)
    consent = np.where(u < 0.88, 0, np.where(u < 0.98, 1, 2))

    signup_local = signup_days(rng, n, cal.days) + time_of_day(rng, n)
    # keep the signup instant inside the period whatever the time zone
    utc_days = signup_local - tz_hours / 24.0
    signup_local = np.where(utc_days < 1 / 24, signup_local + 1, signup_local)

    variant = np.full((n, 2), -1, dtype=np.int64)
    variant[:, 0] = rng.random(n) < 0.5
    month = cal.month_of(np.floor(signup_local).astype(np.int64))
    in_second = (month >= 2) & (month <= 7)  # free_shipping_banner ran from March to August
    variant[:, 1] = np.where(in_second, rng.random(n) < 0.5, -1)

    return People(
        n=n,
        offset=offset,
        user_id=prefixed_ids("u_", numbers + 1, 6),
        anon_id=anonymous_ids(numbers, salt),
        channel=channel,
        device=device,
        city=city,
        city_hidden=city_hidden,
        tz_hours=tz_hours,
        is_cn=is_cn,
        email=email,
        phone=phone,
        consent=consent,
        signup_local=signup_local,
        variant=variant,
    )


def users_table(people: People, signup_text: pa.Array) -> pa.Table:
    """The ``users`` rows of a batch, given the rendered signup timestamps."""
    city_names = np.array([c[0] for c in vocab.CITIES], dtype=object)[people.city]
    city_names[people.city_hidden] = None
    device = np.array(vocab.DEVICES, dtype=object)[people.device]
    device[np.arange(people.n) % 97 == 13] = None  # a few unknown devices
    consent = np.array(["true", "false", None], dtype=object)[people.consent]
    return pa.table(
        {
            "user_id": people.user_id,
            "signed_up_at": signup_text,
            "acquisition_channel": pa.array(
                np.array(vocab.CHANNELS, dtype=object)[people.channel], pa.string()
            ),
            "device_type": pa.array(device, pa.string()),
            "city": pa.array(city_names, pa.string()),
            "email": pa.array(people.email, pa.string()),
            "phone": pa.array(people.phone, pa.string()),
            "consent_analytics": pa.array(consent, pa.string()),
        }
    )
