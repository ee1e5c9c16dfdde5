import re
from types import SimpleNamespace

import pytest

from qa.answer import split_question, verify_numbers
from qa.answer.compose import _select, asks, counted_span, other_reports, plan
from qa.answer.evidence import Evidence, FigureMatch, explains, match_figures, ranking_scopes, same_metric, trim
from qa.answer.intent import detect_intent
from qa.answer.weights import WEIGHTS
from qa.citations import quote_span
from qa.normalize import normalize
from qa.response import answer_to_dict
from qa.types import Chunk, Citation, Figure, Hit


def cite(i, text):
    return Citation(id=i, doc_id="d", title="t", date=None, chunk_id=f"c{i}", start=0, end=len(text), text=text, score=1.0)


def test_verify_numbers_keeps_only_parts_whose_numbers_are_in_their_passage():
    citations = [cite(1, "2020年地区生 产总值突破1500亿元"), cite(2, "空气优良天数达63天")]
    assert verify_numbers("地区生产总值突破1500亿元[1]；优良天数达63天[2]。", citations) == \
        "地区生产总值突破1500亿元[1]；优良天数达63天[2]。"
    assert verify_numbers("地区生产总值突破1600亿元[1]；优良天数达63天[2]。", citations) == "优良天数达63天[2]。"
    assert verify_numbers("优良天数达63天[1]。", citations) == ""  # right number, wrong passage
    assert verify_numbers("优良天数达63天。", citations) == ""  # no citation at all


def test_every_number_in_an_answer_is_in_the_passage_it_cites(hash_service):
    for question in ["九龙坡2020年地区生产总值是多少？", "跳磴河治理累计投入了多少资金？", "一季度空气优良天数是多少？",
                     "西彭园区铝加工年总产能是多少？", "九龙坡有多少个公园游园？"]:
        result = hash_service.ask(question)
        assert result.found, question
        by_id = {c.id: normalize(c.text).text for c in result.citations}
        for part in re.split(r"(?<=\])[；。]", result.text):
            ids = [int(i) for i in re.findall(r"\[(\d+)\]", part)]
            for number in re.findall(r"\d+(?:\.\d+)?", re.sub(r"\[\d+\]", "", part)):
                assert any(number in by_id[i] for i in ids), (question, number, part)


def test_gdp_answer_gives_the_figure_with_citation(hash_service):
    result = hash_service.ask("九龙坡2020年地区生产总值是多少？")
    assert result.found and "突破1500亿元" in result.text
    figure = next(cf for cf in result.figures if cf.figure.unit == "亿元")
    assert figure.figure.value == 1500 and figure.figure.year == 2020 and figure.figure.qualifier == "突破"
    citation = next(c for c in result.citations if c.id == figure.citation)
    assert "1500" in citation.text


@pytest.mark.parametrize("question", ["九龙坡区现任区长是谁？", "渝中区2020年地区生产总值是多少？",
                                      "2019年九龙坡区地区生产总值是多少？", "杨家坪二手房均价多少钱一平米？"])
def test_questions_the_reports_do_not_answer_are_not_found(hash_service, question):
    result = hash_service.ask(question)
    assert not result.found
    assert result.text.startswith("资料中未找到")
    assert result.citations  # the closest passages are still shown


def test_values_that_differ_between_reports_are_shown_side_by_side(hash_service):
    result = hash_service.ask("九龙坡全体居民人均可支配收入是多少？")
    assert result.found
    assert "4.5万元" in result.text and "4.4万元" in result.text
    assert result.text.startswith("不同报告的数字不同")


def test_follow_up_uses_history(hash_service):
    history = [{"question": "九龙坡2020年地区生产总值是多少？", "answer": "突破1500亿元"}]
    result = hash_service.ask("那一季度呢？", history=history)
    assert "一季度" in result.resolved_question and "地区生产总值" in result.resolved_question
    assert "381.0" in result.text


def test_typos_are_repaired_and_noted(hash_service):
    result = hash_service.ask("跳凳河综合整治工程什么时候完工？")
    assert result.found and "2019年1月" in result.text
    assert any("跳磴河" in note for note in result.notes)


def test_answer_dict_matches_the_api_contract(hash_service):
    data = answer_to_dict(hash_service.ask("九龙坡2020年地区生产总值是多少？"))
    assert set(data) >= {"question", "found", "answer", "citations", "figures", "took_ms"}
    ids = {c["id"] for c in data["citations"]}
    assert all(f["citation"] in ids for f in data["figures"])
    assert set(data["citations"][0]) == {"id", "doc_id", "title", "date", "chunk_id", "start", "end", "text", "score",
                                         "quote_start", "quote_end", "page", "page_end", "table", "row", "column"}


def test_a_list_announced_in_one_sentence_is_answered_with_the_items_that_follow(hash_service):
    result = hash_service.ask("九龙坡要加速崛起的两个“千亿工业”是什么？")
    assert result.found
    assert "以“铝”为重点的新材料产业" in result.text
    assert result.text.count("加速崛起两个") == 1 and "\n" not in result.text


