"""The asker's story around a question (who asks, and why) is told apart from what the question asks."""

from __future__ import annotations

from qa.answer import decision
from qa.answer.evidence import Terms, coverage
from qa.answer.intent import detect_intent, subject_of
from qa.answer.narrative import clauses, narrative_spans, outside_narrative
from qa.answer.terms import asks_apart, excluded_spans, query_terms
from qa.lexical import pinned_vocabulary, pos_tag
from qa.service import Service


def story(question: str) -> list[str]:
    return [question[a:b] for a, b in narrative_spans(question)]


def test_clauses_split_at_punctuation_and_keep_their_mark():
    question = "我家住在江边，想问下，这座桥有多长？"
    assert [question[a:b] for a, b in clauses(question)] == ["我家住在江边，", "想问下，", "这座桥有多长？"]
    assert clauses("") == []


def test_a_clause_where_the_asker_speaks_of_themselves_is_story_and_the_asked_clause_is_not():
    assert story("我家老大明年读小学，那所学校有多少学生？") == ["我家老大明年读小学，"]
    assert story("那所学校有多少学生？我家老大明年读小学") == ["我家老大明年读小学"]
    # a wish with no subject of its own can only be the asker's
    assert story("周末想带孙子去公园，那个博物馆几点开门？") == ["周末想带孙子去公园，"]


def test_the_askers_own_verbs_opening_the_asked_clause_are_story():
    question = "我女儿在外地，想了解一下九龙坡博物馆有多大？"
    assert story(question) == ["我女儿在外地，", "想了解一下"]
    assert "博物馆" in outside_narrative(question) and "了解" not in outside_narrative(question)
    assert len(outside_narrative(question)) == len(question)


def test_a_time_after_the_askers_verbs_is_asked_about():
    assert story("我想问一下2020年GDP是多少？") == ["我想问一下"]
    assert detect_intent("我想问一下2020年GDP是多少？").years == (2020,)
    assert detect_intent("想知道一季度全区启动改造的老旧小区一共有多大面积。").periods == ("一季度",)


def test_a_story_word_is_never_the_word_a_figure_must_be_about(hash_service: Service):
    result = hash_service.ask("我想问一下2020年GDP是多少？")  # 问 is tagged a noun here, and weighs most
    assert result.found and "1500亿元" in result.text


def test_what_the_asker_wishes_to_do_is_story_however_it_is_tagged():
    # jieba tags 问 in 想问下 as a noun: it is still the asker's verb, and 九龙坡 starts what is asked
    assert story("我想问下九龙坡各类市场主体有多少户？") == ["我想问下"]
    assert story("想问问河两边新修的步道有多长？") == ["想问问"]


def test_a_caller_reported_in_the_third_person_is_story():
    # how a hotline operator writes a call down: who calls, and the verbs that report the question
    assert story("市民来电询问九龙坡2020年GDP是多少？") == ["市民来电询问"]
    assert story("一位退休教师来电，询问跳磴河治理花了多少钱？") == ["一位退休教师来电，", "询问"]
    assert story("家长来电咨询谢家湾小学的校长是谁") == ["家长来电咨询"]
    # a place or a thing before the verb is what is asked about, not who calls
    assert story("跳磴河治理了多长？") == story("九龙坡区了解到的数据是多少？") == []
    # the asker's own verbs stay the asker's: they are not read as a call as well
    assert story("我想问下九龙坡各类市场主体有多少户？") == ["我想问下"]
    # the call reported at the head of a clause that goes on to tell the topic, and a caller named by a set phrase
    assert story("市民来电询问：听说九龙坡GDP上了台阶，那年到底是多少？") == ["市民来电询问"]
    assert story("一位退休职工来电，想知道跳磴河有多长。")[0] == "一位退休职工来电，"
    # a clause that opens with the topic is not a call, whatever follows it
    assert story("跳磴河治理后市民反映很好，一共花了多少钱？") == []


