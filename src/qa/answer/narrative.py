"""What a question asks, told apart from the asker's story around it (who asks, and why).

People ask in context: 我家老大明年读小学，想了解一下义务教育巩固率？ The clause that asks (the one ending in
a question mark) is what is asked. Another clause is the asker's story when the asker speaks of themselves in
it: a first-person word (我, 我们, 我家, 咱, 俺) or a wish with no subject of its own (周末想带孙子去…, whose
subject can only be the asker). In the asked clause itself, the asker's own verbs before the first noun
(我想问下, 想了解一下) are story too.

The story says why a question is asked, not what it asks: a word of it the reports never use does not make
the answer "not found", one they use counts where it is found and never against
(:func:`qa.answer.terms.query_terms`), and the kind of question, its years and units, and the subject a
later part points back to are read from what is asked (:mod:`qa.answer.intent`).

A call written down by a hotline operator reports the question in the third person (市民来电询问…, 一位退休教师
来电，…): who calls and the verbs that report the question are not even story, since the caller's words (市民, 来电人)
say nothing of the topic; they are left out of the question's words altogether (:func:`framing_spans`), and so are
greetings, thanks, the polite verbs that open a request (您好，请问…，谢谢。), a request to look the answer
up (帮忙查一下…, 麻烦帮我查查…) and how many questions follow (一次问两件事：…).

A relayed question speaks of its asker in the third person (有位听众说…，他想问，…多少？, 一位家长在窗口问…，她想知道…):
once 他 or 她 opens a clause that reports the question (:func:`_relayed_story`), the clauses before it bring in the
asker and say why, and those after it that speak of 他 or 她 are the asker's too; they are story as a first-person
one is.

Only closed grammatical classes are named here: the first- and third-person pronouns, the verbs of wishing, the verbs that
report a question or a call, and the formulas of courtesy.
"""

from __future__ import annotations

import re

from qa.lexical import pos_tag

_CLAUSE_END = re.compile(r"[，,；;。！!？?]")
_TIME = re.compile(r"(?:19|20)\d{2}年?|[一二三四]季度|[上下]半年|前三季度|全年")
_QUESTION_MARKS = ("？", "?")
# The first-person pronouns (我国, 我市 are the country and the city, not the asker).
_FIRST_PERSON = frozenset(["我", "我们", "我家", "咱", "咱们", "咱家", "俺", "俺们", "俺家"])
_REGIONS = frozenset(["国", "省", "市", "区", "县"])  # 咱们区, 我们市: the speaker's region, not the speaker
_WISH = frozenset(["想", "打算"])  # 想 (want to), 打算 (plan to): with no subject before them, the asker's
_BEFORE_VERB = ("t", "d", "c")  # 周末想…, 一直想…, 还想…: time words, adverbs and conjunctions before the verb
_NAMING = ("n", "s", "e", "j", "l", "x")  # nouns, places, Latin words, abbreviations, set phrases, quotes
# Verbs that report a question or a call (市民来电询问…, 来电人想了解…): what comes before one, when it is only who
# calls, frames the question and asks nothing.
_REPORTING = frozenset(["询问", "咨询", "了解", "知道", "问", "问问", "打听", "反映", "来电", "致电", "求助", "提问"])
_CALLER = ("n", "m", "q", "a", "b", "r", "d", "v", "c", "p", "u", "l", "f", "s", "t")  # who calls (退休职工), how many,
# how, their verbs, and where or when they asked (在群里, 楼下, 昨天)
# Greetings and thanks (您好，…谢谢。) and the polite verbs that open a request (请问, 麻烦问一下): courtesy, not topic.
_COURTESY = frozenset(["您好", "你好", "大家好", "谢谢", "谢谢您", "多谢", "感谢", "辛苦", "请问", "麻烦", "请教", "劳驾",
                       "打扰", "打扰一下", "问", "问一下", "问下", "一下", "了", "啦", "呀", "啊",
                       # a request to look the answer up (帮忙查一下…, 麻烦帮我查查…, 请核实…)
                       "请", "帮", "帮忙", "帮帮忙", "查", "查查", "查一查", "查询", "核实", "核对", "下"])