def test_follow_up_year_gets_that_years_figure_not_a_namesake(hash_service):
    history = [{"question": "九龙坡2020年地区生产总值是多少？", "answer": "突破1500亿元"}]
    result = hash_service.ask("那2025年呢？", history=history)
    assert result.resolved_question == "九龙坡2025年地区生产总值是多少？"
    assert result.found and "2000亿元" in result.text and "1500" not in result.text


@pytest.mark.parametrize(
    ("question", "parts"),
    [("跳磴河治理累计花了多少钱，治理后水质达到几类？", ["跳磴河治理累计花了多少钱", "治理后水质达到几类？"]),
     ("166舰是什么型号？它要变成什么？", ["166舰是什么型号？", "它要变成什么？"]),
     ("九龙坡全区森林覆盖率和中梁山森林覆盖率各是多少？", ["九龙坡全区森林覆盖率是多少", "中梁山森林覆盖率是多少"]),
     ("长江断面的水质和跳磴河水质，分别达到了几类？", ["长江断面的水质达到了几类", "跳磴河水质达到了几类"]),
     # what stands beside the pair, or before the questions, belongs to each part
     ("2021年一季度和2021年全年，九龙坡空气优良天数分别是多少天？",
      ["2021年一季度九龙坡空气优良天数是多少天", "2021年全年九龙坡空气优良天数是多少天"]),
     ("九龙坡空气优良天数，一季度和全年分别是多少天？", ["九龙坡空气优良天数一季度是多少天", "九龙坡空气优良天数全年是多少天"]),
     # two times side by side: what follows the second is asked of both
     ("2021年一季度与2021年全年九龙坡区空气质量优良天数分别是多少？",
      ["2021年一季度九龙坡区空气质量优良天数是多少", "2021年全年九龙坡区空气质量优良天数是多少"]),
     ("九龙坡空气优良天数，2021年一季度有多少天，全年有多少天？",
      ["九龙坡空气优良天数，2021年一季度有多少天", "九龙坡空气优良天数，全年有多少天？"]),
     # a comma that does not separate two questions is not a split
     ("2020年，九龙坡地区生产总值是多少？", ["2020年，九龙坡地区生产总值是多少？"]),
     ("九龙坡的空气、水质怎么样？", ["九龙坡的空气、水质怎么样？"]),
     # a request for a number adds no topic: it belongs to the question before it
     ("九龙坡的人觉得安全吗？有没有具体的数字？", ["九龙坡的人觉得安全吗？有没有具体的数字？"])],
)
def test_a_sentence_asking_two_things_is_split(question, parts):
    assert split_question(question) == parts


@pytest.mark.parametrize(
    ("piece", "asking"),
    [("还能看到老房子不", True), ("新地址在哪", True), ("汽车生产线和十米锻环都说说", True), ("请写出材料中提到的两个。", True),
     ("那个呢。", True), ("怕白跑一趟", False), ("想去康养一下😌", False), ("不只规上的那种", False), ("我想写篇游记。", False)],
)
def test_a_piece_asks_by_a_question_word_a_closing_particle_or_a_request(piece, asking):
    assert asks(piece) is asking


def test_a_piece_that_asks_nothing_is_not_answered_alone(hash_service):
    result = hash_service.ask("166舰博物馆啥时候闭馆维修？怕白跑一趟")
    assert not result.found and "维修" in result.text
    result = hash_service.ask("九龙坡区规上工业企业有多少家？想写个帖子")  # asked and answered: the aside does no harm
    assert result.found and "447家" in result.text


def test_a_later_part_counts_the_first_parts_subject_where_a_sentence_names_it(hash_service):
    _, _, parts = plan(hash_service.snapshot, "治跳磴河前后花了多少钱？治完水质达到几类？")
    assert "跳磴河" in parts[1].terms and parts[1].terms.context == {"跳磴河"}
    assert "跳磴河" not in parts[0].terms.context  # the first part's own subject counts against a sentence lacking it
    # a later part naming its own subject takes nothing from the first
    _, _, parts = plan(hash_service.snapshot, "跳磴河治理花了多少钱？中梁山生态景区计划投资多少？")
    assert "跳磴河" not in parts[1].terms


def test_a_later_part_that_names_nothing_takes_the_first_parts_nouns_at_part_of_their_weight(hash_service):
    question = "九龙坡战略性新兴产业增加值占规上工业增加值的比重，2020年是多少？到2022年的报道里又达到了多少？"
    first, later = plan(hash_service.snapshot, question)[2]
    for noun in ("战略性新兴产业", "增加值"):
        assert noun in later.terms.context
        assert later.terms[noun] == pytest.approx(WEIGHTS.carried_noun_share * first.terms[noun])
    # what the later part names again in words of its own (人均…面积 after …总面积) is not taken twice
    _, later = plan(hash_service.snapshot, "九龙坡区体育场地总面积有多大？人均体育场地面积是多少？")[2]
    assert "总面积" not in later.terms


