"""The query-vector cache returns the model's own vectors, runs the model once per text, and forgets the oldest."""

import numpy as np
import pytest

from qa.embed import HashEmbedder
from qa.query_cache import CachedQueryEmbedder


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
