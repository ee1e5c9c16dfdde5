"""The slot a question asks to be filled (a person, a place, an organisation, the names of several things, a count
by a measure word), and whether a quoted clause fills it.

新院区地址在哪里？ is not answered by a sentence that names no place; 是哪位居民写的？ not by one that names no
person; 那九个主题花园分别叫什么名字？ not by one that only counts them. A filler is read off the clause by
grammar, never by known answers: jieba's part-of-speech tags (nr person, ns place, nt organisation), the name
endings the answer layer already knows (:data:`qa.answer.intent.NAME_KINDS`, the district's place endings), the
closed class of address words (路, 街, 号 …), enumerations (、) and quoted names (“…”, 《…》). A word the question
itself holds, or the district's own name, fills nothing: the answer must tell the asker something new.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from qa.answer.weights import WEIGHTS
from qa.answer.words import district
from qa.lexical import pos_tag
from qa.normalize import is_cjk

if TYPE_CHECKING:
    from qa.answer.evidence import Evidence
    from qa.answer.intent import Intent


@dataclass(frozen=True)
class Slot:
    """What a question asks to be named, and the word endings a filler of it may carry."""

    kind: str  # person | place | organisation | names | count
    endings: tuple[str, ...] = ()
    several: bool = False  # 哪些地方, 分别叫什么: more than one filler is asked for
    what: str = ""  # how the not-found message names what the reports lack


_PERSON = re.compile(r"谁|哪位|哪一位|哪些人|什么人|哪个人")
# Where a thing is: 变成什么地方 asks what kind of place it became, 在什么地方 where it is.
_PLACE = re.compile(r"地址|在哪[里儿]?|哪里|哪儿|[在到去]\S{0,2}(?:什么|哪个|哪[些几]个?)地方|(?:什么|哪个)位置")
_SEVERAL = re.compile(r"哪些|哪几|分别|各自|都")
_NAMES = re.compile(r"(?:分别|各自|都)\S{0,3}(?:叫什么|叫啥|是什么名字|名字|名称)|哪[些几]个?\S{0,3}(?:名字|名称)")
# The closed class of address words: what a street address or a place in a town is made of.
_ADDRESS = ("路", "街", "巷", "大道", "号", "镇", "村", "街道")
_STREET = re.compile(r"哪条(路|街|巷)")
# The kinds of place whose names end in their own character (渝中区, 璧山县, 华岩镇, 英雄湾村).
_PLACE_KINDS = frozenset(["区县", "区", "县", "省", "镇", "村"])
_PERSON_TAGS = ("nr", "nrfg", "nrt")
_PLACE_TAGS = ("ns", "nt")
_QUOTED = re.compile(r"“([^”]{2,20})”|《([^》]{2,30})》")
# A person is also named by role: the closed class of suffixes that make a noun a kind of person (专家, 医生, 患者).
_ROLE_ENDINGS = ("者", "员", "家", "师", "生", "长", "人", "民", "手")
# how a refusal names the slot
_KIND_WHAT = {"person": "具体是谁", "place": "具体地点", "names": "各自的名称", "count": "具体数目"}
_NOT_COUNTING = frozenset(["几乎", "几何"])  # almost; geometry
_THESE = ("这", "那", "近", "前", "后", "好", "哪")  # 这几年, 近几年, 好几个: some; 哪几块: which ones
# A count as the reports write it: digits, Chinese numerals, or the Roman numerals of water grades (Ⅳ类).
_COUNT = r"(?:\d+|[一二三四五六七八九十两百千]+|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ]+)"


@lru_cache(maxsize=1)
def _place_endings() -> tuple[str, ...]:
    """Endings that make a word a place: the district's area and institution endings and the address words."""
    here = district()
    return tuple(sorted({*here.area_endings, *here.named_place_endings, *_ADDRESS}, key=len, reverse=True))