def test_a_goal_does_not_answer_a_question_about_what_was_achieved(hash_service):
    # the reports give PM2.5 only as a goal of the plan (年平均浓度低于35微克每立方米)
    result = hash_service.ask("九龙坡现在PM2.5年平均浓度实际是多少？")
    assert not result.found and "35微克" in result.text.split("最接近")[-1]
    result = hash_service.ask("九龙坡PM2.5年平均浓度的目标是多少？")
    assert result.found and "35微克" in result.text
    assert detect_intent("PM2.5年平均浓度实际是多少？").actual
    assert not detect_intent("PM2.5年平均浓度的目标实际是多少？").actual  # asked about the goal itself


def test_a_plan_asked_in_everyday_words_is_answered_by_the_plan(hash_service):
    # 打算, 准备: how people say 计划; the reports give the area to be renewed only as a plan (逐步实施…约2424公顷)
    for question in ("九龙坡城市更新打算更新的区域总共多大面积？", "九龙坡城市更新准备更新的区域一共多大面积？"):
        assert detect_intent(question).target
        result = hash_service.ask(question)
        assert result.found and "2424公顷" in result.text and "233万平方米" not in result.text


def test_a_figure_cut_off_by_a_seam_is_about_what_its_clause_goes_on_to_say():
    # 已完成38公顷 | 废弃矿山的恢复治理: a column seam ends the figure's sentence; its clause goes on past the seam
    cut = "截至目前，已完成38公顷"
    reach = cut + "废弃矿山的恢复治理，绿化提升累计完成近10万亩。"
    other = "加快中梁山矿坑整治等工程建设，新增绿化面积50余万平方米。"
    passage = cut + "\n" + reach[len(cut):] + other

    def evidence(sentence: str, whole: str, fig: Figure) -> Evidence:
        chunk = Chunk(chunk_id="c1", doc_id="d1", start=0, end=len(passage), text=passage, clean=passage)
        return Evidence(Hit(chunk=chunk, score=1.0), sentence, sentence, 1.0, 0.5, False, (fig,), whole)

    hectares = Figure(value=38, unit="公顷", text="38公顷", doc_id="d1", start=passage.find("38"), sentence=cut)
    greened = Figure(value=50, unit="万平方米", text="50余万平方米", doc_id="d1", start=passage.find("50"),
                     sentence=other, metric="新增绿化面积")
    snapshot = SimpleNamespace(documents={"d1": SimpleNamespace(year=2021, text=passage)},
                               speller=SimpleNamespace(corpus_text=passage))
    question = "中梁山的废弃矿山恢复治理了多大面积？"
    terms = {"中梁山": 2.7, "废弃": 4.2, "矿山": 4.2, "恢复": 4.2, "治理": 1.6, "面积": 2.4}
    matches = match_figures(snapshot, [evidence(other, other, greened), evidence(cut, reach, hectares)], terms,
                            detect_intent(question))
    assert matches[0].figure is hectares


def test_the_newest_figure_is_preferred_only_among_figures_in_the_same_unit():
    def match(value: float, unit: str, doc_id: str, score: float) -> FigureMatch:
        sentence = f"某项{value:g}{unit}。"
        chunk = Chunk(chunk_id=f"c{value:g}", doc_id=doc_id, start=0, end=len(sentence), text=sentence, clean=sentence)
        fig = Figure(value=value, unit=unit, text=f"{value:g}{unit}", doc_id=doc_id, sentence=sentence)
        ev = Evidence(Hit(chunk=chunk, score=1.0), sentence, sentence, 1.0, 1.0, False, (fig,), sentence)
        return FigureMatch(fig, ev, score)

    snapshot = SimpleNamespace(documents={"old": SimpleNamespace(date="2021-05-01"),
                                          "new": SimpleNamespace(date="2022-05-01")})
    intent = detect_intent("中梁山现在有多少个护林员？")
    assert intent.latest
    rangers, rivers = match(65, "名", "old", 0.60), match(3, "条", "new", 0.45)
    _, chosen = _select(snapshot, [rangers.evidence, rivers.evidence], [rangers, rivers], intent, {"护林员": 1.0})
    assert chosen[0] is rangers  # a newer report's count of rivers is not a newer count of rangers
    newer = match(70, "名", "new", 0.50)
    _, chosen = _select(snapshot, [rangers.evidence, newer.evidence], [rangers, newer], intent, {"护林员": 1.0})
    assert chosen[0] is newer


