"""The not-found decision, one named check at a time, on synthetic evidence; and where weights may live."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest

from qa.answer import checks, decision
from qa.answer.checks import Case, judge_support
from qa.answer.evidence import Evidence, FigureMatch, coverage, figure_years, shortens
from qa.answer.intent import Intent, detect_intent
from qa.answer.terms import asked_events, dated
from qa.answer.weights import WEIGHTS
from qa.lexical import Vocabulary, pinned_vocabulary
from qa.types import Chunk, Document, Figure, Hit

CORPUS_TEXT = "九龙坡区人民医院 高新技术企业 跳磴河 2020年全区地区生产总值突破1500亿元"


def hit(clean: str, dense: float = 0.5, doc_id: str = "d1") -> Hit:
    chunk = Chunk(chunk_id=f"c-{abs(hash(clean))}", doc_id=doc_id, start=0, end=len(clean), text=clean, clean=clean)
    return Hit(chunk=chunk, score=1.0, dense=dense)


def ev(sentence: str, coverage: float = 1.0, in_window: bool = False, dense: float = 0.5,
       figures: tuple[Figure, ...] = ()) -> Evidence:
    return Evidence(hit(sentence, dense), sentence, sentence, 1.0, coverage, in_window, figures, sentence)


def match(sentence: str, score: float = 0.9, value: float = 1500, unit: str = "亿元", in_window: bool = False
          ) -> FigureMatch:
    fig = Figure(value=value, unit=unit, text=f"{value:g}{unit}", doc_id="d1", sentence=sentence)
    return FigureMatch(fig, ev(sentence, in_window=in_window, figures=(fig,)), score)


def case(question: str, evidence: list[Evidence] | None = None, matches: list[FigureMatch] | None = None,
         terms: dict[str, float] | None = None, intent: Intent | None = None,
         report_years: dict[str, int | None] | None = None) -> Case:
    evidence = evidence if evidence is not None else [ev("2020年全区地区生产总值突破1500亿元。")]
    return Case(question, intent or detect_intent(question), terms or {"地区生产总值": 5.0},
                [e.hit for e in evidence], evidence, matches or [], CORPUS_TEXT, report_years or {})


def test_other_district_is_refused_and_named():
    refusal = checks.check_other_district(case("渝中区的地区生产总值是多少？"))
    assert refusal is not None and refusal.missing == "渝中区" and "没有渝中区的内容" in refusal.reason
    assert checks.check_other_district(case("九龙坡区的地区生产总值是多少？")) is None
    assert checks.check_other_district(case("西彭园区有多大？")) is None  # an area inside the district

    # a kind of district the reports know (they speak of 高新区), of a city they never name
    refusal = checks.check_other_district(case("成都高新区氢能产业一年营收有多少？"))
    assert refusal is not None and refusal.missing == "成都高新区"
    assert checks.check_other_district(case("九龙坡高新区的氢能产业营收有多少？")) is None


def test_named_place_keeps_only_figures_from_sentences_naming_it():
    named = match("九龙坡区人民医院开放床位800张。", unit="张", value=800)
    total = match("全区医疗机构床位8700张。", unit="张", value=8700)
    c = case("九龙坡区人民医院有多少张床位？", matches=[total, named])
    assert checks.check_named_place(c) is None and c.matches == [named]
    c = case("九龙坡区人民医院有多少张床位？", matches=[total])
    refusal = checks.check_named_place(c)
    assert refusal is not None and refusal.missing == "人民医院的这项数据"
    # what stands before a 的 describes the place, it is no part of its name
    for question in ("焕新后的九龙坡区人民医院有多少张床位？", "九龙坡的人民医院有多少张床位？"):
        refusal = checks.check_named_place(case(question, matches=[total]))
        assert refusal is not None and refusal.missing == "人民医院的这项数据"


def test_a_word_wrapped_across_a_line_of_a_scanned_page_is_still_held():
    sentence = "启动171万平方米老旧 小区改造，空气优良天数达63天。"
    assert coverage(sentence, {"老旧小区": 2.6, "改造": 1.8}) == 1.0
    assert coverage("老旧，小区", {"老旧小区": 1.0}) < 1.0  # punctuation still parts two words


def test_named_place_is_found_under_the_full_name_it_shortens():
    assert shortens("中梁山花博园", "由九个主题花园组成的重庆中梁山花卉博览园建成开放")
    assert not shortens("九龙坡区人民医院", "九龙坡区第一人民医院新增床位")  # another hospital, not a shortening
    assert not shortens("中梁山花博园", "中梁山，花园，博物馆")  # no full name across clauses
    nine = match("由九个主题花园组成的重庆中梁山花卉博览园建成开放。", unit="个", value=9)
    c = replace(case("中梁山花博园由几个主题花园组成？", matches=[nine]), corpus_text=CORPUS_TEXT + " 中梁山花博园")
    assert checks.check_named_place(c) is None and c.matches == [nine]


def test_measured_kind_needs_the_kind_counted():
    other = match("全区市场主体超过20万户。", unit="家", value=20)
    c = case("九龙坡有多少家高新技术企业？", matches=[other])
    assert c.intent.measured == "高新技术企业"
    refusal = checks.check_measured_kind(c)
    assert refusal is not None and refusal.missing == "高新技术企业的数量"
    right = match("高新技术企业达到300家。", unit="家", value=300)
    c = case("九龙坡有多少家高新技术企业？", matches=[other, right])
    assert checks.check_measured_kind(c) is None and c.matches == [right]
    # a kind of three characters is a kind too (开发者); two (资金, 面积) only say how a thing is measured
    firms = match("聚集起软件和信息技术服务企业200多家。", unit="家", value=200)
    c = case("忽米网聚集了多少开发者？", matches=[firms])
    c.corpus_text = "已聚集数百万注册用户、6万开发者"
    refusal = checks.check_measured_kind(c)
    assert refusal is not None and refusal.missing == "开发者的数量"
    c = case("中梁山生态景区有多少资金？", matches=[firms])
    c.corpus_text = "资金"
    assert checks.check_measured_kind(c) is None


def test_a_measure_the_reports_never_quantify_is_not_answered_by_another():
    revenue = match("2023年，全区氢能产业实现营业收入10.6亿元。", value=10.6)
    said = Figure(value=40, unit="%", text="40%", doc_id="d2", sentence="订单同比增长40%，公司利润实现大幅增长。")
    terms = {"氢能": 2.0, "产业": 0.5, "利润": 4.0}
    c = case("2023年九龙坡氢能产业的利润是多少？", matches=[revenue], terms=terms)
    c.corpus_text = "公司利润实现大幅增长"
    c.figures_of = lambda word: [said] if word in said.sentence else []
    assert c.intent.measured == "利润"
    refusal = checks.check_unquantified(c)
    assert refusal is not None and refusal.missing == "利润的数据"
    # an act the reports never name (赚) only phrases the question: the measure is still what it turns on
    c = case("2023年九龙坡氢能产业赚了多少利润？", matches=[revenue], terms={**terms, "赚": 5.3})
    c.corpus_text = "公司利润实现大幅增长"
    c.figures_of = lambda word: [said] if word in said.sentence else []
    refusal = checks.check_unquantified(c)
    assert refusal is not None and refusal.missing == "利润的数据"
    # a report that does give the measure somewhere: the figures are weighed as ever
    profit = replace(said, value=2, unit="亿元", text="2亿元", sentence="氢能产业实现利润2亿元。")
    c.figures_of = lambda word: [profit]
    assert checks.check_unquantified(c) is None
    # a word the reports never use is for the other checks; one the question does not turn on asks nothing of
    # the figure (投入资金多少: 资金 is the money put in); a sentence about the word (166舰…舰长130余米) is about it
    c.figures_of = lambda word: []
    c.corpus_text = "营业收入"
    assert checks.check_unquantified(c) is None
    c = case("跳磴河累计投入资金多少？", matches=[match("累计投入16.5亿元。", value=16.5)],
             terms={"跳磴河": 2.5, "累计": 2.0, "投入": 3.0, "资金": 2.0})
    c.corpus_text, c.figures_of = "补助资金 累计投入", (lambda word: [])
    assert c.intent.measured == "资金" and checks.check_unquantified(c) is None
    c = case("166舰有多长？", matches=[match("166舰是驱逐舰，舰长130余米。", value=130, unit="米")],
             terms={"166舰": 5.0})
    c.corpus_text, c.figures_of = "166舰", (lambda word: [])
    assert c.intent.measured == "166舰" and checks.check_unquantified(c) is None


def test_a_measure_named_with_its_thing_run_together_is_read_as_the_reports_name_it():
    revenue = match("2023年，全区氢能产业实现营业收入10.6亿元。", value=10.6)
    said = Figure(value=40, unit="%", text="40%", doc_id="d2", sentence="订单同比增长40%，公司利润实现大幅增长。")
    c = case("2023年九龙坡氢能产业利润有多少？", matches=[revenue], terms={"氢能": 2.0, "产业": 0.5, "利润": 4.0})
    c.corpus_text = "公司利润实现大幅增长 氢能产业"
    c.figures_of = lambda word: [said] if word in said.sentence else []
    assert c.intent.measured == "氢能产业利润"  # a phrase the reports never use…
    refusal = checks.check_unquantified(c)  # …read as the measure they do name, of the thing the figure is of
    assert refusal is not None and refusal.missing == "利润的数据"
    # only where the best figure's sentence holds what the phrase opens with
    other = match("2020年，全区规上工业增加值增长8.8%。", value=8.8, unit="%")
    assert checks.known_tail("氢能产业利润", c.corpus_text, [other]) == "氢能产业利润"
    assert checks.known_tail("氢能产业利润", c.corpus_text, [revenue]) == "利润"


def test_has_figure_names_the_year_asked():
    refusal = checks.check_has_figure(case("2019年九龙坡的地区生产总值是多少？"))
    assert refusal is not None and refusal.missing == "2019年的相关数据"
    assert checks.check_has_figure(case("地区生产总值是多少？", matches=[match("…1500亿元")])) is None


def test_figure_strength_threshold():
    weak = match("…1500亿元", score=WEIGHTS.min_figure_score - 0.01)
    strong = match("…1500亿元", score=WEIGHTS.min_figure_score)
    assert checks.check_figure_strength(case("地区生产总值是多少？", matches=[weak])) is not None
    assert checks.check_figure_strength(case("地区生产总值是多少？", matches=[strong])) is None
    english = match("…1500亿元", score=0.1, in_window=True)
    assert checks.check_figure_strength(case("What was the GDP?", matches=[english])) is None


def test_year_needs_a_sentence_or_report_of_that_year():
    question = "2019年跳磴河治理了吗？"
    assert checks.check_year(case(question, [ev("跳磴河综合整治累计投入16.5亿元。")])) is not None
    assert checks.check_year(case(question, [ev("2019年跳磴河综合整治启动。")])) is None
    assert checks.check_year(case(question, [ev("跳磴河综合整治累计投入16.5亿元。")], report_years={"d1": 2019})) is None


def test_a_when_question_about_a_name_needs_a_date_from_a_report_naming_it():
    other = ev("2022年城市更新项目正式开工，总投资157.5亿元。")  # (d1: a report on urban renewal)
    terms = {"黄磏港": 4.0, "开工": 3.0}
    reports = {"d1": Document(doc_id="d1", title="城市更新", text="2022年城市更新项目正式开工，总投资157.5亿元。")}
    with pinned_vocabulary(Vocabulary(discovered=["黄磏港"])):
        c = case("黄磏港是什么时候开工的？", [other], terms=terms)
        c.documents = reports
        refusal = checks.check_when_subject(c)
        assert refusal is not None and refusal.missing == "黄磏港的时间"
        # the same date, from a report that names the port, may answer (the other checks judge the sentence)
        c.documents = {"d1": replace(reports["d1"], text="黄磏港建成投用。" + reports["d1"].text)}
        assert checks.check_when_subject(c) is None
    # a name the reports' own words were not found to hold is jieba's guess, and checks nothing
    c = case("黄磏港是什么时候开工的？", [other], terms=terms)
    c.documents = reports
    with pinned_vocabulary(Vocabulary(discovered=[])):
        assert checks.check_when_subject(c) is None


def test_when_needs_a_time_and_clock_questions_need_a_clock_time():
    assert checks.check_when(case("跳磴河什么时候开始治理？", [ev("跳磴河综合整治累计投入16.5亿元。")])) is not None
    assert checks.check_when(case("跳磴河什么时候开始治理？", [ev("2018年跳磴河开始综合整治。")])) is None
    assert checks.check_when(case("图书馆几点开门？", [ev("2021年3月图书馆开放。")])) is not None
    assert checks.check_when(case("图书馆几点开门？", [ev("图书馆每天上午9点开门。")])) is None


def test_event_must_be_named_by_the_dated_sentence():
    started = ev("2018年，民主村片区城市更新项目启动。")
    assert checks.check_event(case("民主村片区城市更新项目何时完工？", [started],
                                   terms={"民主村": 3.0, "完工": 3.0})) is not None
    finished = ev("2023年，民主村片区城市更新项目完工。")
    assert checks.check_event(case("民主村片区城市更新项目何时完工？", [started, finished],
                                   terms={"民主村": 3.0, "完工": 3.0})) is None
    # a one-character verb is no event: 选进 cut as 选 + 进 (the reports say 入选), and 进 hides in 推进
    chosen = ev("去年11月，九龙坡区成功入选国家首批城市更新试点城市。")
    assert checks.check_event(case("九龙坡是几月份被选进城市更新试点的？", [chosen],
                                   terms={"进": 3.0, "城市更新": 2.0, "试点": 2.0})) is None
    # two events asked together are named by their shortened form (开工建设 → 开建), not by either alone
    begun = ev("2020年12月20日，中梁山生态景区正式开建。")
    built = {"中梁山": 3.0, "景区": 2.0, "开工": 3.0, "建设": 1.0}
    assert checks.check_event(case("中梁山生态景区是哪天正式开工建设的？", [begun], terms=built)) is None
    # 开工 and 完工 are words of the reports, so each must be there itself, or an everyday word that stands for it
    # (开建 for 开工, in colloquial.txt): 开建 dates the start, never the end
    c = case("中梁山生态景区是哪天正式开工的？", [begun], terms=built)
    c.corpus_text = CORPUS_TEXT + " 正式开工 建设 完工"
    assert checks.check_event(c) is None
    c = case("中梁山生态景区是哪天完工的？", [begun], terms={"中梁山": 3.0, "景区": 2.0, "完工": 3.0})
    c.corpus_text = CORPUS_TEXT + " 正式开工 建设 完工"
    assert checks.check_event(c) is not None
    with pinned_vocabulary(Vocabulary(curated=False, discovered=[])):  # without the everyday words, no alias
        c = case("中梁山生态景区是哪天正式开工的？", [begun], terms=built)
        c.corpus_text = CORPUS_TEXT + " 正式开工 建设 完工"
        assert checks.check_event(c) is not None
    # the copula run together with a preposition (是从, cut as one verb) names no happening
    launched = ev("自2020年9月正式上线以来，云医院已累计提供10万余人次服务。")
    online = {"是从": 5.0, "云医院": 3.0, "正式": 2.0}
    assert checks.check_event(case("云医院是从什么时候开始正式上线的？", [launched], terms=online)) is None
    assert checks.check_event(case("云医院是从什么时候开始正式停用的？", [launched],
                                   terms={**online, "停用": 3.0})) is not None
    # a when-question without a verb among its terms has no event to check
    assert checks.check_event(case("民主村是哪一年的项目？", [started], terms={"民主村": 3.0, "项目": 1.0})) is None
    # 几点零 asks for a version (4.0时代), not a time: no when-question at all
    assert detect_intent("石桥铺商圈要进入几点零时代？").kind != "when"


def test_where_something_went_is_answered_only_by_a_sentence_that_says_it_went():
    settled = ev("今年1月14日，重庆市产业数字化赋能中心正式落户九龙坡。")
    terms = {"赋能中心": 3.0, "搬": 2.0}
    for question in ("重庆市产业数字化赋能中心后来搬到哪去了？", "赋能中心后来搬迁到了哪里？", "赋能中心搬到哪了"):
        refusal = checks.check_moved_to(case(question, [settled], terms=terms))
        assert refusal is not None and refusal.missing.endswith("到哪里")
    moved = ev("2019年，该中心由石桥铺迁至西彭园区。")
    assert checks.check_moved_to(case("赋能中心后来搬迁到了哪里？", [moved], terms=terms)) is None  # 迁 of 搬迁
    # 到了哪些 asks which ones, not where to; 落户 is the reports' own verb, said by the sentence
    assert checks.check_moved_to(case("赋能中心的服务推广到了哪些企业？", [settled], terms=terms)) is None
    assert checks.check_moved_to(case("赋能中心落户到哪里了？", [settled], terms=terms)) is None


def test_the_happening_right_after_a_when_question_word_must_be_named_when_the_reports_never_use_it():
    docked = ev("6月26日，166舰停靠重庆九龙坡区建设码头，作为爱国主义教育基地开展国防教育展览。")
    terms = {"166舰": 3.0, "建设": 1.0, "码头": 2.0, "闭馆": 4.0, "开放": 2.0}
    # 闭馆 reads as a noun to jieba, and 建设 (of 建设码头) and 开放 are other happenings the question names
    for question in ("166舰在建设码头什么时候闭馆？", "166舰在建设码头对公众开放后，是在哪一天闭馆的？"):
        refusal = checks.check_event(case(question, [docked], terms=terms))
        assert refusal is not None and refusal.missing == "闭馆的时间"
    assert checks.event_after_when("166舰是哪一天会闭馆的？") == "闭馆"  # an auxiliary is read past
    # a noun more is said of is no happening (哪天开始让老百姓进去参观), nor a light verb and its result (搞完)
    assert checks.event_after_when("166舰哪天老百姓进去参观？") is None
    assert checks.event_after_when("消落带生态修复什么时候搞完的？") is None
    # a word of the reports, or one sharing a character with a word of the dated sentence, is judged as before
    assert checks.check_event(case("166舰什么时候停靠的？", [docked], terms={"166舰": 3.0, "停靠": 3.0})) is None
    assert checks.check_event(case("166舰什么时候靠岸的？", [docked], terms={"166舰": 3.0, "靠岸": 3.0})) is None


def test_a_set_phrase_is_named_by_the_verb_it_ends_in_and_found_further_down_its_passage():
    passage = ("6月26日，166舰停靠建设码头，开展国防教育展览。166舰是第一代051型驱逐舰。166舰舰长130余米。"
               "166舰来自海军。6月27日已正式向公众开放，成为城市新名片。")
    chunk = Hit(chunk=Chunk(chunk_id="c166", doc_id="d1", start=0, end=len(passage), text=passage, clean=passage),
                score=1.0, dense=0.5)
    docked, kind, length, navy, opened = (Evidence(chunk, s, s, 1.0, 0.1, False, (), s) for s in passage.split("。")[:5])
    question = "166舰几号对外开放？"
    terms = {"舰": 3.0, "对外开放": 3.0}
    # jieba keeps 对外开放 whole, as a set phrase: its head 开放 is the event asked about
    assert "开放" in asked_events(question, terms)
    # the sentence telling when it opened stands fifth in its passage, below when_depth: it is still the one quoted
    assert dated([docked, kind, length, navy, opened], detect_intent(question), terms)[0] is opened
    assert checks.check_event(case(question, [docked, kind, length, navy, opened], terms=terms)) is None
    # ... but not from another passage: there it tells of something else that opened
    elsewhere = ev("6月27日，美术公园正式向公众开放。")
    assert dated([docked, kind, length, navy, elsewhere], detect_intent(question), terms) == [docked]
    c = case(question, [docked, kind, length, navy, elsewhere], terms=terms)
    c.corpus_text = CORPUS_TEXT + " 对外开放"  # a word of the reports: 开展 in the sentence quoted does not name it
    assert checks.check_event(c) is not None


def test_a_year_inside_a_name_tells_when_only_if_the_question_asks_about_that_name():
    award = ev("通过整治，跳磴河水质稳定达标，入选“2021年重庆市最美河湖”。")
    # the award's name is no date of the works being finished
    assert checks.check_when(case("跳磴河综合整治是什么时候完工的？", [award])) is not None
    # but it is the year of the award itself
    assert checks.check_when(case("跳磴河是哪一年评上重庆市最美河湖的？", [award])) is None
    assert checks.check_when(case("跳磴河什么时候完工的？", [ev("《2019年全区水环境治理方案》已印发。")])) is not None
    # a name sharing the question's words is what it asks about: 跳磴河 in the plan's title
    assert checks.check_when(case("跳磴河什么时候完工的？", [ev("《2019年跳磴河整治方案》已印发。")])) is None


def test_when_question_needs_a_time_as_precise_as_it_asks():
    lately = ev("近日，区委全会召开，部署下一阶段工作。")
    dated = ev("2021年6月27日，区委全会召开。")
    that_month = ev("2021年6月，区委全会召开。")
    terms = {"全会": 3.0}
    # 哪一天 is a when-question, answered by a day of the month, not by 近日 or a month
    assert detect_intent("区委全会是哪一天开的？").kind == "when"
    assert checks.check_when(case("区委全会是哪一天开的？", [lately], terms=terms)) is not None
    assert checks.check_when(case("区委全会是哪一天开的？", [that_month], terms=terms)) is not None
    assert checks.check_when(case("区委全会是哪一天开的？", [lately, dated], terms=terms)) is None
    # 哪一年 needs a year; 什么时候 takes any time the reports give
    assert checks.check_when(case("区委全会是哪一年开的？", [lately], terms=terms)) is not None
    assert checks.check_when(case("区委全会是哪一年开的？", [that_month], terms=terms)) is None
    assert checks.check_when(case("区委全会什么时候开的？", [ev("目前，区委全会已召开。")], terms=terms)) is None


def test_when_question_is_judged_on_the_sentence_that_says_when():
    undated = ev("重庆美术公园正式开园，游人如织。", coverage=1.0)
    other = ev("近年来，全区公园绿地面积达1985万平方米。", coverage=0.2)
    terms = {"重庆美术公园": 5.0, "开园": 3.0}
    # the answer would quote the dated sentence, which is about something else
    assert checks.check_coverage(case("重庆美术公园何时正式开园？", [undated, other], terms=terms)) is not None
    dated = ev("2021年9月，重庆美术公园正式开园。", coverage=1.0)
    assert checks.check_coverage(case("重庆美术公园何时正式开园？", [undated, dated, other], terms=terms)) is None
    # other questions are judged on their best sentence, as before
    assert checks.check_coverage(case("重庆美术公园开园了吗？", [undated, other], terms=terms)) is None


def test_an_everyday_event_verb_is_named_by_a_verb_of_the_reports_sharing_a_character():
    finished = ev("2019年1月，跳磴河综合整治工程完工。")
    # 搞完 is no word of the reports: their 完工 names it
    assert checks.check_event(case("跳磴河是什么时候搞完的？", [finished], terms={"跳磴河": 3.0, "搞完": 5.0})) is None
    # a happening that shares nothing with the dated sentence's verbs is not named by it
    opened = ev("2021年4月7日，中梁山花卉博览园建成开放。")
    closed = {"花卉博览园": 3.0, "闭园": 5.0, "整修": 5.0}
    assert checks.check_event(case("中梁山花卉博览园是哪天闭园整修的？", [opened], terms=closed)) is not None
    # a verb the reports use must be there itself: 完成 does not name 完工
    done = ev("2019年1月，跳磴河综合整治任务完成。")
    c = case("跳磴河是什么时候完工的？", [done], terms={"跳磴河": 3.0, "完工": 3.0})
    c.corpus_text = CORPUS_TEXT + " 完工"
    assert checks.check_event(c) is not None


def test_the_dated_sentence_naming_the_asked_event_is_quoted_with_the_subject_before_it():
    passage = "6月26日，166舰停靠建设码头，开展国防教育展览。6月27日已正式向公众开放，成为城市新名片。"
    chunk = Hit(chunk=Chunk(chunk_id="c166", doc_id="d1", start=0, end=len(passage), text=passage, clean=passage),
                score=1.0, dense=0.5)
    docked, opened = (Evidence(chunk, s, s, 1.0, 0.1, False, (), s) for s in passage.split("。")[:2])
    question = "166舰是哪天向公众开放的？"
    terms = {"舰": 3.0, "公众": 3.0, "开放": 2.0, "码头": 1.0}
    assert dated([docked, opened], detect_intent(question), terms) == [opened, docked]
    c = case(question, [docked, opened], terms=terms)
    c.corpus_text = passage
    assert checks.check_coverage(c) is None  # 166舰 is named by the sentence before
    # naming no asked event (展出), the dated sentence is judged on its own: it lacks 166舰
    c = case("166舰是哪天向公众展出的？", [opened, docked], terms={"舰": 3.0, "公众": 3.0, "展出": 3.0})
    c.corpus_text = passage + "展出"
    assert checks.check_coverage(c) is not None


def test_words_the_reports_never_use_are_not_held_against_the_sentence_naming_the_asked_event():
    passage = "6月26日，166舰停靠建设码头，开展国防教育展览。6月27日已正式向公众开放，成为城市新名片。"
    chunk = Hit(chunk=Chunk(chunk_id="c166", doc_id="d1", start=0, end=len(passage), text=passage, clean=passage),
                score=1.0, dense=0.5)
    docked, opened = (Evidence(chunk, s, s, 1.0, 0.1, False, (), s) for s in passage.split("。")[:2])
    terms = {"舰": 3.0, "开始": 5.0, "开放": 2.0, "参观": 5.0, "老百姓": 4.0}
    c = case("166舰是哪天开始对老百姓开放参观的？", [docked, opened], terms=terms)
    c.corpus_text = passage  # 开始, 参观 and 老百姓 are words the reports never use
    assert checks.check_coverage(c) is None
    c.corpus_text = passage + "开始参观老百姓"  # words the reports do use count against the sentence, as before
    assert checks.check_coverage(c) is not None


def test_a_sentence_holding_every_question_word_the_reports_use_is_not_refused_for_the_others():
    sentence = "中梁山花博园由九个主题花园组成。"
    terms = {"花博园": 3.0, "主题花园": 3.0, "瞅瞅": 5.0, "溜达": 5.0, "遛弯": 5.0}
    c = case("去中梁山花博园溜达遛弯能瞅瞅几个主题花园？", [ev(sentence, coverage=0.35)], terms=terms)
    c.corpus_text = sentence  # 瞅瞅, 溜达 and 遛弯: words the reports never use
    assert checks.check_coverage(c) is None
    # one word the reports use is not enough, and a word they use that the sentence lacks still counts
    c = case("去花博园溜达遛弯能瞅瞅啥？", [ev(sentence, coverage=0.25)], terms={"花博园": 3.0, "瞅瞅": 5.0, "溜达": 5.0})
    c.corpus_text = sentence
    assert checks.check_coverage(c) is not None
    c = case("去中梁山花博园溜达能瞅瞅几个主题花园？", [ev(sentence, coverage=0.35)], terms={**terms, "门票": 4.0})
    c.corpus_text = sentence + "门票"
    assert checks.check_coverage(c) is not None


def test_a_question_about_what_the_reports_never_mention_is_refused_however_common_its_words():
    # 下雨, 机场: everyday words in general Chinese, but topics the reports lack; 天气 alone does not carry it
    c = case("明天天气咋样，会不会下雨？", [ev("空气优良天数达308天，无重污染天气发生。", coverage=0.28)],
             terms={"天气": 4.2, "不会": 5.3, "下雨": 5.3})
    c.corpus_text = "空气优良天数达308天，无重污染天气发生。"
    assert checks.check_coverage(c) is not None


def test_asked_part_is_the_nouns_after_the_whole():
    corpus = "行政执法事项 城市管理领域 城市更新 区域 服务业 物流"
    terms = {"行政": 2.0, "执法": 2.0, "事项": 1.0, "城市": 1.0, "管理": 2.0, "领域": 3.0}
    assert checks.asked_part("1026项行政执法事项中，城市管理领域有多少项？", terms, corpus) == ["城市", "管理"]
    # the kind of answer asked for, and examples in brackets, are not the part
    assert checks.asked_part("城市更新里说的改造具体指哪四类区域？", {"城市更新": 2.0, "区域": 1.0}, corpus) == []
    assert checks.asked_part("经济增长里头，服务业（开店、物流这些）出了好大力？", {"服务业": 2.0, "物流": 2.0},
                             corpus) == ["服务业"]
    assert checks.asked_part("行政执法事项有多少项？", terms, corpus) == []  # no whole named: no part


def part_case(*matches: FigureMatch) -> Case:
    """A question about one field (城市管理) of 1026 law-enforcement matters, with the given figures."""
    c = case("1026项行政执法事项中，城市管理领域有多少项？", matches=list(matches),
             terms={"执法": 2.0, "事项": 1.0, "城市": 3.0})
    c.corpus_text = "行政执法事项 城市管理领域"
    return c


def test_part_of_a_whole_needs_a_sentence_naming_the_part():
    whole = match("1026项行政执法事项划入统一实施。", unit="项", value=1026)
    refusal = checks.check_part(part_case(whole))
    assert refusal is not None and refusal.missing == "城市"
    part = match("其中城市管理领域事项300项。", unit="项", value=300)
    c = part_case(whole, part)
    assert checks.check_part(c) is None and c.matches == [part]


def test_a_part_named_past_a_seam_is_named_by_the_figures_clause():
    # 其中已划入300项 | 城市管理领域事项，…: a column seam cuts the sentence; the clause names the part past it
    whole = match("1026项行政执法事项划入统一实施。", unit="项", value=1026)
    cut = "其中已划入300项"
    part = match(cut, unit="项", value=300)
    part = replace(part, evidence=replace(part.evidence, reach=cut + "城市管理领域事项，由区城市管理局实施。"))
    c = part_case(whole, part)
    assert checks.check_part(c) is None and c.matches == [part]


def test_a_part_is_asked_only_of_a_whole_the_quoted_passage_names():
    assert checks.whole_named("1026项行政执法事项中，城市管理领域有多少项？") == ["行政", "事项"]  # (执法 is a verb)
    assert checks.whole_named("材料中，城市管理领域有多少项？") == ["材料"]
    # 材料中 cites the source: the passage never names a whole 材料, so what follows 中 is what is asked, not a
    # part of it
    whole = match("1026项行政执法事项划入统一实施。", unit="项", value=1026)
    c = case("材料中，城市管理领域有多少项？", matches=[whole], terms={"城市": 3.0, "管理": 2.0})
    c.corpus_text = "行政执法事项 城市管理领域 材料"
    assert checks.check_part(c) is None and c.matches == [whole]


def test_a_part_listed_beside_the_wholes_figure_does_not_take_the_figure():
    # the part is named in the sentence, but the figure's own clause is about the whole
    c = part_case(match("1026项行政执法事项划入统一实施，涉及城市管理、市场监管等领域。", unit="项", value=1026))
    refusal = checks.check_part(c)
    assert refusal is not None and refusal.missing == "城市" and c.matches == []


def test_a_part_singled_out_by_focus_words():
    corpus = "民主村片区 城市更新 项目 外贸进出口总额 出口"
    terms = {"民主村": 2.0, "片区": 2.0, "城市更新": 2.0, "项目": 1.0, "出口": 3.0}
    assert checks.focused_part("民主村片区的城市更新项目单独投了多少钱？", terms, corpus) == \
        ["民主村", "片区", "城市更新", "项目"]
    assert checks.focused_part("一季度九龙坡光是出口就有多少亿？", terms, corpus) == ["出口"]
    assert checks.focused_part("一季度光要出口那块的数字", terms, corpus) == ["出口"]
    assert checks.focused_part("城市更新项目里，光民主村那一片就投了多少钱？", terms, corpus) == ["民主村"]
    # 光 without its 就, and 自己 (oneself), single nothing out
    assert checks.focused_part("哪些片区的居民能沾到光？", terms, corpus) == []
    assert checks.focused_part("居民自己编的那首歌叫啥？", terms, corpus) == []


def test_a_singled_out_part_is_not_found_inside_a_longer_word():
    question = "一季度九龙坡光是出口就有多少亿元？"
    trade = match("实现外贸进出口总额31.0亿元、增长13.2%。", value=31.0)
    trade = FigureMatch(replace(trade.figure, text="31.0亿元"), trade.evidence, trade.score)
    c = case(question, matches=[trade], terms={"出口": 3.0})
    c.corpus_text = "外贸进出口总额 出口"
    refusal = checks.check_part(c)
    assert refusal is not None and refusal.missing == "出口的单项数据" and c.matches == []
    export = match("其中出口额20.0亿元。", value=20.0)
    export = FigureMatch(replace(export.figure, text="20.0亿元"), export.evidence, export.score)
    c = case(question, matches=[trade, export], terms={"出口": 3.0})
    c.corpus_text = "外贸进出口总额 出口"
    assert checks.check_part(c) is None and c.matches == [export]


def test_a_figure_the_question_gives_is_the_whole_not_the_answer():
    whole = match("十三五期间新增城镇就业27万人。", unit="万人", value=27)
    question = "“十三五”新增的27万城镇就业里头，高校毕业生有多少人？"
    c = case(question, matches=[whole], terms={"就业": 2.0, "高校": 5.0})
    refusal = checks.check_given_figure(c)
    assert refusal is not None and c.matches == [] and "27万人" in refusal.reason
    part = match("其中高校毕业生3万人。", unit="万人", value=3)
    c = case(question, matches=[whole, part], terms={"就业": 2.0, "高校": 5.0})
    assert checks.check_given_figure(c) is None and c.matches == [part]
    # a figure the question does not give, and figures given to be compared, are left alone
    assert checks.check_given_figure(case("十三五期间新增城镇就业多少人？", matches=[whole])) is None
    c = case("新增城镇就业从27万人到30万人，多了多少？", matches=[whole])
    assert checks.check_given_figure(c) is None and c.matches == [whole]


def test_another_statement_of_the_given_whole_is_no_answer_either():
    def parks(sentence: str, value: float) -> FigureMatch:
        m = match(sentence, unit="个", value=value)
        return FigureMatch(replace(m.figure, metric="公园游园"), m.evidence, m.score)

    given = parks("全区公园游园达到158个。", 158)
    older = parks("累计建设公园游园超过150个。", 150)
    c = case("全区158个公园游园里面，社区公园有几个？", matches=[older, given], terms={"公园": 2.0, "社区": 3.0})
    refusal = checks.check_given_figure(c)
    assert refusal is not None and c.matches == [] and "问题里已有的158个" in refusal.reason
    # a figure beside the given one in its own sentence is what a from-to question asks for
    rate = "次支道路公交覆盖率由52%提升至100%。"
    before, after = (match(rate, unit="%", value=v) for v in (52, 100))
    before, after = (FigureMatch(replace(m.figure, metric="次支道路公交覆盖率"), m.evidence, m.score)
                     for m in (before, after))
    c = case("次支道路公交覆盖率由多少提升至100%？", matches=[after, before], terms={"公交": 3.0})
    assert checks.check_given_figure(c) is None and c.matches == [before]


def test_the_part_asked_of_a_given_whole_is_what_follows_its_marker():
    terms = dict.fromkeys(["体育场地", "篮球场", "规上工业", "企业", "汽摩", "外贸", "出口额", "服务中心", "公交"], 1.0)
    assert checks.part_of_given("全区3605个体育场地里，篮球场占了多少个？", terms) == ["篮球场"]
    # the part's word shared with the whole (企业) is the whole's
    assert checks.part_of_given("447家规上工业企业里汽摩企业有多少家？", terms) == ["汽摩"]
    assert checks.part_of_given("一季度外贸31亿元，其中出口额是多少？", terms) == ["出口额"]
    # 中 inside a longer word marks nothing; nor does a marker in a later clause, nor a question without a figure
    assert checks.part_of_given("166个服务中心，村里头的有几个？", terms) == []
    assert checks.part_of_given("次支道路公交覆盖率由多少提升至100%？", terms) == []
    assert checks.part_of_given("体育场地里篮球场有多少个？", terms) == []


def test_a_figure_beside_the_given_whole_answers_only_if_it_is_of_the_part():
    def counted(sentence: str, value: float, metric: str) -> FigureMatch:
        m = match(sentence, unit="个", value=value)
        return FigureMatch(replace(m.figure, metric=metric), m.evidence, m.score)

    sentence = "全区体育场地3605个、体育协会26个。"
    whole, beside = counted(sentence, 3605, "全区体育场地"), counted(sentence, 26, "体育协会")
    question = "全区3605个体育场地里，篮球场占了多少个？"
    terms = {"体育场地": 3.0, "篮球场": 4.0}
    c = case(question, matches=[whole, beside], terms=terms)
    refusal = checks.check_given_figure(c)
    assert refusal is not None and c.matches == [] and "3605个" in refusal.reason
    courts = counted("其中篮球场120个。", 120, "篮球场")
    c = case(question, matches=[whole, beside, courts], terms=terms)
    assert checks.check_given_figure(c) is None and c.matches == [courts]
    # without a whole of the reports' own, the other figure is left to the later checks
    c = case(question, matches=[beside], terms=terms)
    assert checks.check_given_figure(c) is None and c.matches == [beside]


def test_a_figure_the_question_states_otherwise_than_the_sentence_is_a_false_premise():
    sentence = "九龙坡区成功入选国家首批21个城市更新试点城市。"
    told = ev(sentence, figures=(Figure(value=21, unit="个", text="21个", doc_id="d1", sentence=sentence),))
    terms = {"城市更新": 2.0, "试点": 2.0}
    refusal = checks.check_stated_figure(case("九龙坡入选国家首批100个城市更新试点城市是哪一年？", [told], terms=terms))
    assert refusal is not None and refusal.missing == "100个" and "21个" in refusal.reason
    assert checks.check_stated_figure(case("九龙坡入选国家首批21个城市更新试点城市是哪一年？", [told], terms=terms)) is None
    # …nor when another of the best sentences states it
    other = "九龙坡区成功入选国家首批100个城市更新试点城市。"
    agrees = ev(other, figures=(Figure(value=100, unit="个", text="100个", doc_id="d1", sentence=other),))
    c = case("九龙坡入选国家首批100个城市更新试点城市是哪一年？", [told, agrees], terms=terms)
    assert checks.check_stated_figure(c) is None
    # a figure in another unit is not contradicted, and a list question's number says how many names it asks for
    assert checks.check_stated_figure(case("投了100亿元的城市更新试点是哪一年入选的？", [told], terms=terms)) is None
    assert checks.check_stated_figure(case("首批100个试点城市都有哪些？", [told], terms=terms)) is None


def test_dense_english_threshold():
    low, high = WEIGHTS.min_dense_english - 0.01, WEIGHTS.min_dense_english
    assert checks.check_dense_english(case("What is it?", [ev("某句。", dense=low)], terms={"it": 1.0})) is not None
    assert checks.check_dense_english(case("What is it?", [ev("某句。", dense=high)], terms={"it": 1.0})) is None
    assert checks.english_only(case("What is it?", terms={"it": 1.0}))
    assert not checks.english_only(case("What is the GDP?", terms={"地区生产总值": 1.0}))


def test_coverage_thresholds_plain_and_inside_a_strong_window():
    below = WEIGHTS.min_coverage - 0.01
    assert checks.check_coverage(case("跳磴河治理怎么样？", [ev("某句。", coverage=below)])) is not None
    assert checks.check_coverage(case("跳磴河治理怎么样？", [ev("某句。", coverage=WEIGHTS.min_coverage)])) is None
    window = ev("某句。", coverage=WEIGHTS.min_window_coverage, in_window=True)
    assert checks.check_coverage(case("跳磴河治理怎么样？", [window])) is None


def test_missing_is_the_heaviest_term_absent_from_the_top_passages():
    c = case("跳磴河门票多少钱？", [ev("跳磴河综合整治。")], terms={"跳磴河": 2.0, "门票": 5.0, "钱包": 1.0})
    assert c.missing == "门票"


class _Snapshot:
    """Just what judge_support reads of a snapshot."""

    class speller:
        corpus_text = CORPUS_TEXT

    documents: ClassVar[dict[str, object]] = {}
    meta: ClassVar[dict[str, object]] = {"model": "test"}


def test_judge_support_runs_the_checks_in_order_and_gives_one_reason(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(checks, "load_model", lambda embedding: None)  # the named checks alone
    question = "2020年九龙坡的地区生产总值是多少？"
    intent = detect_intent(question)
    evidence = [ev("2020年全区地区生产总值突破1500亿元。")]
    found = judge_support(_Snapshot(), question, intent, {"地区生产总值": 5.0}, [evidence[0].hit], evidence,  # type: ignore[arg-type]
                          [match(evidence[0].sentence)])
    assert found.found and found.reasons == ()
    refused = judge_support(_Snapshot(), question, intent, {"地区生产总值": 5.0}, [evidence[0].hit], evidence, [])  # type: ignore[arg-type]
    assert not refused.found and refused.reasons == ("段落中没有单位、年份都相符的数据",)
    nothing = judge_support(_Snapshot(), question, intent, {}, [], [], [])  # type: ignore[arg-type]
    assert not nothing.found and nothing.reasons == ("没有检索到段落",)


ANSWER_PACKAGE = Path(checks.__file__).parent
NEUTRAL = {int: (0, 1, 2), float: (0.0, 1.0)}  # counting and indexing; no evidence, full coverage


def numeric_literals(source: str) -> list[tuple[int, float]]:
    """Line and value of every number in ``source`` other than the neutral ones."""
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and type(node.value) in NEUTRAL
            and node.value not in NEUTRAL[type(node.value)]]


@pytest.mark.parametrize("path", sorted(p for p in ANSWER_PACKAGE.glob("*.py") if p.name != "weights.py"),
                         ids=lambda p: p.name)
def test_no_numeric_weight_outside_the_weights_module(path: Path):
    """Every number that weighs or bounds something lives in qa/answer/weights.py."""
    found = numeric_literals(path.read_text(encoding="utf-8"))
    assert found == [], f"{path.name}: numeric literals {found} belong in qa.answer.weights"


def test_the_literal_guard_can_fail():
    assert sorted(numeric_literals("score = 0.6 * coverage + 1 - 2.0\nlimit = items[:8]")) == [(1, 0.6), (1, 2.0), (2, 8)]


# -- the calibrated decision ------------------------------------------------------------------------------
def test_rarity_reads_general_chinese_frequencies():
    assert decision.rarity("觉得") < WEIGHTS.rare_word < decision.rarity("远程会诊")
    assert decision.rarity("一个从来没有人写过的词") == 1.0


def test_lacking_finds_the_question_words_a_sentence_does_not_hold():
    assert decision.lacking("氢能产业实现营业收入10.6亿元。", {"氢能": 1.0, "利润": 1.0}) == ["利润"]


def test_features_describe_what_the_quoted_sentence_lacks():
    sentence = "2023年，全区氢能产业实现营业收入10.6亿元。"
    intent = detect_intent("2023年全国氢能产业实现利润多少亿元？")
    terms = {"氢能": 2.0, "利润": 3.0}
    found = match(sentence, value=10.6)
    values = decision.features(intent, terms, [found.evidence.hit], [found.evidence], [found],
                               corpus_text="氢能 营业收入", dense=0.8)
    assert list(values) == list(decision.FEATURES)
    assert values["missing_weight"] == pytest.approx(3.0 / 5.0)
    assert values["missing_known"] == 0.0 and values["missing_rare"] > 0.0  # 利润 is nowhere in the reports
    assert values["scope_missing"] == 1.0 and values["is_quantity"] == 1.0 and values["dense"] == 0.8
    whole = decision.features(detect_intent("2023年氢能产业营业收入多少亿元？"), {"氢能": 2.0, "营业收入": 3.0},
                              [found.evidence.hit], [found.evidence], [found], corpus_text="氢能 营业收入", dense=0.8)
    assert whole["missing_weight"] == 0.0 and whole["scope_missing"] == 0.0


def _model(threshold: float) -> decision.DecisionModel:
    names = decision.FEATURES
    return decision.DecisionModel(coefficients={n: (-2.0 if n == "missing_weight" else 0.0) for n in names},
                                  intercept=0.0, threshold=threshold, means={n: 0.0 for n in names},
                                  scales={n: 1.0 for n in names})


def test_model_probability_falls_as_the_sentence_lacks_more():
    model = _model(0.5)
    values = dict.fromkeys(decision.FEATURES, 0.0)
    assert model.probability(values) == pytest.approx(0.5)
    assert model.probability({**values, "missing_weight": 1.0}) < model.probability(values)


def test_the_model_refuses_below_its_threshold_and_names_what_is_lacking(monkeypatch: pytest.MonkeyPatch):
    question = "2023年九龙坡氢能产业利润是多少亿元？"
    intent = detect_intent(question)
    evidence = [ev("2023年，全区氢能产业实现营业收入10.6亿元。")]
    terms = {"氢能": 2.0, "利润": 3.0}
    args = (_Snapshot(), question, intent, terms, [evidence[0].hit], evidence, [match(evidence[0].sentence, value=10.6)])
    monkeypatch.setattr(checks, "load_model", lambda embedding: _model(0.45))
    refused = judge_support(*args)  # type: ignore[arg-type]
    assert not refused.found and refused.missing == "利润" and "利润" in refused.reasons[0]
    assert refused.probability is not None and refused.probability < 0.45
    monkeypatch.setattr(checks, "load_model", lambda embedding: _model(0.1))
    assert judge_support(*args).found  # type: ignore[arg-type]


def test_the_shipped_model_is_fitted_for_the_current_features_and_the_default_embedding_model():
    from qa.config import Settings

    model = decision.load_model(Settings().model)
    assert model is not None and list(model.coefficients) == list(decision.FEATURES)
    assert 0.0 < model.threshold < 1.0
    assert decision.load_model("hash") is None  # dense scores of another model: the checks decide alone


def test_rank_claims_carry_their_scope():
    assert checks.rank_claims("市场主体总量超过20万户、居全市第一") == {("市", 1): "全市第一"}
    assert checks.rank_claims("九龙坡区市场主体总量位居全国第一的原因是什么？") == {("国", 1): "全国第一"}
    assert ("成渝", 3) in checks.rank_claims("全区经济总量在成渝地区双城经济圈中位列第三")
    assert checks.rank_claims("166舰是我国自行研发建造的第一代051型驱逐舰") == {}  # no scope: not a rank
    # a scope is read with the first rank after it: the second place compared with claims no scope of its own
    assert checks.rank_claims("地区生产总值是全市第一，比第二名多出多少亿？") == {("市", 1): "全市第一"}
    assert checks.rank_claims("全市第一、全国第二") == {("市", 1): "全市第一", ("国", 2): "全国第二"}


def test_a_false_premise_is_refused_with_the_reports_version():
    stated = ev("市场主体总量超过20万户、居全市第一。")
    refusal = checks.check_premise(case("九龙坡市场主体总量位居全国第一，有多少户？", [stated]))
    assert refusal is not None and refusal.missing == "全国第一" and "全市第一" in refusal.reason
    assert checks.check_premise(case("九龙坡市场主体总量在全市排第一吗？", [stated])) is None
    assert checks.check_premise(case("九龙坡市场主体总量有多少户？", [stated])) is None  # no claim asked
    second = ev("2020年地区生产总值突破1500亿元大关、居全市第二。")
    refusal = checks.check_premise(case("地区生产总值是全市第一，比第二名多出多少亿？", [second]))
    assert refusal is not None and refusal.missing == "全市第一"


def test_a_figure_whose_sentence_names_the_asked_measure_only_after_it_is_of_something_else():
    sentence = "去年，西南铝汽车铝材新增订单同比增长40%，销量同比增长131%，公司利润实现大幅增长。"
    figures = [Figure(value=v, unit="%", text=f"{v:g}%", doc_id="d1", sentence=sentence) for v in (40, 131)]
    said = ev(sentence)
    matches = [FigureMatch(f, said, 0.9) for f in figures]
    c = case("西南铝去年的利润比前年涨了百分之多少？", [said], matches, terms={"西南铝": 2.0, "利润": 4.0})
    c.corpus_text = CORPUS_TEXT + " 利润 销量"
    refusal = checks.check_measure_said_first(c)
    assert refusal is not None and refusal.missing == "利润的数据" and c.matches == []
    # the measure said before its figure answers
    c = case("西南铝去年的销量比前年涨了百分之多少？", [said], list(matches), terms={"西南铝": 2.0, "销量": 4.0})
    c.corpus_text = CORPUS_TEXT + " 利润 销量"
    assert checks.check_measure_said_first(c) is None and len(c.matches) == 2


def test_the_measure_of_a_move_is_the_subject_of_its_verb():
    assert checks.measured_noun("西南铝去年汽车铝材的利润具体涨了百分之多少？") == "利润"
    assert checks.measured_noun("利润增长了多少亿元？") == "利润"  # a unit says only how it is measured
    assert checks.measured_noun("九龙坡GDP比上年增长了多少") == "gdp"
    assert checks.measured_noun("西南铝汽车铝材去年利润同比增长了百分之多少？") == "利润"  # 同比, 环比: when, not what
    assert checks.measured_noun("九龙坡规上工业增加值环比增长了多少") == "增加值"
    # what follows the question word is what is counted, and another verb's subject is no measure
    assert checks.measured_noun("中梁山景区要砸多少钱") == ""
    assert checks.measured_noun("民主村片区那一块投了多少？") == ""


def test_a_figure_said_to_move_the_other_way_than_the_reports_say_is_a_false_premise():
    grew = ev("实现外贸进出口总额31.0亿元、增长13.2%，启动171万平方米老旧小区改造。")
    refusal = checks.check_direction(case("2021年一季度外贸进出口下降了13.2%，是什么原因？", [grew]))
    assert refusal is not None and refusal.missing == "下降了13.2%" and "增长13.2%" in refusal.reason
    assert checks.check_direction(case("外贸进出口增长了13.2%，总额是多少？", [grew])) is None
    assert checks.check_direction(case("外贸进出口总额31.0亿元，增长了多少？", [grew])) is None  # no move stated
    # another figure, or one whose move the reports do not say, is no contradiction
    assert checks.check_direction(case("外贸进出口下降了5%，是什么原因？", [grew])) is None
    assert checks.check_direction(case("进出口总额减少到31.0亿元了吗？", [grew])) is None
    # a change from one figure to another: the first moved the way the second did, and 增加值 is a measure
    share = ev("战略性新兴产业增加值占规上工业增加值比重由15.7%提升至32%左右。")
    refusal = checks.check_direction(case("比重从32%掉到15.7%，为什么会降这么多？", [share]))
    assert refusal is not None and refusal.missing == "掉到15.7%" and "由15.7%提升至32%" in refusal.reason
    assert checks.check_direction(case("比重从15.7%提升到32%用了几年？", [share])) is None
    level = ev("规上工业增加值100亿元。")
    assert checks.check_direction(case("规上工业增加值下降了100亿元吗？", [level])) is None
    # only which way it moved, without a figure: every figure of the quoted sentence moved the other way
    revenue = ev("2023年，全区氢能产业实现营业收入10.6亿元，同比增速32.5%。")
    refusal = checks.check_direction(case("氢能产业2023年营收降了多少？", [revenue]))
    assert refusal is not None and refusal.missing == "降" and "增速32.5%" in refusal.reason
    assert checks.check_direction(case("氢能产业2023年营收涨了多少？", [revenue])) is None
    assert checks.check_direction(case("营收是涨了还是降了？", [revenue])) is None  # both ways asked
    cleared = ev("拆除违章建筑60余万平方米，新增绿化面积50余万平方米。")
    assert checks.check_direction(case("中梁山一共拆掉了多大面积？", [cleared])) is None  # 掉 of 拆掉 is no fall


def test_a_false_rank_is_read_against_the_clause_of_the_same_measure_in_a_later_sentence():
    unranked = ev("在卫生方面，全区医疗机构床位数近8700张。")
    both = ev("2020年地区生产总值突破1500亿元大关、居全市第二；市场主体总量超过20万户、居全市第一。")
    terms = {"地区生产总值": 4.0, "全市": 1.6, "区": 1.9}
    refusal = checks.check_premise(case("九龙坡地区生产总值全市第一，排第二的是哪个区？", [unranked, both], terms=terms))
    assert refusal is not None and refusal.missing == "全市第一" and "全市第二" in refusal.reason
    terms = {"市场主体": 4.0, "全市": 1.6}
    assert checks.check_premise(case("九龙坡市场主体总量全市第一，有多少户？", [unranked, both], terms=terms)) is None


def test_a_quarters_figure_without_a_year_is_for_the_reports_own_year():
    quarter = Figure(63, "天", "63天", period="一季度", sentence="空气优良天数达63天")
    whole = Figure(308, "天", "308天", sentence="空气质量优良天数308天")
    plan = Figure(27, "万人", "27万人", period="十三五", sentence="新增城镇就业27万人")
    assert figure_years(quarter, 2021) == {2021}  # a 2021 report's first quarter is 2021's
    assert figure_years(whole, 2021) == {2021, 2020}  # a whole year may be the one just over
    assert figure_years(plan, 2021) == {2021, 2020}
    assert figure_years(Figure(1, "个", "1个", period="2016-2020", sentence="x"), 2021) == {2021, 2020}
    assert figure_years(Figure(63, "天", "63天", year=2019, period="一季度", sentence="x"), 2021) == {2019}


def test_a_measure_the_question_qualifies_otherwise_than_the_report_is_another_measure():
    conflict = checks.qualifier_conflict
    assert conflict("九龙坡城镇居民人均可支配收入是多少？", "全体居民人均可支配收入") == "城镇"
    assert conflict("九龙坡区城镇常住居民人均可支配收入是多少？", "全体居民人均可支配收入") == "城镇"  # 常住: a verb
    assert conflict("九龙坡全体居民人均可支配收入是多少？", "全体居民人均可支配收入") is None  # the same qualifier
    assert conflict("九龙坡居民人均可支配收入是多少？", "全体居民人均可支配收入") is None  # only the district's name
    assert conflict("九龙坡人均公园绿地面积是多少？", "人均公园绿地面积") is None  # the whole metric asked
    assert conflict("“九龙坡云医院”累计为辖区居民提供服务多少人次？", "云医院已为辖区居民提供") is None  # a quote mark
    assert conflict("九龙坡的总产能有多少？", "西彭园区铝加工产业年总产能") is None  # too little in common
    # a qualifier and a head noun in one word (城镇 + 居民), however the rest of the measure is worded
    assert conflict("九龙坡城镇居民一年人均可支配收入有多少？", "全体居民人均可支配收入") == "城镇"
    assert conflict("农村居民人均收入多少", "全体居民人均可支配收入") == "农村"
    # a verb's compounds qualify nothing (城市更新: 更新 is done, 引进外资: 外资 is brought in)
    assert conflict("城市更新计划逐步实施的更新区域面积约多少公顷？", "逐步实施更新区域面积") is None
    assert conflict("九龙坡引进外资用外资的速度在重庆排第几？", "实际使用外资增速") is None


def test_one_side_of_a_measure_named_by_both_is_another_measure():
    conflict = checks.qualifier_conflict
    # 进出口 joins 进口 and 出口 over one object: either side alone is not what the figure measures
    assert conflict("一季度外贸出口额是多少？", "外贸进出口总额") == "出口"
    assert conflict("九龙坡一季度外贸里光出口一项是多少钱？", "外贸进出口总额") == "出口"
    assert conflict("一季度进口了多少亿元的货？", "外贸进出口总额") == "进口"
    assert conflict("一季度外贸进出口总额是多少？", "外贸进出口总额") is None  # the whole asked for
    assert conflict("一季度外贸总额是多少？", "外贸进出口总额") is None  # neither side named
    # 总 qualifies 产值 in 总产值 (总 and 产 are no pair), though 总值 is a word too
    assert checks.one_side("工业产值有多少？", "规上工业总产值") is None
    assert checks.one_side("总值有多少？", "规上工业总产值") is None


def test_the_qualifier_check_keeps_the_figures_it_can_and_names_what_the_reports_do_not_give():
    question = "九龙坡城镇居民人均可支配收入是多少？"
    whole = match("全体居民人均可支配收入达4.5万元。", value=4.5, unit="万元")
    whole = FigureMatch(replace(whole.figure, metric="全体居民人均可支配收入"), whole.evidence, whole.score)
    town = match("城镇居民人均可支配收入达5万元。", value=5, unit="万元")
    town = FigureMatch(replace(town.figure, metric="城镇居民人均可支配收入"), town.evidence, town.score)
    c = case(question, matches=[whole, town])
    assert checks.check_qualifier(c) is None and c.matches == [town]
    c = case(question, matches=[whole])
    refusal = checks.check_qualifier(c)
    assert refusal is not None and refusal.missing == "城镇" and "全体居民人均可支配收入" in refusal.reason


def test_a_figure_is_not_about_what_only_its_neighbours_measure():
    sentence = "规上工业增加值增长37.4%，实现外贸进出口总额31.0亿元、增长13.2%。"
    growth = Figure(value=37.4, unit="%", text="37.4%", doc_id="d1", start=7, sentence=sentence, metric="规上工业增加值增长")
    trade = Figure(value=31.0, unit="亿元", text="31.0亿元", doc_id="d1", start=20, sentence=sentence,
                   metric="外贸进出口总额")
    evidence = ev(sentence, figures=(growth, trade))
    c = case("九龙坡数字经济增加值一年是多少亿元？", matches=[FigureMatch(trade, evidence, 0.9)],
             terms={"数字": 1.5, "经济": 1.1, "增加值": 2.7})
    refusal = checks.check_figure_subject(c)
    assert refusal is not None and refusal.missing == "增加值的这项数据" and "外贸进出口总额" in refusal.reason
    # the question's words in the figure's own clause or metric: it is about them
    c = case("九龙坡外贸进出口总额是多少亿元？", matches=[FigureMatch(trade, evidence, 0.9)],
             terms={"外贸": 2.0, "进出口": 2.0, "总额": 1.0})
    assert checks.check_figure_subject(c) is None and len(c.matches) == 1
    # the question's words elsewhere in the sentence, not measured by another figure (跳磴河 beside 14.15公里 of it)
    sentence = "累计投入16.5亿元，对境内14.15公里跳磴河进行治理。"
    spent = Figure(value=16.5, unit="亿元", text="16.5亿元", doc_id="d1", start=4, sentence=sentence, metric="投入")
    length = Figure(value=14.15, unit="公里", text="14.15公里", doc_id="d1", start=13, sentence=sentence, metric="对境内")
    c = case("跳磴河治理一共花了多少钱？", matches=[FigureMatch(spent, ev(sentence, figures=(spent, length)), 0.9)],
             terms={"跳磴河": 3.0, "治理": 1.5})
    assert checks.check_figure_subject(c) is None and len(c.matches) == 1


def test_a_measured_compound_is_held_with_a_term_inside_it_in_another_form():
    from qa.answer.evidence import holds

    sentence = "战略性新兴产业增加值占规模以上工业增加值比重达到33%。"
    assert holds(sentence, "规上工业增加值比重")  # 规上工业 and 规模以上工业 are one term
    assert holds(sentence, "工业增加值比重")
    assert not holds(sentence, "服务业增加值比重")


def test_a_heading_standing_alone_ranks_below_a_sentence_that_tells_about_its_topic():
    from types import SimpleNamespace

    from qa.answer.evidence import rank_evidence

    passage = "围绕“三高三宜”愿景\n一、在2035年内实现“三高三宜”愿景，即发展高新技术产业、推进高质量城市管理。"
    snapshot = SimpleNamespace(store=SimpleNamespace(figures=lambda **_: []), documents={})
    ranked = rank_evidence(snapshot, [hit(passage)], {"三高三宜": 3.0, "愿景": 1.0}, detect_intent("“三高三宜”是指什么？"))
    assert ranked[0].sentence.startswith("一、在2035年") and ranked[1].sentence == "围绕“三高三宜”愿景"
    assert ranked[0].coverage == ranked[1].coverage == 1.0
    # the heading's penalty, and the sentence says what 三高三宜 stands for (…愿景，即…)
    assert ranked[0].score - ranked[1].score == pytest.approx(WEIGHTS.heading_penalty + WEIGHTS.explains_bonus)


def test_a_report_whose_title_names_a_plan_period_speaks_of_it_in_every_sentence():
    from types import SimpleNamespace

    from qa.answer.evidence import rank_evidence

    sentence = "全区GDP迈上2000亿元台阶，成为全市第二个“两千亿元”经济大区。"
    terms = {"gdp": 2.0, "十四五": 2.0, "台阶": 3.0}
    intent = detect_intent("到十四五时期GDP迈上了哪个台阶？")

    def ranked(title: str) -> float:
        snapshot = SimpleNamespace(store=SimpleNamespace(figures=lambda **_: []),
                                   documents={"d1": SimpleNamespace(title=title)})
        return rank_evidence(snapshot, [hit(sentence)], terms, intent)[0].coverage

    assert ranked("九龙坡在奋力谱写中国式现代化重庆篇章中勇挑重担、走在前列（“十四五”回顾）") == 1.0
    assert ranked("九龙坡 阔步迈向高质量发展新征程（“十三五”回顾）") < 1.0  # another period
    assert ranked("产业升级 城市更新 绿色发展") < 1.0


def test_a_qualified_income_the_reports_do_not_give_is_not_found_and_the_whole_is_quoted(hash_service):
    result = hash_service.ask("农村居民人均收入多少")
    assert not result.found and "农村" in result.text and "全体居民人均可支配收入" in result.text


def test_a_figure_about_a_named_thing_comes_from_a_passage_that_names_it():
    question = "博世和庆铃在九龙坡建的氢燃料电池发动机基地，总投资是多少亿？"
    terms = {"博世": 4.0, "庆铃": 4.0, "氢燃料电池": 3.0, "发动机": 2.0, "基地": 1.0, "总投资": 2.0}
    other = match("走进产业园，总投资超百亿元的西南铝“1+4”系列项目加快推进。", value=100)
    c = case(question, matches=[other], terms=terms)
    refusal = checks.check_named_subject(c)
    assert refusal is not None and refusal.missing == "博世的这项数据" and c.matches == []
    own = match("博世与庆铃合资建设的氢燃料电池发动机基地，总投资20亿元。", value=20)
    c = case(question, matches=[other, own], terms=terms)
    assert checks.check_named_subject(c) is None and c.matches == [own]
    # a name the passage holds before the figure's sentence counts: the sentence goes on from it
    story = match("跳磴河治理成效明显。沿岸新建步道20公里。", value=20, unit="公里")
    story = FigureMatch(story.figure, replace(story.evidence, sentence="沿岸新建步道20公里。"), story.score)
    c = case("跳磴河沿岸新建了多长的步道？", matches=[story], terms={"跳磴河": 4.0, "步道": 3.0})
    assert checks.check_named_subject(c) is None and c.matches == [story]
    # the refusal names the name no passage holds, not one they hold
    held = match("博世与西南铝合资建设的基地，总投资20亿元。", value=20)
    c = case(question, matches=[held], terms=terms)
    refusal = checks.check_named_subject(c)
    assert refusal is not None and refusal.missing == "庆铃的这项数据"


def test_a_phase_of_a_project_is_a_part_of_it():
    whole = match("一项计划投资398亿元的重大工程——中梁山生态景区正式开建。", value=398)
    c = case("中梁山生态景区一期工程花了多少钱？", matches=[whole], terms={"中梁山": 2.7, "景区": 2.6, "工程": 1.9})
    refusal = checks.check_phase(c)
    assert refusal is not None and refusal.missing == "一期的情况"  # the whole stays, to be quoted as the closest
    phase = match("中梁山生态景区首期工程投资50亿元。", value=50)
    c = case("中梁山生态景区第一期工程投资多少？", matches=[whole, phase])
    assert checks.check_phase(c) is None and c.matches == [phase]
    # how many phases is not which phase, and a plan period is none
    counted = [ev("9个子项目、6年时间、分三期推进。")]
    refusal = checks.check_phase(case("中梁山生态景区分三期推进，第二期都有哪些子项目？", counted))
    assert refusal is not None and refusal.missing == "第二期的情况"
    assert checks.check_phase(case("中梁山生态景区三期工程有哪些子项目？", counted)) is not None
    assert checks.check_phase(case("中梁山生态景区分几期推进？", counted)) is None
    plan = [ev("“十三五”期间累计完成固定资产投资近3500亿元。")]
    assert checks.check_phase(case("十三五期间九龙坡固定资产投资累计多少？", plan, [match(plan[0].sentence, value=3500)])) is None


def test_an_example_of_a_group_is_counted_with_the_others():
    sentence = "商家院子、李家院子等5个传统院落57栋民宿院落完成改造。"
    houses = match(sentence, value=57, unit="栋")
    houses = FigureMatch(replace(houses.figure, text="57栋"), houses.evidence, houses.score)
    terms = {"商家院子": 4.0, "改造": 1.0}
    c = case("商家院子改造了多少栋？", matches=[houses], terms=terms)
    refusal = checks.check_listed_example(c)
    assert refusal is not None and refusal.missing == "商家院子的单项数据"
    # a question that says 等 itself asks about the group
    assert checks.check_listed_example(case("商家院子等院落改造了多少栋？", matches=[houses], terms=terms)) is None
    # a word before the list is no example of it (将惠及渝州路、石桥铺等区域的群众: 惠及 is the verb)
    served = match("将惠及渝州路、石桥铺、杨家坪等区域的群众3万余户。", value=3, unit="万户")
    served = FigureMatch(replace(served.figure, text="3万余户"), served.evidence, served.score)
    c = case("这批项目能惠及多少户群众？", matches=[served], terms={"惠及": 3.0, "群众": 2.0})
    assert checks.check_listed_example(c) is None and c.matches == [served]
    c = case("杨家坪惠及多少户？", matches=[served], terms={"杨家坪": 3.0, "惠及": 3.0})
    assert checks.check_listed_example(c) is not None


def test_a_name_the_reports_coin_must_be_in_the_passage_of_the_figure():
    question = "国鸿氢能科技产业园总投资是多少？"
    terms = {"国鸿氢能科技": 2.9, "产业园": 2.2, "总投资": 3.4}
    other = match("走进产业园，总投资超百亿元的西南铝“1+4”系列项目加快推进。", value=100)
    own = match("国鸿氢能科技产业园总投资50亿元。", value=50)
    with pinned_vocabulary(Vocabulary(curated=False, discovered=["国鸿氢能科技", "覆盖率达"])):
        # plain jieba tags the coined word a noun, yet reads a name in it (鸿)
        assert checks.coined_names(question) == ["国鸿氢能科技"]
        assert checks.coined_names("绿化覆盖率达多少？") == []  # a coined word with no name in it
        c = case(question, matches=[other], terms=terms)
        refusal = checks.check_named_subject(c)
        assert refusal is not None and refusal.missing == "国鸿氢能科技的这项数据"
        c = case(question, matches=[other, own], terms=terms)
        assert checks.check_named_subject(c) is None and c.matches == [own]
    assert checks.coined_names(question) == []  # not a word the reports were found to coin


def test_the_revenue_of_a_company_the_reports_give_no_figure_for_is_not_the_industrys(hash_service):
    result = hash_service.ask("忽米网一年的营业收入有多少？")  # the reports give 氢能产业营业收入10.6亿元 only
    assert not result.found and "10.6亿元" not in result.text.split("资料中最接近的说法是")[0]


def test_a_figure_of_a_wider_area_needs_a_clause_naming_it():
    # the area a figure is asked of, not one the district is ranked or measured against
    assert checks.wider_area("2023年整个重庆的氢能产业营收有多少？") == "整个重庆"
    assert checks.wider_area("重庆全市的市场主体总量有多少万户？") == "重庆全市"
    assert checks.wider_area("九龙坡的GDP在全市排第几？") is None
    assert checks.wider_area("九龙坡工业占全市的比重是多少？") is None
    assert checks.wider_area("外资增速是不是全市倒数第一？") is None
    district_only = match("市场主体总量超过20万户、居全市第一。", value=20, unit="万户")
    c = case("重庆全市的市场主体总量有多少万户？", matches=[district_only], terms={"市场主体": 3.0, "总量": 1.0})
    refusal = checks.check_wider_area(c)
    assert refusal is not None and refusal.missing == "重庆全市的这项数据"
    citywide = match("全市市场主体总量达到330万户。", value=330, unit="万户")
    c = case("重庆全市的市场主体总量有多少万户？", matches=[district_only, citywide], terms={"市场主体": 3.0})
    assert checks.check_wider_area(c) is None and c.matches == [citywide]
    # the district's own figure still answers the district's question
    c = case("九龙坡的市场主体总量有多少万户？", matches=[district_only], terms={"市场主体": 3.0})
    assert checks.check_wider_area(c) is None and c.matches == [district_only]


def test_a_question_asking_for_the_whole_conflicts_with_a_metric_that_counts_a_part():
    assert checks.whole_asked("2020年底全部工业企业（不只是规上的）一共有多少家？", "规上工业企业") == "全部"
    assert checks.whole_asked("全部工业（含规下企业）总产值是多少？", "规上工业总产值") == "全部"  # the aside read past
    assert checks.whole_asked("一共有多少家工业企业？不光是规上的。", "规上工业企业") == "全部"
    assert checks.whole_asked("所有居民人均收入是多少？", "全体居民人均可支配收入") is None  # 全体 is the whole too
    assert checks.whole_asked("全部公园游园有多少个？", "公园游园") is None  # the metric qualifies nothing
    assert checks.whole_asked("规上工业企业有多少家？", "规上工业企业") is None


def test_when_the_best_figure_is_qualified_otherwise_the_sentence_s_other_measures_do_not_answer():
    sentence = "规上工业增加值增长37.4%，实现外贸进出口总额31.0亿元、增长13.2%。"
    growth = Figure(value=37.4, unit="%", text="37.4%", doc_id="d1", start=7, sentence=sentence, metric="规上工业增加值增长")
    trade = Figure(value=13.2, unit="%", text="13.2%", doc_id="d1", start=28, sentence=sentence, metric="外贸进出口总额增长")
    evidence = ev(sentence, figures=(growth, trade))
    c = case("一季度全部工业（不只是规上）增加值增长多少？",
             matches=[FigureMatch(growth, evidence, 0.9), FigureMatch(trade, evidence, 0.8)])
    refusal = checks.check_qualifier(c)
    assert refusal is not None and refusal.missing == "全部" and "规上工业增加值增长" in refusal.reason


def test_a_common_word_jieba_tags_as_a_name_is_no_name_but_a_place_the_reports_never_name_is():
    jobs = match("新增就业27万人，全体居民人均可支配收入达4.4万元。", value=27, unit="万人")
    question = "这几年九龙坡城镇新增了多少个就业岗位？"  # jieba tags 城镇 a place
    c = case(question, matches=[jobs], terms={"城镇": 2.0, "新增": 1.0, "就业": 2.0, "岗位": 2.0})
    c.corpus_text = CORPUS_TEXT + " 城镇"
    assert checks.check_named_subject(c) is None and c.matches == [jobs]
    c = case("成都这几年新增了多少个就业岗位？", matches=[jobs], terms={"成都": 4.0, "就业": 2.0, "岗位": 2.0})
    refusal = checks.check_named_subject(c)
    assert refusal is not None and refusal.missing == "成都的这项数据"