def asked_slot(question: str, kind: str) -> Slot | None:
    """The slot ``question`` asks to be filled, or None (how much, when, yes or no, an overview ask for no name)."""
    from qa.answer.intent import NAME_ASKED, NAME_KINDS, PLACE_KINDS  # intent reads the slot: imported on use

    if kind not in ("entity", "list", "fact"):
        return None
    several = bool(_SEVERAL.search(question))
    if _NAMES.search(question):
        return Slot("names", several=True, what=_KIND_WHAT["names"])
    asked = NAME_ASKED.search(question)
    if asked:
        name = asked.group(1)
        if name in PLACE_KINDS:
            return Slot("place", NAME_KINDS[name], several, f"是哪个{name}")
        if name in ("项目", "奖", "荣誉"):
            return None  # a project or an award is named many ways: the sentence's own wording decides
        return Slot("organisation", NAME_KINDS[name], several, f"是哪个{name}")
    kind = _place_kind_asked(question)
    if kind:
        return Slot("place", tuple(kind), several, f"是哪个{kind}")
    if _PERSON.search(question) or _asks_for_role(question):
        return Slot("person", several=several, what=_KIND_WHAT["person"])
    street = _STREET.search(question)
    if street:
        return Slot("place", (street.group(1), "大道") if street.group(1) == "路" else (street.group(1),), several,
                    f"在哪条{street.group(1)}")
    if _PLACE.search(question):
        return Slot("place", several=several, what=_KIND_WHAT["place"])
    counted = _counted_by(question)
    if counted:
        return Slot("count", (counted,), what=_KIND_WHAT["count"])
    return None


def _counted_by(question: str) -> str:
    """分几期推进, 水质到了几类: the measure word a question counts by, where jieba reads 几 and it as one word
    (not 这几年, which asks nothing, nor 几乎)."""
    words = [w for w, _ in pos_tag(question) if w.strip()]
    for i, word in enumerate(words):
        if len(word) == 2 and word[0] == "几" and is_cjk(word[1]) and word not in _NOT_COUNTING \
                and not (i and words[i - 1][-1:] in _THESE):
            return word[1]
    return ""


def _place_kind_asked(question: str) -> str:
    """哪个区县, 还有哪些区, 排第一的区县是哪个: the kind of place asked for, read as a word of its own (not 区域, 区长)
    right after a which-word or right before 是哪个 / 有哪些."""
    words = [w for w, _ in pos_tag(question) if w.strip()]
    for i, word in enumerate(words):
        if word not in _PLACE_KINDS:
            continue
        before = words[i - 1] if i else ""
        if before.startswith("哪") or re.match(r"(?:是|有)哪", "".join(words[i + 1 :])):
            return word
    return ""


# 校长是哪个, 那个村民叫啥名字: which one, or what name, of a kind of person
_WHICH_ONE = re.compile(r"(?:现在|目前)?(?:是哪个|是哪一个|叫什么|叫啥)")


def _asks_for_role(question: str) -> bool:
    """Whether the question asks which one, or the name, of a noun that names a kind of person (校长, 村民)."""
    for asked in _WHICH_ONE.finditer(question):
        words = [(w, f) for w, f in pos_tag(question[: asked.start()]) if w.strip()]
        while words and words[-1][1] in ("uj", "r"):  # 校长的, 那个
            words.pop()
        if words and words[-1][1][:1] == "n" and len(words[-1][0]) >= 2 and words[-1][0].endswith(_ROLE_ENDINGS):
            return True
    return False


def _person_name(words: Sequence[tuple[str, str]], i: int) -> bool:
    """Whether word ``i`` is a person's name: jieba tags a name it does not know (its dictionary's "names" are
    mostly words: 荣获, 智慧, 文明), or a surname it cut from a given name it does not know (尹 + 诗语)."""
    from qa.answer.decision import general_frequencies  # the decision module reads slots: imported on use

    word, flag = words[i]
    if not flag.startswith(_PERSON_TAGS):
        return False
    known, _ = general_frequencies()
    if len(word) > 1:
        return word not in known
    given = words[i + 1][0] if i + 1 < len(words) else ""
    return 1 <= len(given) <= 2 and all(is_cjk(ch) for ch in given) and given not in known


def _new(word: str, question: str) -> bool:
    """A word that tells the asker something: not in the question, not the district's own name, not one character."""
    return len(word) >= 2 and word not in question and word not in district().names


def _joined(words: Sequence[tuple[str, str]], i: int) -> str:
    """Word ``i`` read with the one before it, a name cut in two (黄桷坪 + 街道, 区 + 教委), and with one more
    before that when both are single characters (经 + 信 + 委: an abbreviated body jieba reads letter by letter)."""
    joined = words[i][0]
    for j in range(i - 1, max(i - 1 - WEIGHTS.slot_name_chars, -1), -1):
        word, flag = words[j]
        if flag in ("x", "uj", "p", "c") or not all(is_cjk(ch) for ch in word):
            break
        if j < i - 1 and not flag.startswith(("n", "j")):
            break  # 个 + 镇 + 街: a measure word starts no name
        joined = word + joined
        if len(word) > 1 or len(words[j + 1][0]) > 1:
            break
    return joined


