import pytest

from qa.answer.compose import split_question
from qa.answer.intent import detect_intent, resolve_followup
from qa.errors import QueryError
from qa.query import (
    NO_CONTENT_ANSWER,
    check_question,
    english_in_chinese,
    full_years,
    has_content,
    named_periods,
    prepare_query,
    to_mandarin_asks,
)


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "question must not be empty"), ("   \n", "question must not be empty"),
     ("问" * 501, "question is too long (501 characters; the limit is 500)"), (123, "question must be a string")],
)
def test_bad_questions_are_refused_with_exact_messages(question, message):
    with pytest.raises(QueryError) as err:
        check_question(question)
    assert str(err.value) == message


def test_traditional_characters_are_folded_and_a_space_between_chinese_words_parts_them_like_a_comma():
    assert prepare_query("九龍坡 地區生產總值").text == "九龙坡，地区生产总值"
    # typed without punctuation, two questions in one line are still two
    assert split_question(prepare_query("166舰是哪天对外开放的 舰长多少米").text) == ["166舰是哪天对外开放的", "舰长多少米"]
    assert prepare_query("九龙坡 GDP 多少").text == "九龙坡 GDP 多少"  # a space beside Latin letters stays


def test_questions_typed_without_punctuation_are_answered_part_by_part(hash_service):
    result = hash_service.ask("166舰是哪天对外开放的 舰长多少米")
    assert result.found and "6月27日" in result.text and "130余米" in result.text


def test_homophone_typos_are_repaired_against_the_corpus(hash_service):
    query = prepare_query("九龙波的跳凳河治理投入了多少", hash_service.snapshot)
    assert "九龙坡" in query.text and "跳磴河" in query.text
    assert ("跳凳河", "跳磴河") in query.corrections


def test_a_repair_never_cuts_through_a_word(hash_service):
    query = prepare_query("九龙坡去年GDP多少？", hash_service.snapshot)  # 去年, not a slip for 九龙坡区
    assert query.text == "九龙坡去年GDP多少？" and not query.corrections


def test_words_in_the_corpus_are_never_changed(hash_service):
    question = "西彭园区铝加工产能是多少"
    assert prepare_query(question, hash_service.snapshot).text == question


@pytest.mark.parametrize(
    ("question", "kind"),
    [("九龙坡2020年地区生产总值是多少", "quantity"), ("五大千亿级产业集群有哪些", "list"),
     ("跳磴河综合整治工程什么时候完工", "when"), ("哪所学校获得中国质量奖", "entity"),
     ("2020年和2025年的地区生产总值相比如何", "compare"), ("How many days of good air quality?", "quantity"),
     ("民主村的房子是哪个年代建的", "when"), ("九龙坡的人觉得安全吗，有没有具体数字", "quantity"),
     ("中梁山搞林长制，有几名护林员在守山？", "quantity"), ("每万人拥有发明专利是几件？", "quantity"),
     ("跳磴河治理以后水质到了几类？", "fact"), ("跳磴河综合整治是哪个时候完工的？", "when"),
     ("庆铃与博世签署合资协议的具体日期是？", "when"),
     # 比较 compares where it ends a clause; before a word it means "rather"
     ("跟2020年比较，地区生产总值增长了多少", "compare"), ("和渝中区比较呢", "compare"),
     ("我比较关心空气，一季度空气优良天数是多少", "quantity"), ("九龙坡比较有名的企业有哪些", "list"),
     # 几个 before what is named asks for the names, not how many
     ("杨家坪那边新搞的几个打卡地标叫什么", "list"), ("杨家坪新搞了几个打卡地标？", "quantity")],
)
def test_intent_kinds(question, kind):
    assert detect_intent(question).kind == kind


def test_intent_reads_years_units_and_latest():
    intent = detect_intent("最新的2020年空气质量优良天数有多少天")
    assert intent.years == (2020,) and intent.units == ("天",) and intent.latest