def test_greetings_thanks_and_polite_openings_are_courtesy_not_topic(hash_service: Service):
    assert story("您好，请问中梁山生态景区是哪天正式动工的？") == ["您好，", "请问"]
    assert story("麻烦问一下，跳磴河有多长？谢谢。") == ["麻烦问一下，", "谢谢。"]
    assert story("问题出在哪里？") == []  # 问 opens no courtesy inside a word
    with hash_service.lease() as snapshot, pinned_vocabulary(snapshot.vocabulary):
        terms = query_terms("您好，请问中梁山生态景区是哪天正式动工的？谢谢。", snapshot)
        assert not {"您好", "请问", "谢谢"} & terms.keys() and "中梁山" in terms


def test_how_many_questions_follow_is_said_of_the_questions_not_asked(hash_service: Service):
    question = "居民一次问两件事：跳磴河治理一共投了多少钱？166舰是哪天对外开放的？"
    assert "两件事" in story(question)
    assert "两个问题" in story("他有两个问题：九龙坡GDP是多少？")
    # two things the question names are what it asks about
    assert story("中梁山生态景区开工和中梁山花博园开放，这两件事哪件在先？") == []
    result = hash_service.ask(question)
    assert result.found and "16.5亿元" in result.text and "两件事" not in result.text


def test_a_request_to_look_the_answer_up_is_courtesy_and_who_is_helped_with_it(hash_service: Service):
    assert story("帮忙查一下，166舰是哪天开放的？") == ["帮忙查一下，"]
    assert story("麻烦帮我查查跳磴河一共投了多少钱") == ["麻烦帮我查查"]
    assert story("请核实一下九龙坡的GDP是多少？") == ["请核实一下"]
    # a verb of looking into things inside the topic stays the topic's (查处, one word)
    assert story("九龙坡查处了多少家散乱污企业？") == []
    with hash_service.lease() as snapshot, pinned_vocabulary(snapshot.vocabulary):
        terms = query_terms("麻烦帮我查查跳磴河治理一共投了多少钱", snapshot)
        assert not {"帮", "查查", "麻烦"} & terms.keys() and {"跳磴河", "治理"} <= terms.keys()


def test_where_and_when_a_relayed_question_was_heard_is_part_of_its_frame(hash_service: Service):
    assert story("有居民在群里问，跳磴河治理一共投了多少钱？") == ["有居民在群里问，"]
    assert story("楼下王大爷想知道，166舰是哪天对外开放的？") == ["楼下王大爷想知道，"]
    # a clause that opens with a place the reports name is the topic, not where anyone asked
    assert story("九龙坡区里头居民问得多的，跳磴河治理投了多少钱？") == []
    # 群里 says where the question was heard: it is no whole that the question asks a part of
    result = hash_service.ask("有居民在群里问，跳磴河治理一共投了多少钱？")
    assert result.found and "16.5亿元" in result.text


def test_the_clauses_that_bring_in_the_asker_of_a_relayed_question_are_story(hash_service: Service):
    question = "有位开出租车的师傅打来电话，说他天天从河边过。他想问，跳磴河治理一共投了多少钱？"
    assert story(question) == ["有位开出租车的师傅打来电话，", "说他天天从河边过。", "他想问，"]
    # what the one who asks goes on to say of themselves after the question is story too
    assert story("她问：166舰是哪天对外开放的？她好带孙子去看。") == ["她问", "她好带孙子去看。"]
    # 问问 reports a question as 问 does
    assert story("有位大哥发来消息，他想问问跳磴河治理一共投了多少钱？") == ["有位大哥发来消息，", "他想问问"]
    # without 他想问 or 她问 nobody is relayed: a third person in the question is not its asker
    assert story("有位师傅说跳磴河变清了，跳磴河治理投了多少钱？") == []
    result = hash_service.ask(question)
    assert result.found and "16.5亿元" in result.text