def fillers(text: str, question: str, slot: Slot) -> list[str]:
    """The words of ``text`` that fill ``slot`` and that ``question`` does not already hold."""
    words = pos_tag(text)
    found: list[str] = []
    if slot.kind == "names":  # several names: quoted ones, or an enumeration in one clause (甲、乙、丙)
        quoted = [a or b for a, b in _QUOTED.findall(text)]
        found = [q for q in quoted if _new(q, question)]
        if len(found) >= WEIGHTS.slot_list_items:
            return found
        for clause in re.split(r"[，,；;。：:！？]", text):
            items = [i for i in clause.split("、") if _new(i.strip(), question)]
            if len(items) > WEIGHTS.slot_list_items:  # 甲、乙、丙: two marks, three names
                return items
        return []
    if slot.kind == "count":  # 三期, 6年, Ⅳ类: a count in the measure word asked by
        return [m for m in re.findall(_COUNT + re.escape(slot.endings[0]), text) if m not in question]
    endings = slot.endings or (_place_endings() if slot.kind == "place" else ())
    for i, (word, flag) in enumerate(words):
        joined = _joined(words, i)
        if slot.kind == "person":
            fits = _person_name(words, i) or flag == "nt" or (flag[:1] == "n" and word.endswith(_ROLE_ENDINGS))
        else:
            ends = bool(endings) and (word.endswith(endings) or joined.endswith(endings))
            fits = ends or (flag == "nt" if slot.kind == "organisation" else not slot.endings and flag in _PLACE_TAGS)
        if not fits:
            continue
        ending = next((e for e in endings if word.endswith(e)), "")
        short = bool(ending) and len(word) < len(ending) + WEIGHTS.slot_name_chars
        candidate = joined if short else word  # only a bare ending is read with the word before it
        # A word made of an ending alone (镇街, 社区) is a kind of place, not one: a name comes before the ending.
        ending = next((e for e in endings if candidate.endswith(e)), "")
        if _new(candidate, question) and (not ending or len(candidate) >= len(ending) + WEIGHTS.slot_name_chars):
            found.append(candidate)
    return found


def holds_slot(text: str, question: str, slot: Slot) -> bool:
    """Whether ``text`` fills ``slot`` (several fillers for a question asking for several places)."""
    need = WEIGHTS.slot_list_items if slot.several and slot.kind == "place" else 1
    found = set(fillers(text, question, slot))
    distinct = {f for f in found if not any(f != g and f in g for g in found)}  # 华岩 and 华岩镇 are one place
    return len(distinct) >= need


def slot_text(ev: Evidence, intent: Intent) -> str:
    """The text judged for the slot: what the answer quotes (a list question's whole sentence, since a list is
    quoted whole)."""
    return (ev.reach or ev.sentence) if intent.kind == "list" else ev.text


def prefer_slot(evidence: Sequence[Evidence], intent: Intent, terms: Mapping[str, float]) -> list[Evidence]:
    """The evidence with the best sentence that fills the question's slot first, if the best one does not.

    Only a sentence among the first ``slot_depth`` that holds enough of the question (``min_coverage``) and
    every question word the best sentence holds is lifted: a sentence that names a place but is about
    something else (九龙坡云医院 for 人民医院新院区在哪: it lacks 人民) does not answer 在哪里.
    """
    slot = intent.slot
    out = list(evidence)
    if slot is None or not out or holds_slot(slot_text(out[0], intent), intent.question, slot):
        return out
    from qa.answer.evidence import story_words  # evidence reads the intent, which reads slots: imported on use

    told = story_words(terms)  # words of the asker's story or of an earlier turn count where found, never against
    # a word of one character is held as a word of its own (分 is not held by 组成部分)
    best = {w for w, _ in pos_tag(out[0].sentence)}
    held = [t for t in terms if t not in told and (t in best if len(t) == 1 else t in out[0].sentence)]
    for i, ev in enumerate(out[1 : WEIGHTS.slot_depth], start=1):
        if ev.coverage >= WEIGHTS.min_coverage and all(t in ev.sentence for t in held) and \
                holds_slot(slot_text(ev, intent), intent.question, slot):
            return [ev, *out[:i], *out[i + 1 :]]
    return out