def test_these_few_years_ask_nothing():
    # 那几年, 这几年: "those years", not "how many years"
    assert detect_intent("十三五那几年九龙坡固定资产投资累计搞了多少？").units == ("亿元", "万元", "元", "亿")
    assert detect_intent("这几年九龙坡新增了多少家企业？").units == ("家", "万家")
    assert detect_intent("那几个项目一共投了多少亿元？").units == ("亿元",)
    assert "个" in detect_intent("中梁山有几个护林员？").units


def test_an_english_how_long_asks_for_a_length():
    assert detect_intent("How long is the Yangtze River shoreline in Jiulongpo?").units == ("公里", "米", "千米")
    assert detect_intent("How long is the new trail along the river?").units == ("公里", "米", "千米")


def test_the_size_of_an_expanse_is_asked_in_area_and_a_chunk_of_a_whole_is_not():
    area = ("平方米", "万平方米", "平方公里", "亩", "万亩", "公顷")
    for question in ("中梁山的废弃矿山现在修复了多大一片？", "凌江园占地有多大？", "西部氢谷那块地方有多大？"):
        assert detect_intent(question).units == area, question
    assert detect_intent("数字经济在九龙坡经济里头大概占多大一块？").units != area  # a share of the whole


def test_an_english_question_names_its_unit_and_asks_for_a_rank_in_words():
    # the glossary gives the English question's words in Chinese beside it: "in hectares" names 公顷
    glossed = "（城市更新公顷面积） How large is the area planned for urban renewal, in hectares?"
    assert detect_intent(glossed).units == ("公顷", "万公顷")
    assert "平方米" in detect_intent("（城市更新面积） How large is the area planned for urban renewal?").units
    # a Chinese question's bracketed aside names no unit it asks in
    assert "平方米" in detect_intent("城市更新区域（约2424公顷）有多大面积？").units
    # where does it rank: a rank, not a yes or no
    ranked = detect_intent("Where does Jiulongpo's economy rank in the Chengdu-Chongqing economic circle?")
    assert ranked.kind == "quantity" and ranked.units == ("位",)


def test_the_general_classifier_counts_in_any_classifier_but_not_in_measures():
    units = set(detect_intent("中梁山有多少个护林员？").units)
    assert {"个", "名", "座", "家"} <= units and not units & {"米", "元", "吨", "平方米"}
    assert set(detect_intent("中梁山有多少名护林员？").units) == {"名", "人", "万人"}  # a specific one stays
    assert set(detect_intent("一季度规上工业增加值涨了几个百分点？").units) == {"%", "个百分点"}  # 个 of a measure


def test_how_much_a_thing_grew_is_asked_as_a_rate():
    for question in ("汽摩产值涨了多少？", "十亿级工业企业产值增长是多少？", "新设外资企业数量比上年同期涨了多少？",
                     "规上工业增加值增长多少？"):
        assert detect_intent(question).units == ("%", "个百分点"), question
    assert detect_intent("汽摩产值涨到多少了？").units == ("亿元", "万元", "元", "亿")  # what it grew to is an amount


def test_a_level_is_asked_as_a_rank_or_a_rate():
    level = detect_intent("九龙坡义务教育巩固率在全市是什么水平？")
    assert level.kind == "quantity" and {"位", "%"} <= set(level.units)
    assert detect_intent("九龙坡市场主体总量在全市排第几？").units == ("位",)


