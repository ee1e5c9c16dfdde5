from qa.lexical import BM25Index, tokenize


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
