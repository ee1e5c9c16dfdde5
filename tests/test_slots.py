"""The slot a question asks to be filled, and whether a quoted clause fills it, on made-up questions and sentences."""

from __future__ import annotations

import pytest

from qa.answer import checks
from qa.answer.checks import Case, Support
from qa.answer.compose import Part, closest_statement, not_found_text
from qa.answer.evidence import Evidence, Terms
from qa.answer.intent import detect_intent
from qa.answer.slots import asked_slot, fillers, holds_slot, prefer_slot
from qa.answer.weights import WEIGHTS
from qa.types import Chunk, Hit


def ev(sentence: str, coverage: float = 0.8, chunk: str = "c1") -> Evidence:
    hit = Hit(chunk=Chunk(chunk_id=chunk, doc_id="d1", start=0, end=len(sentence), text=sentence, clean=sentence),
              score=1.0, dense=0.5)
    return Evidence(hit, sentence, sentence, 1.0, coverage, False, (), sentence)


def slot_case(question: str, evidence: list[Evidence]) -> Case:
    return Case(question, detect_intent(question), {"驿站": 3.0}, [e.hit for e in evidence], evidence, [], "驿站")


@pytest.mark.parametrize(("question", "kind", "several"), [
    ("新图书馆的地址在哪里？", "place", False),
    ("那三个驿站分别在哪些地方？", "place", True),
    ("那首《江边谣》是谁写的？", "person", False),
    ("这个奖是哪个部门颁发的？", "organisation", False),
    ("那五个公园分别叫什么名字？", "names", True),
    ("离境商店开在哪条街上？", "place", False),
    ("那所学校的校长是哪个？", "person", False),  # which one of a kind of person: a person
    ("那个回乡的村民叫啥名字？", "person", False),
    # a kind of place whose names end in it, read as a word of its own
    ("经济总量排第一的区县是哪个？", "place", False),
    ("除了九龙坡，还有哪些区入选了试点？", "place", True),
    ("有哪个镇入选了？", "place", False),
])
def test_the_slot_asked_for(question: str, kind: str, several: bool):
    slot = detect_intent(question).slot
    assert slot is not None and slot.kind == kind and slot.several == several


@pytest.mark.parametrize("question", [
    "长江边那段路修好以后变成什么地方了？",  # what kind of place it became, not where it is
    "哪个项目投资最多？",  # a project is named many ways
    "新增了多少个公园？",  # how many: a figure answers, not a name
    "新图书馆是什么时候开放的？",
    "那个老社区现在叫什么？",  # which one of a place: no person asked for
    "九龙坡那项民生实事现在叫什么？",  # 民生 ends like 学生, but the thing named is 实事
    "城市更新包括哪些区域？",  # 区域 is no 区
])
def test_questions_that_ask_for_no_name_have_no_slot(question: str):
    assert detect_intent(question).slot is None