@pytest.mark.parametrize(
    ("history", "question", "resolved"),
    [
        ("九龙坡2020年地区生产总值是多少？", "那2025年呢？", "九龙坡2025年地区生产总值是多少？"),
        ("西南铝汽车轻量化生产线什么时候投产？", "它的产能呢？", "西南铝汽车轻量化生产线的产能是多少？"),
        ("九龙坡2020年地区生产总值是多少？", "九龙坡有哪些千亿级产业？", "九龙坡有哪些千亿级产业？"),
        # the pronoun stands for the subject alone, and a follow-up that asks on its own keeps its own ending
        ("166舰是什么时候停靠九龙坡的？", "那它哪天向公众开放的？", "166舰哪天向公众开放的？"),
        # 这次 points back like 它; a follow-up with no topic of its own keeps the previous one
        ("跳磴河黑臭水体治理九龙坡一共花了多少钱？", "那这次治理的河道有多长？", "跳磴河治理的河道有多长？"),
        ("2025年6月九龙坡哪家医院焕新启航了？", "那具体是哪一天？", "2025年6月九龙坡医院焕新启航具体是哪一天？"),
        # 这 / 那 with a classifier points back too (那些企业, 那段河), and its 那 does not open a follow-up
        ("西彭园区有哪些铝加工企业？", "那些企业有多少家？", "西彭园区企业有多少家？"),
        # one that ends by asking keeps its own question word, even where what comes before it asks nothing
        ("2020年底规上工业企业有几家？", "那汽摩产值涨了多少", "2020年汽摩产值涨了多少？"),
        # ... and so does one of two questions whose first part asks too
        ("九龙坡规上工业企业有多少家？", "那其中十亿级的大厂有几家？产值涨了多少？",
         "其中十亿级的大厂有几家？产值涨了多少？"),
        # a follow-up that asks on its own but names nothing is about what the previous question named
        ("跳磴河治理一共花了多少钱？", "那治理的河段有多长？", "跳磴河治理的河段有多长？"),
        ("跳磴河有多长？", "那谢家湾小学有多少学生？", "谢家湾小学有多少学生？"),
        # a number with the one-character noun it names (166舰) is a subject of its own
        ("跳磴河治理一共投了多少钱？", "166舰是哪天对外开放的？", "166舰是哪天对外开放的？"),
        # 报道, 数据 are words of asking: a question holding only them has no subject of its own
        ("跳磴河治理花了多少钱？", "报道里的数据是多少？", "跳磴河报道里的数据是多少？"),
        # 后来 asks of a later time than the previous question's, which it does not inherit
        ("战略性新兴产业占规上工业的比重，2020年是多少？", "后来又到了多少？", "战略性新兴产业后来又到了多少？"),
        ("2020年地区生产总值是多少？", "同比增长了多少？", "2020年地区生产总值同比增长了多少？"),
        # what a question says of the district is its subject (a name may open with a side, 西部), and 那块地方
        # points back whole
        ("九龙坡的西部氢谷在哪儿？", "那块地方有多大？", "西部氢谷有多大？"),
        ("九龙坡那个西部氢谷在哪个地方", "那块地方有多大？", "西部氢谷有多大？"),
        ("九龙坡的中梁山花博园哪天开放？", "那个地方有多少个主题花园？", "中梁山花博园有多少个主题花园？"),
    ],
)
def test_follow_ups_are_resolved_against_the_previous_question(history, question, resolved):
    assert resolve_followup(question, [{"question": history, "answer": "…"}]) == resolved


def test_a_later_time_asks_for_the_newest_figure():
    assert detect_intent("战略性新兴产业后来又到了多少？").latest
    assert not detect_intent("2020年战略性新兴产业占比是多少？").latest


def test_no_history_leaves_the_question_alone():
    assert resolve_followup("那2025年呢？", None) == "那2025年呢？"


@pytest.mark.parametrize(
    ("question", "endings"),
    [("签约的是哪家公司牵头的？", ("公司", "集团", "企业")), ("数据是哪个部门提供的？", ("部", "局", "委", "办", "中心", "署", "厅")),
     ("九龙坡2020年地区生产总值是多少", ())],
)
def test_intent_reads_the_kind_of_name_asked_for(question, endings):
    assert detect_intent(question).name_endings == endings


def test_time_of_day_is_a_when_question():
    assert detect_intent("中梁山花博园几点开门？").kind == "when"


def test_the_thing_measured_is_read_from_the_question():
    assert detect_intent("河两岸新修了多长的步道？").measured == "步道"
    assert detect_intent("林长制体系里一共有多少名护林员？").measured == "护林员"
    assert detect_intent("九龙坡公园绿地面积有多大？").measured == ""


