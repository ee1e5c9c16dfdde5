from conftest import CORPUS
from qa.lexical import BM25Index, colloquial, expand, find_colloquial, pos_tag, query_weights, tokenize
from qa.normalize import normalize


def test_district_terms_stay_whole():
    tokens = tokenize("跳磴河综合整治和西彭园区的铝产业")
    assert "跳磴河" in tokens and "西彭园区" in tokens


def test_question_words_and_punctuation_are_dropped():
    assert tokenize("九龙坡有多少个公园？") == ["九龙", "九龙坡", "公园"]


def test_bm25_ranks_the_matching_row_first_and_forgets_removed_rows():
    index = BM25Index()
    docs = ["跳磴河 综合 整治 工程", "西彭 园区 铝 加工", "民主村 社区 更新 改造"]
    index.add([1, 2, 3], [d.split() for d in docs])
    assert index.search(["铝", "加工"], 3)[0][0] == 2
    index.remove([2])
    assert all(row != 2 for row, _ in index.search(["铝", "加工"], 3))
    assert len(index) == 2


def test_idf_is_higher_for_rarer_terms():
    index = BM25Index()
    index.add([1, 2, 3], [["a", "b"], ["a"], ["a", "c"]])
    assert index.idf("b") > index.idf("a") > 0
    assert index.idf("never") > index.idf("b")


def test_everyday_words_are_found_on_whole_words_only():
    # 锻炼身体 is the everyday phrase for 健身; 收入 inside the report term 营业收入 is not 人均收入's 收入.
    assert find_colloquial("出门能找到锻炼身体的地方吗") == [(5, 9, "锻炼身体")]
    assert find_colloquial("2023年氢能产业营业收入是多少") == []
    assert find_colloquial("九龙坡人均收入多少") == [(3, 7, "人均收入")]


def test_a_separable_everyday_word_is_found_with_how_much_said_between_its_halves():
    # 砸钱 (to pour money in), said as 砸了多少钱: one everyday word, standing for 投入
    assert find_colloquial("跳磴河治理一共砸了多少钱进去") == [(5, 7, "一共"), (7, 12, "砸钱")]
    assert "投入" in expand("跳磴河治理一共砸了好多钱进去")
    # only a question word between the halves: 砸了钱包 and 砸出钱 are no such word
    assert all(word != "砸钱" for *_, word in find_colloquial("有人砸了钱包") + find_colloquial("一共砸出钱来"))


def test_expansion_adds_the_report_terms_for_everyday_words():
    expanded = expand("在九龙坡注册开公司、办个体户的多不多")
    assert "市场主体" in expanded and expanded.startswith("在九龙坡注册开公司")


def test_every_report_term_of_the_lexicon_occurs_in_the_corpus():
    corpus = "".join(normalize(p.read_text(encoding="utf-8")).text.lower() for p in sorted(CORPUS.glob("*.*"))
                     if p.suffix in (".txt", ".md"))
    officials = {o for officials in colloquial().values() for o in officials}
    assert len(officials) > 200
    assert sorted(o for o in officials if o not in corpus) == []


def test_no_everyday_word_carries_a_question_word():
    # 投了多少 would make 多少 part of a term that must be found in the answer
    assert [w for w in colloquial() if any(q in w for q in ("多少", "几", "什么", "哪"))] == []


def test_an_expansion_weighs_like_one_word_however_many_tokens_it_has():
    weights = query_weights("九龙坡GDP")
    assert weights["gdp"] == 1.0
    added = [w for t, w in weights.items() if t in ("地区", "生产", "总值", "地区生产总值")]
    assert added and all(w < 1.0 for w in added)


def test_bm25_takes_weighted_query_terms():
    index = BM25Index()
    index.add([1, 2], [["铝", "加工"], ["氢能", "产业"]])
    assert index.search({"铝": 1.0, "氢能": 0.1}, 2)[0][0] == 1
    assert index.search({"铝": 0.1, "氢能": 1.0}, 2)[0][0] == 2


def test_a_year_is_one_word_never_read_with_what_follows():
    # jieba alone cuts 2021 + 年头 + 三个月
    assert pos_tag("2021年头三个月的地区生产总值")[0] == ("2021年", "t")
    assert "年头" not in [w for w, _ in pos_tag("2024年头一个季度")]
    assert ("年头", "n") in pos_tag("年头到年尾")  # no year before it: the word stays


def test_colloquial_words_of_place_after_a_noun_are_tagged_as_place():
    assert ("上头", "f") in pos_tag("中梁山上头有几个护林员")
    assert ("头", "f") in pos_tag("城里头出了问题")
    assert pos_tag("上头")[0][1] != "f"  # with no noun before it, 上头 is not a place word


def test_one_side_of_a_measure_is_no_everyday_word_for_it():
    # 外贸进出口总额 counts imports and exports together: a question's 出口 or 出口额 is not found whole in it
    from qa.answer.evidence import coverage

    trade = "实现外贸进出口总额31.0亿元、增长13.2%"
    assert coverage(trade, {"出口额": 1.0}) < 1.0
    assert "出口" not in colloquial() and "进口" not in colloquial()
    assert coverage(trade, {"外贸额": 1.0}) == 1.0  # another word for the whole still is
