"""Chinese numerals: ``两千`` → 2000, ``三分之一`` → 1/3, ``二○三五`` → 2035.

Parsing is strict on purpose. A run of numeral characters that is not a well-formed number, such as the
plan labels ``十四五`` or ``十三五``, parses to ``None`` so that the figure extractor can leave it alone.
"""

from __future__ import annotations

DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
          "八": 8, "九": 9}
SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
NUMERAL_CHARS = "".join(DIGITS) + "".join(SMALL_UNITS) + "".join(BIG_UNITS)
# Digits as spelled one by one, in years (二○三五) and after 点 in a decimal (十三点二): 两 only counts.
SPELLED_DIGITS = "".join(ch for ch in DIGITS if ch != "两")
# The first ten ordinals as written in text (第一 … 第十, 一是 … 十是): ORDINALS[n - 1] is the n-th.
ORDINALS = "一二三四五六七八九十"


def parse_chinese(numeral: str) -> float | None:
    """Value of a well-formed Chinese numeral (``十余`` is not one; ``十`` is; ``十三点二`` is 13.2), else ``None``."""
    whole, mark, fraction = numeral.partition("点")
    if mark:
        value = parse_chinese(whole)
        if value is None or not fraction or any(ch not in SPELLED_DIGITS for ch in fraction):
            return None
        return value + float("0." + "".join(str(DIGITS[ch]) for ch in fraction))
    if not numeral or any(ch not in NUMERAL_CHARS for ch in numeral):
        return None
    total = 0
    section = 0  # the part below the current 万/亿
    digit: int | None = None
    last_small = 10_000  # small units must fall within a section: 三千五百, not 三百五千
    last_big = 0
    for ch in numeral:
        if ch in "零〇○" and digit is None and (section or total):
            continue  # a placeholder zero: 一百零五
        if ch in DIGITS:
            if digit is not None:  # two digits in a row: 十四五, 二三
                return None
            digit = DIGITS[ch]
        elif ch in SMALL_UNITS:
            unit = SMALL_UNITS[ch]
            if unit >= last_small:
                return None
            section += (1 if digit is None else digit) * unit
            digit, last_small = None, unit
        else:
            big = BIG_UNITS[ch]
            section += digit or 0
            if section == 0 and total == 0:
                section = 1  # a bare 万 or 亿
            if big == last_big or (big < last_big and section == 0):
                return None
            # 一万亿: the larger unit scales everything before it; 一亿五千万: the smaller one only its part.
            total = (total + section) * big if big > last_big else total + section * big
            section, digit, last_small, last_big = 0, None, 10_000, big
    return float(total + section + (digit or 0))


def parse_digit_string(numeral: str) -> int | None:
    """Value of a numeral written digit by digit (``二○三五`` → 2035), else ``None``."""
    if not numeral or any(ch not in SPELLED_DIGITS for ch in numeral):
        return None
    return int("".join(str(DIGITS[ch]) for ch in numeral))


def parse_number(text: str) -> float | None:
    """Value of an Arabic (``1,500.5``) or Chinese (``两千``) number, else ``None``."""
    plain = text.replace(",", "")
    try:
        return float(plain)
    except ValueError:
        return parse_chinese(text)


def parse_fraction(denominator: str, numerator: str) -> float | None:
    """Value of ``<denominator>分之<numerator>`` (Chinese names the denominator first), else ``None``."""
    den, num = parse_number(denominator), parse_number(numerator)
    if not den or num is None:
        return None
    return num / den


def split_magnitude(numeral: str) -> tuple[str, str]:
    """Split a trailing 万/亿 off its coefficient: ``两千亿`` → (``两千``, ``亿``); ``万`` stays whole."""
    if len(numeral) > 1 and numeral[-1] in BIG_UNITS and parse_chinese(numeral[:-1]) is not None:
        return numeral[:-1], numeral[-1]
    return numeral, ""