def test_a_name_the_question_quotes_is_one_word_as_the_reports_write_it(hash_service: Service):
    with hash_service.lease() as snapshot, pinned_vocabulary(snapshot.vocabulary):
        terms = query_terms("“三高三宜三率先”里头那“三率先”是指哪三样？", snapshot)
        assert {"三高三宜三率先", "三率先"} <= terms.keys() and "高三" not in terms  # not jieba's 高三 (senior year)
        # a quoted phrase the reports never write is read word by word
        assert "美丽" in query_terms("跳磴河评上了“最美丽的河”吗？", snapshot)


def test_an_aspect_verb_opens_the_event_and_is_not_it(hash_service: Service):
    with hash_service.lease() as snapshot, pinned_vocabulary(snapshot.vocabulary):
        terms = query_terms("“九龙坡云医院”从什么时候开始正式上线的？", snapshot)
        assert "开始" not in terms and "上线" in terms  # the report says 自2020年9月正式上线以来, never 开始
    result = hash_service.ask("“九龙坡云医院”从什么时候开始正式上线的？")
    assert result.found and "2020年9月" in result.text


def test_the_callers_words_count_neither_for_nor_against(hash_service: Service):
    with hash_service.lease() as snapshot, pinned_vocabulary(snapshot.vocabulary):
        terms = query_terms("新来的市民来电，询问中梁山现在有几个护林员。", snapshot)
        assert "市民" not in terms and "来电" not in terms and {"中梁山", "护林员"} <= terms.keys()
    result = hash_service.ask("市民来电询问中梁山现在有几个护林员。")
    assert result.found and "65名" in result.text


def test_clauses_without_the_asker_are_what_is_asked():
    assert story("博世和庆铃合资的项目，总投资多少？") == []
    assert story("跳磴河治理以后，水质达到几类？") == []
    # 我们九龙坡, 咱们区, 我国 name a place, not the asker
    assert story("我们九龙坡人口多，到底有多少？") == []
    assert story("咱们区公园多，一共有几个？") == []
    assert story("我国首个洞穴博物馆，在哪里？") == []


def test_a_story_word_counts_where_found_and_never_against():
    terms = Terms({"桥": 2.0, "长度": 2.0, "江边": 1.0}, context={"江边"})
    assert coverage("这座桥的长度是1000米。", terms) == 1.0  # 江边 is not there: no loss
    assert coverage("江边的桥，长度1000米。", terms) == 1.0
    assert coverage("这座桥很新。", terms) < coverage("江边这座桥很新。", terms) < 1.0
    plain = {"桥": 2.0, "长度": 2.0, "江边": 1.0}
    assert coverage("这座桥的长度是1000米。", plain) < 1.0
    assert decision.lacking("这座桥很新。", terms) == ["长度"]
    assert coverage("没有相关的词。", Terms({"江边": 1.0}, context={"江边"})) == 0.0
    assert coverage("什么都行。", {}) == 1.0


def test_the_kind_and_units_of_a_question_are_read_from_what_it_asks():
    intent = detect_intent("我爸前几天去看了那艘船，这船有多长？")
    assert intent.kind == "quantity" and "米" in intent.units and "天" not in intent.units
    assert intent.question == "我爸前几天去看了那艘船，这船有多长？"
    assert detect_intent("我家老大2019年读小学，学校是哪一年建的？").years == ()


def test_a_later_part_points_back_to_what_was_asked_not_to_the_asker():
    assert subject_of("我们楼下几个老头子在争，跳磴河治理花了多少钱？") == "跳磴河"
    assert subject_of("跳磴河治理花了多少钱？") == "跳磴河"