def test_the_newest_figure_is_preferred_only_if_it_is_about_the_asked_measure():
    def match(value: float, metric: str, doc_id: str, score: float) -> FigureMatch:
        sentence = f"{metric}达{value:g}%。"
        chunk = Chunk(chunk_id=f"c{value:g}", doc_id=doc_id, start=0, end=len(sentence), text=sentence, clean=sentence)
        fig = Figure(value=value, unit="%", text=f"达{value:g}%", doc_id=doc_id, sentence=sentence, metric=metric)
        ev = Evidence(Hit(chunk=chunk, score=1.0), sentence, sentence, 1.0, 1.0, False, (fig,), sentence)
        return FigureMatch(fig, ev, score)

    snapshot = SimpleNamespace(documents={"old": SimpleNamespace(date="2021-05-01"),
                                          "new": SimpleNamespace(date="2023-05-01")},
                               store=SimpleNamespace(figures_measuring=lambda metric: []))
    intent = detect_intent("数字经济现在占到多大比例？")
    terms = {"数字": 1.5, "经济": 1.1, "占": 2.4, "比例": 4.2}
    digital = match(30, "数字经济增加值占比", "old", 1.2)
    services = match(68, "现代服务业增加值占服务业增加值比重", "new", 0.95)
    _, chosen = _select(snapshot, [digital.evidence, services.evidence], [digital, services], intent, terms)
    assert chosen[0] is digital  # a newer share of services is not a newer share of the digital economy
    newer = match(33, "数字经济增加值所占比重", "new", 0.95)
    _, chosen = _select(snapshot, [digital.evidence, newer.evidence], [digital, newer], intent, terms)
    assert chosen[0] is newer  # the same measure, told by a newer report

    gdp = detect_intent("九龙坡现在GDP到好多了？")
    old, new = match(381, "地区生产总值", "old", 1.2), match(2000, "全区GDP", "new", 1.0)
    _, chosen = _select(snapshot, [old.evidence, new.evidence], [old, new], gdp, {"gdp": 3.0})
    assert chosen[0] is new  # one measure under its two names


def test_a_question_without_a_figure_asked_still_shows_two_reports_that_disagree_on_the_measure_it_names(hash_service):
    for question in ["请汇总各材料中全体居民人均可支配收入的数据。", "全体居民人均可支配收入到底是4.4万还是4.5万？"]:
        result = hash_service.ask(question)
        assert result.intent == "fact"
        assert result.found and "4.4万元" in result.text and "4.5万元" in result.text
        assert result.text.startswith("不同报告的数字不同")
        assert {f.figure.text for f in result.figures} == {"达4.4万元", "达4.5万元"}
    result = hash_service.ask("谢家湾小学得了什么奖？")  # a sentence without a figure of what is asked: as before
    assert result.found and "不同报告" not in result.text and not result.figures


def test_a_when_question_is_not_answered_by_a_sentence_without_a_time(hash_service):
    result = hash_service.ask("中梁山花博园几点开门？")
    assert not result.found
    assert "最相符的句子没有说时间" in result.reasons


@pytest.mark.parametrize("question", ["中梁山生态景区是哪天正式开建的？", "中梁山生态景区是什么时候开建的？"])
def test_a_when_question_quotes_the_clause_that_says_when(hash_service, question):
    # the sentence's date (为守护好这片肺叶，2020年12月20日，一项计划投资398亿元，…正式开建) is clauses away from its event
    result = hash_service.ask(question)
    assert result.found and "2020年12月20日" in result.text and "正式开建" in result.text
    quoted = next(c for c in result.citations if c.quote_start is not None)
    assert "2020年12月20日" in quoted.text[quoted.quote_start - quoted.start : quoted.quote_end - quoted.start]


def test_a_figure_beside_the_asked_measure_does_not_answer_for_it(hash_service):
    # 规上工业增加值增长37.4%，实现外贸进出口总额31.0亿元: the only 亿元 figure there is the trade total
    result = hash_service.ask("九龙坡规上工业增加值一季度是多少亿元？")
    assert not result.found and "31.0亿" not in result.text.split("最接近")[0]


def test_a_part_singled_out_is_not_answered_by_the_whole(hash_service):
    # the reports give 外贸进出口总额 only: 光是出口 asks for the part
    result = hash_service.ask("2021年一季度九龙坡光是出口就有多少亿元？")
    assert not result.found and "出口的单项数据" in result.text and "31.0亿" not in result.text.split("最接近")[0]


def test_a_per_person_figure_does_not_answer_a_question_about_the_total(hash_service):
    result = hash_service.ask("九龙坡公园绿地面积有多大？")
    assert result.found and "1985万平方米" in result.text and "16.77" not in result.text
    result = hash_service.ask("九龙坡人均公园绿地面积是多少？")
    assert result.found and "16.77平方米" in result.text


def test_a_total_does_not_answer_a_question_per_person(hash_service):
    # the reports give the district's GDP, never per person
    result = hash_service.ask("九龙坡人均地区生产总值是多少？")
    assert not result.found and "1500亿元" not in result.text.split("最接近")[0]
    # and they are not said to lack GDP, which they call 地区生产总值: what they lack is 人均
    result = hash_service.ask("九龙坡人均GDP大概是多少？")
    assert not result.found and "“gdp”" not in result.text and "“人均”" in result.text