# 一次问两件事：…, 他有两个问题：…, 又来了一个问题：…: how many questions follow, said before them.
_ANNOUNCED = re.compile(r"[一两二三四五几](?:件事|个问题)(?=[：:，,]|$)")
_HELPED = frozenset(["我", "我们", "咱", "咱们"])  # 帮我查…: who is helped, in a request
# The third-person pronouns: in a relayed question (一位听众说…，他想问，…) the one who asks is spoken of as 他 or 她.
_THIRD_PERSON = frozenset(["他", "她", "他们", "她们"])


def clauses(question: str) -> list[tuple[int, int]]:
    """(start, end) of each clause of ``question``, split at ，；。！？ (the mark stays with its clause)."""
    out, start = [], 0
    for mark in _CLAUSE_END.finditer(question):
        if question[start : mark.start()].strip():
            out.append((start, mark.end()))
        start = mark.end()
    if question[start:].strip():
        out.append((start, len(question)))
    return out


def asked_clause(question: str, spans: list[tuple[int, int]]) -> int:
    """Which clause asks: the last one ending in a question mark, else the last holding a question word."""
    from qa.answer.intent import ASKS

    marked = [i for i, (a, b) in enumerate(spans) if question[a:b].rstrip().endswith(_QUESTION_MARKS)]
    if marked:
        return marked[-1]
    asking = [i for i, (a, b) in enumerate(spans) if ASKS.search(question[a:b])]
    return asking[-1] if asking else len(spans) - 1


def _asker(words: list[tuple[str, str]], i: int) -> bool:
    """Whether word ``i`` is the asker: a first-person pronoun not naming the district (我们九龙坡, 咱们区)."""
    word, flag = words[i]
    if flag != "r" or word not in _FIRST_PERSON:
        return False
    after = words[i + 1] if i + 1 < len(words) else ("", "")
    return not (after[1] == "ns" or after[0] in _REGIONS)


