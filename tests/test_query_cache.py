"""The query-vector cache returns the model's own vectors, runs the model once per text, and forgets the oldest."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from qa.embed import HashEmbedder
from qa.query_cache import CachedQueryEmbedder, QueryBatcher


class Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(32)
        self.seen: list[str] = []

    def encode_queries(self, texts):
        self.seen += list(texts)
        return super().encode_queries(texts)


def test_cached_vectors_are_the_models_and_each_text_is_encoded_once():
    model = Counting()
    cached = CachedQueryEmbedder(model, size=8)
    first = cached.encode_queries(["九龙坡", "跳磴河", "九龙坡"])
    again = cached.encode_queries(["跳磴河", "九龙坡"])
    assert np.array_equal(first, HashEmbedder(32).encode_queries(["九龙坡", "跳磴河", "九龙坡"]))
    assert np.array_equal(again, first[[1, 0]])
    assert model.seen == ["九龙坡", "跳磴河"]
    assert (cached.hits, cached.misses) == (2, 2)
    assert cached.name == model.name and cached.dim == 32


def test_the_least_recently_used_text_is_forgotten_first():
    model = Counting()
    cached = CachedQueryEmbedder(model, size=2)
    cached.encode_queries(["a"])
    cached.encode_queries(["b"])
    cached.encode_queries(["a"])  # a is now the most recent
    cached.encode_queries(["c"])  # evicts b
    cached.encode_queries(["a", "b"])
    assert model.seen == ["a", "b", "c", "b"]


def test_cached_vectors_cannot_be_changed_by_a_caller_and_empty_input_is_empty():
    cached = CachedQueryEmbedder(HashEmbedder(16))
    cached.encode_queries(["x"])[0][0] = 5.0  # the returned array is the caller's own
    assert cached.encode_queries(["x"])[0][0] != 5.0
    assert cached.encode_queries([]).shape == (0, 16)
    assert cached.encode_passages(["x"]).shape == (1, 16)


def test_a_size_below_one_is_refused():
    with pytest.raises(ValueError, match="size must be at least 1"):
        CachedQueryEmbedder(HashEmbedder(16), size=0)


class Slow(HashEmbedder):
    """Blocks in the model until released, so that other callers pile up behind it."""

    def __init__(self) -> None:
        super().__init__(32)
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def encode_queries(self, texts):
        self.calls.append(list(texts))
        self.entered.set()
        self.release.wait(30)
        if "boom" in texts:
            raise RuntimeError("the model failed")
        return super().encode_queries(texts)


def test_questions_arriving_while_the_model_is_busy_are_encoded_together():
    model = Slow()
    cached = CachedQueryEmbedder(model)
    texts = ["九龙坡", "跳磴河", "杨家坪", "中梁山", "西彭园区"]
    with ThreadPoolExecutor(len(texts)) as pool:
        first = pool.submit(cached.encode_queries, [texts[0]])
        assert model.entered.wait(30)
        rest = [pool.submit(cached.encode_queries, [t]) for t in texts[1:]]
        while len(cached.batcher._queue) < len(rest):  # all four waiting behind the first
            time.sleep(0.01)
        model.release.set()
        vectors = [first.result(30)[0]] + [f.result(30)[0] for f in rest]
    assert model.calls == [texts[:1], texts[1:]]  # two runs of the model for five questions
    assert np.array_equal(np.vstack(vectors), HashEmbedder(32).encode_queries(texts))


def test_a_failed_batch_fails_its_callers_only_and_the_model_is_free_again():
    model = Slow()
    cached = CachedQueryEmbedder(model)
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(cached.encode_queries, ["九龙坡"])
        assert model.entered.wait(30)
        failing = pool.submit(cached.encode_queries, ["boom"])
        while len(cached.batcher._queue) < 1:
            time.sleep(0.01)
        model.release.set()
        assert first.result(30).shape == (1, 32)
        with pytest.raises(RuntimeError, match="the model failed"):
            failing.result(30)
    assert cached.encode_queries(["跳磴河"]).shape == (1, 32)  # not stuck
    assert model.calls == [["九龙坡"], ["boom"], ["跳磴河"]]


def test_a_batch_holds_at_most_max_batch_texts_of_waiting_callers():
    calls: list[list[str]] = []
    batcher = QueryBatcher(lambda texts: calls.append(list(texts)) or HashEmbedder(8).encode_queries(texts),
                           max_batch=2)
    batcher._busy = True  # as if another caller were running the model
    texts = ["a", "b", "c", "d", "e"]
    with ThreadPoolExecutor(len(texts)) as pool:
        futures = [pool.submit(batcher.encode, [t]) for t in texts]
        while len(batcher._queue) < len(texts):
            time.sleep(0.01)
        with batcher._lock:  # the other caller finishes and hands the model on
            following = batcher._queue.pop(0)
            following.lead = True
        following.ready.set()
        results = [f.result(30) for f in futures]
    assert [len(c) for c in calls] == [3, 2]  # the leader's own text and up to two waiting ones; then the rest
    assert sorted(t for c in calls for t in c) == texts
    assert all(r.shape == (1, 8) for r in results)
    with pytest.raises(ValueError, match="max_batch"):
        QueryBatcher(HashEmbedder(8).encode_queries, max_batch=0)