def test_a_qualifier_the_reports_do_not_give_is_refused_with_what_they_do_give(hash_service):
    result = hash_service.ask("九龙坡城镇居民人均可支配收入是多少？")
    assert not result.found and "城镇" in result.text and "全体居民人均可支配收入" in result.text


def test_a_question_in_everyday_words_is_answered_from_the_reports_terms(hash_service):
    result = hash_service.ask("九龙坡老百姓一年平均收入有多少？")
    assert result.found and "人均可支配收入" in result.text


def test_a_bare_measure_word_names_no_one_measure_across_reports():
    assert same_metric("全体居民人均可支配收入", "全体居民人均可支配收入")
    assert same_metric("城市建成区绿化覆盖率", "建成区绿化覆盖率")
    assert not same_metric("总投资", "总投资")  # two projects' investments, not one figure given twice
    assert not same_metric("投资", "计划投资")


def test_two_projects_investments_are_not_shown_as_reports_that_disagree(hash_service):
    result = hash_service.ask("总投资是多少？")
    assert not result.text.startswith("不同报告的数字不同")


def test_a_quarters_figure_is_not_shown_as_a_different_value_for_the_year(hash_service):
    result = hash_service.ask("九龙坡一年有多少天空气好？")
    assert result.found and "308天" in result.text
    assert "63天" not in result.text and not result.text.startswith("不同报告的数字不同")


def test_a_comparison_of_two_periods_quotes_a_figure_for_each(hash_service):
    result = hash_service.ask("九龙坡全年空气优良天数比一季度多多少天？")
    assert result.found and result.intent == "compare"
    assert "308天" in result.text and "63天" in result.text


def test_a_district_total_does_not_answer_for_one_named_hospital(hash_service):
    # the reports give 全区医疗机构床位数 and mention 九龙坡区人民医院, but never its beds
    assert hash_service.ask("全区医疗机构一共有多少张床位？").found
    result = hash_service.ask("九龙坡区人民医院一共有多少张床位？")
    assert not result.found and "有数据，但不是关于人民医院的" in result.reasons


def test_what_time_of_day_needs_a_clock_time_not_a_date(hash_service):
    result = hash_service.ask("中梁山花卉博览园每天几点开门？")
    assert not result.found and "最相符的句子没有说时间" in result.reasons


def test_two_parts_never_quote_the_same_sentence(hash_service):
    result = hash_service.ask("跳磴河水质达到了几类？跳磴河入选了哪个评选？")
    assert result.found
    sentences = [s for s in re.split(r"\[\d+\][；。]", result.text) if s]
    assert sentences and len(sentences) == len(set(sentences))
    assert "Ⅳ类" in result.text and "最美河湖" in result.text


def test_a_count_of_other_things_does_not_answer_for_a_kind_the_reports_name(hash_service):
    # the reports name 高新技术企业 (without a number) and count other firms (软件和信息技术服务企业200多家)
    result = hash_service.ask("九龙坡的高新技术企业有多少家？")
    assert not result.found and "资料提到高新技术企业，但没有给出这项数据" in result.reasons


def test_a_comparison_of_two_years_quotes_each_years_figure(hash_service):
    result = hash_service.ask("九龙坡2020年和2025年的GDP相比如何？")
    assert result.found and "1500亿元" in result.text and "2000亿元" in result.text


@pytest.mark.parametrize(
    ("text", "scopes"),
    [("在全市排第几", {"市"}), ("位居重庆市第一", {"市"}), ("在成渝地区双城经济圈中位列第三", {"成渝"}),
     ("全国首批", {"国"}), ("排第几", set())],
)
def test_where_a_ranking_is_made_is_read(text, scopes):
    # a rank in 成渝 does not answer 在全市排第几 (match_figures penalizes disjoint scopes)
    assert ranking_scopes(text) == scopes


def test_citations_carry_the_raw_span_of_the_quoted_sentence(hash_service):
    for question in ["九龙坡2020年地区生产总值是多少？", "跳磴河治理累计投入了多少资金？", "九龙坡有多少个公园游园？"]:
        result = hash_service.ask(question)
        quoted = [c for c in result.citations if c.quote_start is not None]
        assert quoted, question
        body = re.sub(r"\[\d+\]", "", result.text)
        for c in quoted:
            assert c.quote_end is not None and c.start <= c.quote_start < c.quote_end <= c.end
            raw = hash_service.document(c.doc_id).text[c.quote_start : c.quote_end]
            flat = re.sub(r"\s", "", normalize(raw).text)
            assert flat and flat in re.sub(r"\s", "", body), (question, raw)  # the span holds what the answer quotes
            assert f"[{c.id}]" in result.text
        assert all(c.quote_start is None for c in result.citations if f"[{c.id}]" not in result.text)