@pytest.mark.parametrize(("question", "sentence", "fills"), [
    # a place the question does not already hold
    ("新图书馆的地址在哪里？", "新图书馆于去年建成开放。", False),
    ("新图书馆的地址在哪里？", "新图书馆位于杨家坪步行街88号。", True),
    ("九龙坡区人民医院在哪里？", "九龙坡区人民医院焕新启用。", False),  # its own name again
    ("图书馆在哪里？", "全区13个镇街都有社区书屋。", False),  # 镇街, 社区: an ending alone is a kind, not a place
    # several places: several distinct ones
    ("那三个驿站分别在哪些地方？", "三个驿站在华岩镇建成。", False),  # 华岩 and 华岩镇: one place
    ("那三个驿站分别在哪些地方？", "三个驿站分别建在华岩镇、西彭镇和铜罐驿镇。", True),
    # a person, or a person's role
    ("那首《江边谣》是谁写的？", "《江边谣》在社区里广为传唱。", False),
    ("那首《江边谣》是谁写的？", "《江边谣》由退休教师创作。", True),
    ("那首《江边谣》是哪位居民写的？", "这首居民自创的《江边谣》广为传唱。", False),  # 首 + 居民 is no new person
    # jieba's dictionary tags words as names (荣获, 智慧): only a name it does not know is a person's
    ("谢家湾小学的校长是谁？", "谢家湾小学荣获中国质量奖，智慧校园建设全面推进。", False),
    ("那首《江边谣》是谁写的？", "《江边谣》的作者是尹诗语。", True),
    # a body with the ending asked for
    ("这个奖是哪个部门颁发的？", "该项目获得了表彰，部门很重视。", False),  # the word 部门 names no body
    ("这个奖是哪个部门颁发的？", "该项目获得了市文化旅游委颁发的奖项。", True),
    ("这个奖是哪个部门颁发的？", "该奖由区教委颁发。", True),  # 区 + 教委 read together
    ("赋能中心是跟哪个部门一起建的？", "九龙坡区与重庆市经信委合作共建赋能中心。", True),  # 经 + 信 + 委, one char each
    ("赋能中心是跟哪个部门一起建的？", "九龙坡区与重庆市合作，由委共建。", False),  # an ending with no name before it
    # several names: an enumeration in one clause, or quoted names
    ("那五个公园分别叫什么名字？", "全区建成五个公园。", False),  # a count, no names
    ("那五个公园分别叫什么名字？", "建成彩云湖公园、开放步道，新增绿地、广场。", False),  # 、 in two clauses: no list
    ("那五个公园分别叫什么名字？", "五个公园分别是彩云湖公园、华岩公园、九龙公园、白鹤公园和桃花公园。", True),
    ("那五个公园分别叫什么名字？", "两个公园叫“金凤园”和“银杏园”。", True),
    # a district: another one than the district itself, and for 哪些 more than one
    ("经济总量排第一的区县是哪个？", "九龙坡区经济总量位列第三。", False),
    ("经济总量排第一的区县是哪个？", "渝北区经济总量位列第一。", True),
    ("除了九龙坡，还有哪些区入选了试点？", "九龙坡区成功入选国家首批试点。", False),
    ("除了九龙坡，还有哪些区入选了试点？", "渝中区、江北区与九龙坡区一同入选。", True),
])
def test_a_clause_fills_the_slot_only_with_a_new_name_of_the_kind_asked(question: str, sentence: str, fills: bool):
    slot = detect_intent(question).slot
    assert slot is not None and holds_slot(sentence, question, slot) == fills


def test_fillers_are_the_new_names():
    slot = asked_slot("那三个驿站分别在哪些地方？", "list")
    assert slot is not None
    assert {"西彭镇", "铜罐驿镇"} <= set(fillers("三个驿站分别建在华岩镇、西彭镇和铜罐驿镇。", "那三个驿站分别在哪些地方？", slot))


def test_the_best_sentence_that_fills_the_slot_is_preferred():
    q = "那三个驿站分别在哪些地方？"
    intent = detect_intent(q)
    counts = ev("全区建成三个驿站，方便群众。", coverage=0.8)
    places = ev("三个驿站分别建在华岩镇、西彭镇和铜罐驿镇。", coverage=0.6)
    terms = {"三个": 0.5, "驿站": 2.0, "分别": 0.3}
    assert prefer_slot([counts, places], intent, terms)[0] is places
    weak = ev("华岩镇、西彭镇和铜罐驿镇举办了运动会。", coverage=WEIGHTS.min_coverage / 2)  # names places, about else
    assert prefer_slot([counts, weak], intent, terms) == [counts, weak]
    far = [counts] + [ev(f"驿站第{i}条消息。") for i in range(WEIGHTS.slot_depth)] + [places]
    assert prefer_slot(far, intent, terms)[0] is counts  # only the first few sentences are searched