@pytest.mark.parametrize(("question", "chinese"), [
    ("hydrogen 这块，九龙坡 2023年 revenue 做到多少了？", "氢能这块，九龙坡 2023年营业收入做到多少了？"),
    ("到2020年年底，九龙坡规模以上的工厂 how many 家啊？", "到2020年年底，九龙坡规模以上的工厂多少家啊？"),
    ("除了长江，九龙坡境内还有哪几条小一点的 rivers？", "除了长江，九龙坡境内还有哪几条小一点的河？"),  # as river
    ("2021年 Q1 规上工业增加值涨了多少 percent？", "2021年一季度规上工业增加值涨了多少%？"),
    ("庆铃是跟哪个 German 大牌签的 JV？", "庆铃是跟哪个大牌签的？"),  # no report prints them: left out
    ("九龙坡 gdp 2021年是多少", "九龙坡 GDP 2021年是多少"),  # the reports print GDP: kept as they print it
    ("那 PM2.5 呢？target 是多少", "那 PM2.5 呢？目标是多少"),
])
def test_english_words_in_a_chinese_question_are_read_in_chinese(question, chinese):
    assert english_in_chinese(question, "全区GDP迈上2000亿元台阶；PM2.5年均浓度下降。") == chinese


def test_a_chinese_question_with_english_words_is_prepared_in_chinese():
    assert prepare_query("那个 park 什么时候 open").text == "那个公园什么时候开放"
    assert detect_intent(prepare_query("中梁山森林覆盖率 vs 全区森林覆盖率").text).kind == "compare"


def test_english_report_terms_are_translated_for_matching():
    text = prepare_query("What is the effective handling rate of urban governance problems?").text
    assert "处置率" in text or "城市治理问题有效处置率" in text


@pytest.mark.parametrize(
    ("question", "measured"),
    [("九龙坡的高新技术企业有多少家？", "高新技术企业"), ("一季度外贸进出口总额是多少", "外贸进出口总额"),
     ("九龙坡GDP是多少", "gdp"), ("跳磴河治理累计花了多少钱", "")],
)
def test_the_thing_measured_may_come_before_the_question_word(question, measured):
    assert detect_intent(question).measured == measured


def test_zero_width_and_bidi_characters_inside_words_change_nothing(hash_service):
    plain = hash_service.ask("九龙坡2020年地区生产总值是多少")
    hidden = hash_service.ask("九龙\u200b坡2020年地区\u200d生产总值\ufeff是多\u2060少\u202e")
    assert plain.found
    assert (hidden.found, hidden.text, hidden.citations) == (plain.found, plain.text, plain.citations)
    assert prepare_query("九龙\u200b坡\u200c地区").text == "九龙坡地区"


@pytest.mark.parametrize(
    ("question", "follow_up", "content"),
    [("😀", False, False), ("？？？", False, False), ("的", False, False), ("\ue000", False, False),
     ("\u200b", False, False), ("' OR 1=1 --", False, False), ("2020年", False, False), ("是什么？", False, False),
     ("九龙坡", False, True), ("GDP?", False, True), ("那2019年呢？", True, True), ("那2019年呢？", False, False),
     ("😀", True, False), ("的", True, True)],
)
def test_a_question_has_content_when_it_has_a_word_to_search_for(question, follow_up, content):
    assert has_content(question, follow_up=follow_up) is content


def test_a_question_with_no_content_is_answered_not_found_without_searching(hash_service):
    result = hash_service.ask("？？？")
    assert (result.found, result.citations, result.figures) == (False, (), ())
    assert result.text == NO_CONTENT_ANSWER
    assert hash_service.search("😀") == []


def test_the_first_months_of_a_year_are_read_as_the_quarter_or_half_the_reports_name():
    assert prepare_query("21年头三个月九龙坡GDP是多少？").text == "2021年一季度九龙坡GDP是多少？"
    assert named_periods("2024年1-3月实际使用外资增速") == "2024年一季度实际使用外资增速"
    assert named_periods("前六个月，一到九月") == "上半年，前三季度"
    # the last three months, or these, are no quarter of the calendar
    assert named_periods("近三个月") == "近三个月" and named_periods("这三个月") == "这三个月"
    assert named_periods("11-3月") == "11-3月"
    assert detect_intent(prepare_query("21年头三个月GDP是多少？").text).periods == ("一季度",)


