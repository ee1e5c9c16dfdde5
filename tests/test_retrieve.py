import pytest

from qa.errors import QueryError
from qa.retrieve import Fusion, check_k, fuse, search


def test_rrf_and_score_fusion_reward_agreement():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    lexical = [(2, 12.0), (4, 6.0), (1, 1.0)]
    for method in ("rrf", "score"):
        ranked = [row for row, _ in fuse(dense, lexical, Fusion(method=method, dense_weight=0.5))]
        assert ranked[0] == 2  # high in both lists
        assert set(ranked) == {1, 2, 3, 4}


def test_dense_weight_one_follows_dense_order():
    dense = [(1, 0.9), (2, 0.8)]
    lexical = [(2, 12.0), (1, 1.0)]
    assert [r for r, _ in fuse(dense, lexical, Fusion(method="score", dense_weight=1.0))] == [1, 2]


@pytest.mark.parametrize(("k", "message"), [(0, "k must be a positive integer"), (99, "k must be at most 20")])
def test_bad_k_is_refused(k, message):
    with pytest.raises(QueryError, match=message):
        check_k(k, 20)


def test_lexical_search_finds_the_gdp_passage_first_with_exact_offsets(hash_service):
    # The fake embedder's dense scores are noise, so rank 1 is checked on the lexical side here and
    # for hybrid search with the real model in test_model_retrieval.py.
    snapshot = hash_service.snapshot
    hits = search(snapshot, "九龙坡2020年地区生产总值是多少", k=5, mode="lexical")
    assert "突破1500亿元" in hits[0].chunk.clean
    doc = snapshot.documents[hits[0].chunk.doc_id]
    assert doc.text[hits[0].chunk.start : hits[0].chunk.end] == hits[0].chunk.text
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_returns_k_distinct_chunks(hash_service, mode):
    hits = search(hash_service.snapshot, "跳磴河综合整治", k=4, mode=mode)
    assert len({h.chunk.chunk_id for h in hits}) == 4