def test_a_quote_joined_across_a_line_break_is_highlighted_whole():
    text = ("九龙坡区逐步实施更新区域面积约2424公顷，涉及\n\n现状建筑规模约2588万平方米，不断推动城市结构优化。\n\n"
            "目前，九龙坡区已率先编制完成更新规划。")
    chunk = Chunk(chunk_id="c", doc_id="d", start=0, end=len(text), text=text, clean=normalize(text).text)
    quote = "九龙坡区逐步实施更新区域面积约2424公顷，涉及现状建筑规模约2588万平方米，不断推动城市结构优化"
    span = quote_span(text, chunk, quote)
    assert span is not None and re.sub(r"\s", "", text[span[0] : span[1]]) == quote
    assert quote_span(text, chunk, "九龙坡区逐步实施更新区域面积约2424公顷") == (0, len("九龙坡区逐步实施更新区域面积约2424公顷"))
    assert quote_span(text, chunk, "涉及已率先编制") is None  # not there, with or without the breaks


def test_relative_years_are_read_against_today_and_the_answer_says_how_old_its_data_is(hash_service):
    import datetime as dt

    from qa import clock

    newest = max(d.year for d in hash_service.documents() if d.year)
    try:
        clock.set_today(lambda: dt.date(newest + 2, 3, 1))
        result = hash_service.ask("九龙坡去年地区生产总值是多少？")
        assert result.found
        note = next(n for n in result.notes if n.startswith("“去年”"))
        figure = result.figures[0].figure
        year = figure.year or hash_service.document(figure.doc_id).year
        assert note == f"“去年”按今天（{newest + 2}年3月1日）是{newest + 1}年；资料中最新的相关数据是{year}年的。"
        clock.set_today(lambda: dt.date(newest, 6, 1))
        note = next(n for n in hash_service.ask("九龙坡今年地区生产总值是多少？").notes if n.startswith("“今年”"))
        assert note.startswith(f"“今年”按今天（{newest}年6月1日）是{newest}年")
    finally:
        clock.set_today(None)
    assert clock.today() == dt.date.today()


def test_a_sentence_interrupted_by_a_photo_caption_is_quoted_whole(hash_service):
    result = hash_service.ask("九龙坡区GDP迈上多少亿元台阶？")
    assert result.found and "迈上2000亿元台阶，成为全市第二个" in result.text and "摄/" not in result.text


def test_an_open_question_gets_a_short_overview_from_different_passages(hash_service):
    result = hash_service.ask("介绍一下九龙坡的氢能产业")
    assert result.found and result.intent == "overview"
    markers = re.findall(r"\[(\d+)\]", result.text)
    assert 2 <= len(markers) <= 4 and len(set(markers)) == len(markers)  # each sentence from its own passage
    sentences = [s for s in re.split(r"\[\d+\][；。]", result.text) if s]
    assert len(set(sentences)) == len(sentences) and all("氢" in s for s in sentences[:1])


def test_a_refusal_quotes_what_the_reports_do_say_when_they_say_something_close(hash_service):
    premise = hash_service.ask("九龙坡区市场主体总量位居全国第一的原因是什么？")
    assert not premise.found and "资料中最接近的说法是" in premise.text and "全市第一" in premise.text
    marker = int(re.search(r"\[(\d+)\]", premise.text).group(1))
    cited = next(c for c in premise.citations if c.id == marker)
    assert "全市第" in normalize(cited.text).text.replace(" ", "")  # the quote is checked against its passage
    # the sentence quoted is highlighted as an answer's quote is: its raw span, inside the cited passage
    assert cited.quote_start is not None and cited.quote_end is not None
    assert cited.start <= cited.quote_start < cited.quote_end <= cited.end
    raw = hash_service.document(cited.doc_id).text[cited.quote_start : cited.quote_end]
    said = re.sub(r"\[\d+\]。?$", "", premise.text.partition("资料中最接近的说法是：")[2])
    assert re.sub(r"\s", "", normalize(raw).text) == re.sub(r"\s", "", said)
    off_topic = hash_service.ask("重庆今天天气怎么样？")
    assert not off_topic.found and "最接近的说法" not in off_topic.text and "[" not in off_topic.text
    assert all(c.quote_start is None for c in off_topic.citations)


def test_the_figure_quoted_is_one_the_checks_kept(hash_service, monkeypatch):
    from qa.answer import checks

    question = "九龙坡空气质量优良天数有多少天？"  # two reports give a figure: 308天 and 63天
    first = hash_service.ask(question)
    assert first.found and first.figures
    dropped = first.figures[0].figure.value

    def drop_first(case: checks.Case) -> None:
        case.matches = [m for m in case.matches if m.figure.value != dropped]
        return None

    monkeypatch.setattr(checks, "FIGURE_CHECKS", (drop_first, *checks.FIGURE_CHECKS))
    again = hash_service.ask(question)
    assert again.found and again.figures and all(f.figure.value != dropped for f in again.figures)


def test_a_follow_up_about_that_stretch_of_river_is_answered_with_its_length(hash_service):
    history = [{"question": "跳磴河治理总共花了多少钱？", "answer": "累计投入16.5亿元。"}]
    result = hash_service.ask("治理的那段河有多长？", history=history)
    assert "跳磴河" in result.resolved_question
    assert result.found and "14.15公里" in result.text