def test_a_sentence_without_the_question_s_subject_is_not_lifted_for_its_place():
    q = "九龙坡区人民医院新院区在哪？"
    intent = detect_intent(q)
    terms = {"人民": 1.9, "医院": 3.4, "新": 0.9, "院区": 5.3}  # as jieba cuts the question
    best = ev("九龙坡区人民医院焕新启航。", coverage=0.7)
    other = ev("“九龙坡云医院”已为辖区居民提供服务，设在华岩镇。", coverage=WEIGHTS.min_coverage)  # another hospital
    assert prefer_slot([best, other], intent, terms) == [best, other]
    same = ev("九龙坡区人民医院新院区位于华岩镇。", coverage=WEIGHTS.min_coverage)
    assert prefer_slot([best, same], intent, terms)[0] is same


@pytest.mark.parametrize(("question", "word"), [
    ("那这个景区分几期推进？", "期"),
    ("它要建几年？", "年"),
    ("治完以后水质到了几类？", "类"),
])
def test_a_question_counting_by_a_measure_word_asks_for_a_count(question: str, word: str):
    slot = detect_intent(question).slot
    assert slot is not None and slot.kind == "count" and slot.endings == (word,)


@pytest.mark.parametrize("question", [
    "这几年九龙坡变化大吗？",  # 这几年: some years, asked of nothing
    "“西部氢谷”里面包括哪几块？",  # which ones: the names answer, not a count
    "公园几乎都免费吗？",
])
def test_some_and_which_are_no_count(question: str):
    slot = detect_intent(question).slot
    assert slot is None or slot.kind != "count"


def test_a_count_in_the_measure_word_fills_the_slot():
    question = "治完以后水质到了几类？"
    slot = detect_intent(question).slot
    assert slot is not None
    assert fillers("跳磴河从黑臭水体达到并稳定保持Ⅳ类水质。", question, slot) == ["Ⅳ类"]
    assert not holds_slot("跳磴河的水质明显改善。", question, slot)
    slot = detect_intent("分几期推进？").slot
    assert slot is not None and fillers("9个子项目、6年时间、三期推进。", "分几期推进？", slot) == ["三期"]


def test_the_sentence_with_the_count_is_preferred_over_one_holding_the_earlier_turn_s_words():
    q = "中梁山生态景区分几期推进？"
    intent = detect_intent(q)
    # 中梁山 and 景区 came from the earlier turn: they count where found, never against a sentence
    terms = Terms({"中梁山": 2.7, "景区": 2.6, "分": 3.7, "推进": 1.3}, ["中梁山", "景区"])
    part = ev("改建而成的中梁山花博园，只是景区的一个组成部分。", coverage=0.8)  # 分 only inside 部分
    count = ev("9个子项目、6年时间、三期推进，要把中梁山打造成生态修复的典范。", coverage=0.6)
    assert prefer_slot([part, count], intent, terms)[0] is count
    # a count is written many ways (三个阶段): it orders the sentences and refuses none
    assert checks.check_slot(slot_case(q, [part])) is None


def test_check_slot_refuses_a_clause_without_the_slot_and_names_it():
    refusal = checks.check_slot(slot_case("那三个驿站分别在哪些地方？", [ev("全区建成三个驿站，方便群众。")]))
    assert refusal is not None and refusal.missing == "具体地点"
    assert checks.check_slot(slot_case("那三个驿站分别在哪些地方？",
                                       [ev("三个驿站分别建在华岩镇、西彭镇和铜罐驿镇。")])) is None
    assert checks.check_slot(slot_case("新增了多少个驿站？", [ev("全区建成三个驿站。")])) is None


def test_a_slot_refusal_quotes_what_the_reports_do_say():
    question = "那三个驿站分别在哪些地方？"
    said = ev("全区建成三个驿站，方便群众。")
    refusal = checks.check_slot(slot_case(question, [said]))
    assert refusal is not None
    result = Support(False, said.coverage, 0.5, missing=refusal.missing, reasons=(refusal.reason,),
                     refused_by="check_slot")
    part = Part(question, detect_intent(question), {"驿站": 3.0}, [said.hit], result, [], [], [said])
    assert closest_statement(part) is said
    text = not_found_text(result)
    assert text.startswith("资料中未找到关于“具体地点”的信息")