def test_chongqing_question_words_are_read_as_mandarin():
    assert to_mandarin_asks("九龙坡开公司的有好多户嘛？") == "九龙坡开公司的有多少户嘛？"
    assert to_mandarin_asks("166舰有好长？") == "166舰有多长？"
    assert to_mandarin_asks("这个平台叫啥子名字？") == "这个平台叫什么名字？"
    # with a question word of its own, or as a yes/no question, 好多 means "many"
    assert to_mandarin_asks("好多企业落户在哪个园区？") == "好多企业落户在哪个园区？"
    assert to_mandarin_asks("九龙坡有好多好玩的地方吗？") == "九龙坡有好多好玩的地方吗？"
    # only the last 好多 asks, or one that ends a clause: before a noun it means "many"
    assert to_mandarin_asks("以前好多小巷不通公交，现在比例到好多了？") == "以前好多小巷不通公交，现在比例到多少了？"
    assert to_mandarin_asks("九龙坡2020年GDP是好多，到十四五末又涨到好多了？") == \
        "九龙坡2020年GDP是多少，到十四五末又涨到多少了？"
    assert to_mandarin_asks("中梁山有好大，森林覆盖率是多少？") == "中梁山有多大，森林覆盖率是多少？"
    # and so does one before the one character it counts, at a clause's end
    assert to_mandarin_asks("一季度有好多天，全年又有好多天？") == "一季度有多少天，全年又有多少天？"
    assert to_mandarin_asks("以前好多小巷不通公交，现在比例到多少了？") == "以前好多小巷不通公交，现在比例到多少了？"
    # 这几年 / 那几年 are "these few years", no question word: the 好多 after them still asks
    assert to_mandarin_asks("九龙坡这几年修了好多座公共厕所？") == "九龙坡这几年修了多少座公共厕所？"
    # and so are 前几年 and 近几年 (a few years ago, the last few years): no count of years is asked
    assert to_mandarin_asks("九龙坡前几年修了好多座公共厕所？") == "九龙坡前几年修了多少座公共厕所？"
    assert detect_intent("近几年九龙坡新修了多少座公共厕所？").units == ("座",)
    assert detect_intent(prepare_query("九龙坡2020年GDP是好多？").text).kind == "quantity"
    assert to_mandarin_asks("中梁山的森林覆盖率是好多？全区又是好多？") == "中梁山的森林覆盖率是多少？全区又是多少？"
    # in Chongqing speech 好久 asks when (好久开工？), not how long
    assert to_mandarin_asks("跳磴河综合整治工程是好久完工的？") == "跳磴河综合整治工程是什么时候完工的？"
    assert detect_intent(prepare_query("庆铃跟博世是好久签的合资协议？").text).kind == "when"
    assert to_mandarin_asks("跳磴河治理得咋个样了，要变成啥样？") == "跳磴河治理得怎么样了，要变成什么样？"


@pytest.mark.parametrize(("typed", "read"), [
    ("19年GDP多少", "2019年GDP多少"), ("氢能22年营收多少", "氢能2022年营收多少"), ("那23年底呢", "那2023年底呢"),
    ("99年建的", "1999年建的"),
    # spans of years stay as they are
    ("近10年GDP涨了多少", "近10年GDP涨了多少"), ("这20年变化大吗", "这20年变化大吗"), ("10年来", "10年来"),
    ("用了10年", "用了10年"), ("20年的时间", "20年的时间"), ("建厂56年", "建厂56年"), ("2023年", "2023年"),
])
def test_a_year_said_by_its_last_two_digits_is_read_in_full(typed, read):
    assert full_years(typed) == read


def test_a_two_digit_year_narrows_the_question_to_that_year():
    assert detect_intent(prepare_query("23年规上工企几家").text).years == (2023,)