def _opening(words: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A clause's words from the first that is no time word, adverb or conjunction (its subject, mostly)."""
    return words[next((i for i, (_, f) in enumerate(words) if f[:1] not in _BEFORE_VERB), len(words)) :]


def _opens_with_asker(words: list[tuple[str, str]]) -> bool:
    """Whether a clause opens (after time words and adverbs) with the asker or a wish with no subject."""
    rest = _opening(words)
    return bool(rest) and (rest[0][0] in _WISH or _asker(rest, 0))


def asker_speaks(clause: str) -> bool:
    """Whether the asker speaks of themselves in ``clause``: a first-person word, or a wish with no subject."""
    words = [(w, f) for w, f in pos_tag(clause) if w.strip()]
    return any(_asker(words, i) for i in range(len(words))) or _opens_with_asker(words)


def _asker_verbs(question: str, start: int, end: int) -> tuple[int, int] | None:
    """我想了解一下…, 想问问…: the asker's own verbs opening the asked clause, up to its first noun or quote."""
    words = pos_tag(question[start:end])
    if not _opens_with_asker([(w, f) for w, f in words if w.strip()]):
        return None
    at = start
    wished = False
    for word, flag in words:
        if (flag[:1] in _NAMING or flag == "t" or _TIME.fullmatch(word)) and not wished:
            break  # 我想问一下2020年GDP…, 想知道一季度…: a time is asked about, it is no verb of the asker's
        wished = word in _WISH  # 想问下, 想问问: what follows a wish is what the asker wants to do, however tagged
        at += len(word)
    return (start, at) if at > start else None


def _reported_frame(question: str, start: int, end: int) -> tuple[int, int] | None:
    """市民来电询问…, 一位家长想了解…: the caller and the reporting verbs opening a clause, up to the last of those
    verbs that comes before the first name of a place, body or thing (the question starts there)."""
    from qa.answer.intent import ASKS

    at, frame = start, None
    for word, flag in pos_tag(question[start:end]):
        if flag.startswith(("ns", "nt", "nz", "eng")) or not flag.startswith(_CALLER) or ASKS.match(word):
            break
        at += len(word)
        if word in _REPORTING:
            frame = (start, at)
    return frame


def _called(question: str, start: int, end: int) -> bool:
    """一位退休教师来电，…: a clause that only says who calls."""
    frame = _reported_frame(question, start, end)
    return frame is not None and not question[frame[1] : end].strip(" ，,；;。")


def _courtesy(question: str, start: int, end: int) -> tuple[int, int] | None:
    """您好，/ 谢谢。/ 请问…, 麻烦问一下…: the courtesy opening a clause (the whole clause when it is nothing else)."""
    at, courteous = start, False  # punctuation alone (the “ opening a quoted name) is no courtesy
    previous = ""
    for word, flag in pos_tag(question[start:end]):
        helped = word in _HELPED and previous in ("帮", "请", "麻烦")
        if word.strip() and word not in _COURTESY and flag != "x" and not helped:
            break
        at, courteous = at + len(word), courteous or word in _COURTESY
        previous = word
    return (start, at) if courteous else None


def _from_subject(question: str, start: int, end: int) -> list[tuple[str, str]]:
    """The words of the clause ``question[start:end]`` from its subject on (:func:`_opening`)."""
    return _opening([(w, f) for w, f in pos_tag(question[start:end]) if w.strip()])


def _third_person(words: list[tuple[str, str]]) -> bool:
    return bool(words) and words[0][0] in _THIRD_PERSON


def _relays(question: str, start: int, end: int) -> bool:
    """他想问，… / 她问：…: a clause that opens with a third person whose reported question follows: the question is
    relayed, and that person is the asker."""
    words = _from_subject(question, start, end)
    if not _third_person(words):
        return False
    # 他想问, 她还想知道, 他就问: wishes and adverbs may come between the asker and the verb that reports
    return next((w for w, f in words[1:] if w not in _WISH and f[:1] != "d"), "") in _REPORTING


def _relayed_story(question: str, spans: list[tuple[int, int]], asked: int) -> list[tuple[int, int]]:
    """The clauses (``spans``, of which ``asked`` asks) before a relayed question's 他想问 / 她问 (有位听众说，…，他想问，
    …多少？): they introduce the one who asks and say why, as a first-person story does. Those after it that speak
    of 他 or 她 are story too."""
    relay = next((i for i in range(asked + 1) if _relays(question, *spans[i])), None)
    if relay is None:
        return []
    return [(a, b) for i, (a, b) in enumerate(spans)
            if i < relay or (i > relay and i != asked and _third_person(_from_subject(question, a, b)))]


def framing_spans(question: str) -> list[tuple[int, int]]:
    """(start, end) of what only frames the question: a reported call (市民来电询问, 一位退休教师来电，) and courtesy
    (您好，请问…谢谢。). Not even story: the caller's words (市民, 来电人) and the greetings say nothing of the topic."""
    spans = clauses(question)
    if not spans:
        return []
    asked = asked_clause(question, spans)
    out = [(a, b) for i, (a, b) in enumerate(spans) if i != asked and _called(question, a, b)]
    out += [span for a, b in spans if (span := _courtesy(question, a, b))]
    opening = _reported_frame(question, *spans[0]) if asked else None
    if opening and not any(a <= opening[0] < b for a, b in out):
        out.append(opening)  # 市民来电询问：听说…，…多少？ the call reported at the head of a clause that goes on
    out += [m.span() for m in _ANNOUNCED.finditer(question)]
    frame = None if _asker_verbs(question, *spans[asked]) else _reported_frame(question, *spans[asked])
    return [*out, frame] if frame else out


def narrative_spans(question: str) -> list[tuple[int, int]]:
    """(start, end) of the parts of ``question`` that tell the asker's story, not what is asked (a reported call
    among them, and courtesy: :func:`framing_spans`)."""
    spans = clauses(question)
    if not spans:
        return []
    asked = asked_clause(question, spans)
    out = [(a, b) for i, (a, b) in enumerate(spans) if i != asked and asker_speaks(question[a:b])]
    verbs = _asker_verbs(question, *spans[asked])
    return sorted({*out, *([verbs] if verbs else []), *_relayed_story(question, spans, asked),
                   *framing_spans(question)})


def outside_narrative(question: str) -> str:
    """``question`` with the asker's story blanked out (offsets hold)."""
    text = list(question)
    for a, b in narrative_spans(question):
        text[a:b] = "，" * (b - a)
    return "".join(text)
