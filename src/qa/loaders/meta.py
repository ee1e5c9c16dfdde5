"""Metadata printed in the text of a 公文 or a 政务公开 page: 发文字号, 索引号, 发文机关 and the date."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.numerals import parse_digit_string

DOC_NO = re.compile(r"[\u4e00-\u9fff]{2,16}[〔\[［(（]\s*((?:19|20)\d{2})\s*[〕\]］)）]\s*\d{1,5}\s*号")
_CN_DIGITS = "〇○零一二三四五六七八九"
DATE = re.compile(rf"((?:19|20)\d{{2}}|[{_CN_DIGITS}]{{4}})\s*[年\-/.]\s*"
                  rf"(\d{{1,2}}|[{_CN_DIGITS}十]{{1,3}})\s*[月\-/.]\s*(\d{{1,2}}|[{_CN_DIGITS}十]{{1,3}})\s*日?")
_ISSUER = re.compile(r"(?:人民政府|政府办公室|委员会|办公室|局|委|厅|院|中心|区委|部)$")


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + (parse_digit_string(text[1:]) or 0)
    if text.endswith("十"):
        return 10 * (parse_digit_string(text[:-1]) or 0)
    if "十" in text:
        tens, ones = text.split("十", 1)
        return 10 * (parse_digit_string(tens) or 0) + (parse_digit_string(ones) or 0)
    return parse_digit_string(text)


def iso_date(text: str) -> str | None:
    """The first date in ``text`` as ``YYYY-MM-DD`` (2024-03-18, 2024年3月18日, 二〇二四年三月十八日)."""
    m = DATE.search(text)
    if not m:
        return None
    year, month, day = _number(m.group(1)), _number(m.group(2)), _number(m.group(3))
    if not year or not month or not day or not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def official_meta(paragraphs: Sequence[str]) -> dict[str, str]:
    """发文字号 near the top; the signing date (落款) and issuer at the end of a 公文."""
    meta: dict[str, str] = {}
    for para in paragraphs[:12]:
        m = DOC_NO.search(para)
        if m and len(para) <= 40:
            meta["doc_no"] = re.sub(r"\s+", "", m.group())
            break
    tail = [p.strip() for p in paragraphs[-6:] if p.strip()]
    for i in range(len(tail) - 1, -1, -1):
        line = tail[i]
        if len(line) <= 20 and (date := iso_date(line)) and DATE.fullmatch(line.replace(" ", "")):
            meta["date"] = date
            meta["date_note"] = f"落款日期 {line}"
            if i and len(tail[i - 1]) <= 30 and _ISSUER.search(tail[i - 1]):
                meta["source"] = tail[i - 1]
            break
    return meta