def test_story_words_absent_from_the_reports_are_left_out_and_topic_words_stay(hash_service: Service):
    with hash_service.lease() as snapshot, pinned_vocabulary(snapshot.vocabulary):
        terms = query_terms("我家老大明年读小学，跳磴河治理累计投入了多少资金？", snapshot)
        assert "老大" not in terms and "读" not in terms  # the asker's family and doings
        assert {"跳磴河", "治理"} <= terms.keys() and not terms.context & {"跳磴河", "治理"}
        told = query_terms("我常去跳磴河边散步，那里的步道有多长？", snapshot)
        assert "跳磴河" in told.context and "散步" not in told  # a thing the story names counts where found
        near_miss = query_terms("我家老大明年读小学，跳磴河的门票多少钱？", snapshot)
        assert "门票" in near_miss and "门票" not in near_miss.context  # asked, absent from the reports: it blocks
        # nothing asked but the story's own words: the story is what is asked about
        whole = query_terms("我们楼下几个老头子在争，是不是真有这么多？", snapshot)
        assert not whole.context and "老头子" in whole


def test_a_chinese_question_keeps_its_latin_words_and_an_english_one_keeps_its_chinese_terms(hash_service: Service):
    with hash_service.lease() as snapshot, pinned_vocabulary(snapshot.vocabulary):
        assert "gdp" in query_terms("2021年头三个月九龙坡GDP有多少？", snapshot)
        english = query_terms("How long is the Tiaodeng River walkway (跳磴河)?", snapshot)
        assert "跳磴河" in english and not any(t.isascii() for t in english)


def test_a_story_word_does_not_refuse_and_a_missing_topic_word_still_does(hash_service: Service):
    plain = hash_service.ask("跳磴河治理累计投入了多少资金？")
    told = hash_service.ask("我家老大明年读小学，跳磴河治理累计投入了多少资金？")
    assert plain.found and told.found and "16.5亿元" in told.text
    refused = hash_service.ask("我家老大明年读小学，跳磴河的门票多少钱？")
    assert not refused.found and "老大" not in refused.text


def test_what_a_question_sets_aside_is_not_what_it_asks_about(hash_service: Service):
    question = "九龙坡境内除了长江，还有哪几条小一点的河？"
    def excluded(text: str) -> list[str]:
        return [text[a:b] for a, b in excluded_spans(text)]

    assert excluded(question) == ["长江"]
    assert excluded("除了民主村以外还有哪个小区也成了打卡地？") == ["民主村"]
    assert excluded("除长江外，还有哪些河？") == ["长江"]
    assert excluded("长江有多长？") == excluded("中梁山拆除了多少违章建筑，还有多少绿地？") == []
    with hash_service.lease() as snapshot, pinned_vocabulary(snapshot.vocabulary):
        terms = query_terms(question, snapshot)
        assert "长江" not in terms and "长江" not in terms.context and "河" in terms
        assert "长江" in query_terms("长江在九龙坡境内有多长？", snapshot)


def test_a_one_character_word_inside_a_longer_word_of_the_question_is_not_counted_again(hash_service: Service):
    with hash_service.lease() as snapshot, pinned_vocabulary(snapshot.vocabulary):
        terms = query_terms("中梁山现在有几个护林员在守山？", snapshot)
        assert "中梁山" in terms and "护林员" in terms and "山" not in terms
        assert "河" in query_terms("九龙坡还有哪几条小一点的河？", snapshot)  # no longer word holds it


def test_a_word_running_past_a_question_word_is_cut_where_the_question_word_ends(hash_service: Service):
    assert [w for w, _ in asks_apart("中梁山花博园哪天开的")][-2:] == ["开", "的"]  # jieba alone: 哪 + 天开 + 的
    assert "体量" in [w for w, _ in asks_apart("那个氢谷是多大体量的？")]  # jieba alone: 多大 + 体 … or 大体
    assert asks_apart("长江有多长？") == pos_tag("长江有多长？")  # nothing runs past: jieba's own cut
    with hash_service.lease() as snapshot, pinned_vocabulary(snapshot.vocabulary):
        terms = query_terms("中梁山花博园哪天开的", snapshot)
        assert "天开" not in terms and {"中梁山", "花博园"} <= terms.keys()
    result = hash_service.ask("中梁山花博园哪天开的")
    assert result.found and "2021年4月7日" in result.text
