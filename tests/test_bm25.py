"""Contract tests: the numpy BM25 index gives the pure-Python reference's scores and rankings."""

import json
import random
from pathlib import Path

import pytest

from conftest import collection_name
from qa.backends.milvus import MilvusLexicalIndex, connect
from qa.bm25 import SparseBM25Index
from qa.lexical import BM25Index, LexicalIndex, pinned_vocabulary, query_weights

BENCH = Path(__file__).resolve().parents[1] / "bench"
QUESTION_SETS = ("questions.jsonl", "questions_fresh.jsonl", "questions_fresh2.jsonl")


@pytest.fixture(params=["reference", "numpy", "milvus"])
def index(request) -> LexicalIndex:
    if request.param == "milvus":
        return MilvusLexicalIndex(connect(request.getfixturevalue("milvus_uri")), collection_name("chunks"))
    return BM25Index() if request.param == "reference" else SparseBM25Index()


class TestLexicalIndexContract:
    def test_a_rarer_term_scores_higher_and_ranks_first(self, index):
        index.add([1, 2, 3], [["a", "b"], ["a", "c"], ["a", "a", "d"]])
        assert [row for row, _ in index.search(["d"], 5)] == [3]
        assert index.search(["a", "c"], 5)[0][0] == 2
        assert index.idf("c") > index.idf("a") > 0

    def test_removed_rows_are_never_returned_and_absent_rows_are_ignored(self, index):
        index.add([1, 2, 3], [["x"], ["x", "y"], ["y"]])
        index.remove([2, 99])
        assert len(index) == 2
        assert [row for row, _ in index.search(["x", "y"], 10)] in ([1, 3], [3, 1])
        assert dict(index.document_frequencies()) == {"x": 1, "y": 1}

    def test_a_removed_row_can_be_added_again(self, index):
        index.add([1, 2], [["x"], ["y"]])
        index.remove([1])
        index.add([1], [["y", "z"]])
        assert sorted(row for row, _ in index.search(["y"], 10)) == [1, 2]
        assert index.search(["x"], 10) == []

    def test_k_larger_than_the_index_and_an_empty_index(self, index):
        assert index.search(["x"], 3) == []
        index.add([5], [["x"]])
        assert [row for row, _ in index.search(["x"], 100)] == [5]
        assert index.search(["never"], 3) == []

    def test_ties_are_ordered_by_row(self, index):
        index.add([9, 4, 7, 1], [["t"], ["t"], ["t"], ["u"]])
        assert [row for row, _ in index.search(["t"], 2)] == [4, 7]


def _corpus_indexes(service):
    rows = service.snapshot.store.all_chunks()
    reference, sparse = BM25Index(), SparseBM25Index()
    for index in (reference, sparse):
        index.add([r for r, _, _ in rows], [t for _, _, t in rows])
    return reference, sparse


def _questions() -> list[str]:
    return [json.loads(line)["question"] for name in QUESTION_SETS
            for line in (BENCH / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_same_top_ten_and_scores_as_the_reference_on_every_bench_question(hash_service):
    reference, sparse = _corpus_indexes(hash_service)
    with pinned_vocabulary(hash_service.snapshot.vocabulary):
        for question in _questions():
            weights = query_weights(question)
            assert sparse.search(weights, 10) == reference.search(weights, 10), question
    assert dict(sparse.document_frequencies()) == dict(reference.document_frequencies())


def test_same_rankings_after_documents_are_removed_and_added(hash_service):
    reference, sparse = _corpus_indexes(hash_service)
    rows = hash_service.snapshot.store.all_chunks()
    dropped = random.Random(3).sample(rows, 30)
    for index in (reference, sparse):
        index.remove([r for r, _, _ in dropped])
    back = dropped[:10]
    for index in (reference, sparse):
        index.add([r for r, _, _ in back], [t for _, _, t in back])
    assert len(sparse) == len(reference) == len(rows) - 20
    with pinned_vocabulary(hash_service.snapshot.vocabulary):
        for question in _questions()[:80]:
            weights = query_weights(question)
            assert sparse.search(weights, 10) == reference.search(weights, 10), question


def test_segments_with_a_deleted_row_score_as_one_index_of_the_live_rows(hash_service):
    from qa.segments import SegmentedLexical

    rows = hash_service.snapshot.store.all_chunks()
    half = len(rows) // 2
    first, second, reference = SparseBM25Index(), SparseBM25Index(), BM25Index()
    first.add([r for r, _, _ in rows[:half]], [t for _, _, t in rows[:half]])
    second.add([r for r, _, _ in rows[half:]], [t for _, _, t in rows[half:]])
    dead = [r for r, _, _ in random.Random(5).sample(rows, 12)]
    live = [(r, t) for r, _, t in rows if r not in dead]
    reference.add([r for r, _ in live], [t for _, t in live])
    segmented = SegmentedLexical([first, second], dead)
    with pinned_vocabulary(hash_service.snapshot.vocabulary):
        for question in _questions()[:80]:
            weights = query_weights(question)
            assert segmented.search(weights, 10) == reference.search(weights, 10), question  # the same floats


def test_milvus_bm25_gives_the_references_top_ten_and_scores_on_every_bench_question(hash_service, milvus_uri):
    # Same terms (this index's tokens), same k1 and b, one segment: the same ranking, scores equal to float32
    rows = hash_service.snapshot.store.all_chunks()
    reference = BM25Index()
    milvus = MilvusLexicalIndex(connect(milvus_uri), collection_name("chunks"))
    for index in (reference, milvus):
        index.add([r for r, _, _ in rows], [t for _, _, t in rows])
    with pinned_vocabulary(hash_service.snapshot.vocabulary):
        for question in _questions():
            weights = query_weights(question)
            expected, got = reference.search(weights, 10), milvus.search(weights, 10)
            assert [row for row, _ in got] == [row for row, _ in expected], question
            assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-5), question
    assert dict(milvus.document_frequencies()) == dict(reference.document_frequencies())