def test_a_verb_the_reports_never_use_is_not_the_word_a_figure_question_turns_on(hash_service):
    # 加起来 only phrases the question: it weighs most, being found nowhere, but no figure's clause could hold it
    result = hash_service.ask("全区医疗机构的床位加起来有多少张？")
    assert result.found and "8700张" in result.text
    # a thing the reports never name still is: 客流量 is not answered by another figure
    assert not hash_service.ask("杨家坪商圈一年客流量有多少？").found


def test_an_everyday_verb_of_one_character_is_not_the_word_a_figure_question_turns_on(hash_service):
    # 修 weighs most and the reports use it, but the clause with the figure says 新建: the path is what is asked
    result = hash_service.ask("跳磴河沿岸新修的步道有好长？")
    assert result.found and "20公里" in result.text
    # a word of two characters jieba reads as a verb alone can still be the thing measured (预算 in 公共预算收入)
    assert not hash_service.ask("2020年九龙坡区一般公共预算收入是多少？").found


def test_the_words_a_follow_up_takes_from_the_earlier_turn_count_only_where_a_sentence_holds_them(hash_service):
    history = [{"question": "整治跳磴河一共花了多少钱？", "answer": "累计投入16.5亿元。"}]
    _, resolved, parts = plan(hash_service.snapshot, "它两岸新修的步道有多长？", history)
    assert resolved.startswith("整治跳磴河一共")  # 一共, 整治 came along with the subject
    assert {"整治", "跳磴河"} <= parts[0].terms.context and "步道" not in parts[0].terms.context
    result = hash_service.ask("它两岸新修的步道有多长？", history=history)
    assert result.found and "20公里" in result.text


def test_a_counted_heading_is_read_with_the_items_under_it():
    text = "聚焦发展2个先进制造业轻量化材料：轻合金等。氢能产业：燃料电池等。重点发展3个优势产业汽车制造业：整车等。"
    [span] = counted_span(text, "聚焦发展的2个先进制造业是什么？")
    assert text[span[0] : span[1]] == "2个先进制造业轻量化材料：轻合金等。氢能产业：燃料电池等。"
    assert counted_span(text, "那两个先进制造业是啥？") == [span]
    assert counted_span(text, "重点发展的3个优势产业是哪些？") == []  # one item follows, not three
    assert counted_span(text, "聚焦发展的2个优势产业是什么？") == []  # the heading counts another kind
    assert counted_span("全区有2个先进制造业基地。其中西彭园区最大。", "2个先进制造业是什么？") == []  # no named items


def test_the_items_of_a_counted_list_may_each_open_a_sentence_with_their_ordinal():
    text = ("将加速崛起两个“千亿工业”——\n一个是以铝为重点的新材料产业。\n全力推动中铝项目落地。\n另一个是以氢为重点的新能源产业。"
            "\n当前正在推动博世项目。")
    spans = counted_span(text, "两个“千亿工业”是什么？")
    assert [text[a:b] for a, b in spans] == ["两个“千亿工业”——\n一个是以铝为重点的新材料产业。", "另一个是以氢为重点的新能源产业。"]
    points = "重点抓好三项工作。一是稳增长。二是促改革，推动开放。三是惠民生。此外还要防风险。"
    assert [points[a:b] for a, b in counted_span(points, "三项工作是什么？")] == [
        "三项工作。一是稳增长。", "二是促改革，推动开放。", "三是惠民生。"]
    assert counted_span(points, "四项工作是什么？") == []  # the heading counts three
    assert counted_span("重点抓好三项工作。全区上下一条心。一是稳增长。二是促改革。三是惠民生。", "三项工作是什么？") == []


def test_a_counted_list_is_quoted_whole_across_the_passages_it_spans(hash_service):
    # 聚焦发展2个先进制造业 / 轻量化材料：… / 氢能产业：…: the second item opens the next passage of the report
    result = hash_service.ask("九龙坡区“十四五”制造业“2+3+2+1”产业体系中聚焦发展的2个先进制造业是什么？")
    assert result.found and "轻量化材料" in result.text and "氢能产业" in result.text
    quoted = {c.chunk_id: c for c in result.citations if c.quote_start is not None}
    assert len(quoted) == 2
    for c in quoted.values():
        raw = hash_service.snapshot.documents[c.doc_id].text
        assert raw[c.start : c.end] == c.text and c.start <= c.quote_start < c.quote_end <= c.end
    spans = " ".join(hash_service.snapshot.documents[c.doc_id].text[c.quote_start : c.quote_end] for c in quoted.values())
    assert "2个先进制造业" in spans and "轻量化材料" in spans and "氢能产业" in spans


def test_another_report_giving_the_same_measure_otherwise_is_found_by_its_metric(hash_service):
    # 001 gives 全体居民人均可支配收入 4.4万元, 000 gives 4.5万元: whichever one retrieval reaches, the other is shown too
    snapshot = hash_service.snapshot
    incomes = [f for f in snapshot.store.figures(metric="全体居民人均可支配收入") if f.metric == "全体居民人均可支配收入"]
    assert {f.value for f in incomes} == {4.4, 4.5}
    intent = detect_intent("全体居民人均可支配收入是多少？")
    terms = {"全体": 1.0, "居民": 1.0, "人均可支配收入": 1.0}
    for fig in incomes:
        best = FigureMatch(fig, SimpleNamespace(), 1.0)
        [other] = other_reports(snapshot, best, terms, intent)
        assert other.figure.doc_id != fig.doc_id and other.figure.value != fig.value
        assert other.figure.text in other.evidence.sentence
        chunk = other.evidence.hit.chunk
        assert chunk.doc_id == other.figure.doc_id and chunk.start <= other.figure.start < other.figure.end <= chunk.end


def test_where_a_change_started_is_not_another_report_s_figure(hash_service):
    # 001: 现代服务业增加值占服务业增加值比重由60%提升至68%左右; 002: …达到68%. 60% is where the change started.
    snapshot = hash_service.snapshot
    reached = next(f for f in snapshot.store.figures(metric="现代服务业增加值占服务业增加值比重")
                   if f.doc_id.startswith("002") and f.value == 68)
    intent = detect_intent("现代服务业增加值占服务业增加值比重是多少？")
    assert other_reports(snapshot, FigureMatch(reached, SimpleNamespace(), 1.0), {"现代服务业": 1.0}, intent) == []


def test_a_name_is_quoted_with_what_it_stands_for():
    sentence = ("科学谋划“十四五”规划和二○三五年远景目标，在2035年内实现“三高三宜三率先”发展愿景，即坚持不懈发展高新技术产业、"
                "推进高质量城市管理、创造高品质人民生活，努力建成现代产业新高地和宜居宜业宜游品质之城，在全市率先基本实现社会主义"
                "现代化、全域城市化和全社会智能化，在生机勃勃的九龙大地上书写奋斗篇章。")
    terms = {"三高三宜三率先": 5.0, "三率先": 5.0, "事": 4.0}
    assert explains(sentence, terms)
    assert "全域城市化和全社会智能化" in trim(sentence, terms)
    assert not explains("九龙坡即将迈入新的历史方位，三高三宜三率先深入人心。", terms)  # 即将: about to
    assert not explains("全区推进城市更新，即力争完成老旧小区改造。", terms)  # what is explained is not what is asked


def test_a_question_about_what_a_name_means_is_answered_with_its_explanation(hash_service):
    result = hash_service.ask("“三高三宜三率先”里的“三率先”是指哪三件事？")
    assert result.found and "全域城市化" in result.text and "全社会智能化" in result.text


def test_an_everyday_word_read_both_per_person_and_in_total_leaves_the_choice_to_the_figures(hash_service):
    # 收入 stands for an industry's 营业收入 and for residents' 人均可支配收入: the question's words decide
    result = hash_service.ask("九龙坡氢能产业2023年一年收入有多少？")
    assert result.found and "10.6亿元" in result.text
    result = hash_service.ask("九龙坡老百姓人均收入有多少？")
    assert result.found and "万元" in result.text and "10.6亿元" not in result.text


def test_a_word_after_a_modal_is_an_act_and_not_the_thing_a_figure_is_about(hash_service):
    # jieba tags 省 alone a province; after 能 it is the verb (to save), which no figure's clause need hold
    result = hash_service.ask("大综合一体化每年能省多少财政投入？")
    assert result.found and "约3亿元" in result.text


def test_an_event_asked_by_the_report_term_is_named_by_an_everyday_word_the_report_uses_for_it(hash_service):
    # the report says 中梁山生态景区正式开建; 开建 is an everyday word for 开工, which other reports use
    result = hash_service.ask("中梁山生态景区什么时候开工的？")
    assert result.found and "2020年12月20日" in result.text
    # another event of the same project is still not dated by it
    assert not hash_service.ask("中梁山生态景区什么时候签约的？").found


def test_money_poured_in_is_asked_with_the_question_word_inside_the_everyday_word(hash_service):
    result = hash_service.ask("跳磴河治理一共砸了多少钱进去？")
    assert result.found and "16.5亿元" in result.text


def test_an_amount_for_one_person_on_average_is_asked_per_person(hash_service):
    for question in ("九龙坡平均一个人摊得到多少公园绿地？", "九龙坡一个人平均有多少公园绿地？"):
        result = hash_service.ask(question)
        assert result.found and "16.77平方米" in result.text and "1985万平方米" not in result.text


def test_the_few_things_a_question_asks_the_names_of_are_listed(hash_service):
    result = hash_service.ask("杨家坪那边新搞的几个打卡地标叫什么？")
    assert result.found and all(name in result.text for name in ("九龙门", "九龙印", "九龙泉"))
