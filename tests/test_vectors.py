"""Contract tests: every VectorIndex implementation behaves like the brute-force reference."""

import numpy as np
import pytest

from qa.errors import IndexStoreError
from qa.vectors import FaissIndex, NumpyIndex


def unit(rows, dim, seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(params=[FaissIndex, NumpyIndex])
def index(request):
    return request.param(16)


class TestVectorIndexContract:
    def test_search_matches_brute_force(self, index):
        vectors = unit(50, 16, 1)
        ids = np.arange(100, 150)
        index.add(ids, vectors)
        query = unit(1, 16, 2)[0]
        expected = sorted(zip(ids, vectors @ query, strict=True), key=lambda p: -p[1])[:5]
        got = index.search(query, 5)
        assert [i for i, _ in got] == [int(i) for i, _ in expected]
        assert np.allclose([s for _, s in got], [s for _, s in expected], atol=1e-5)

    def test_removed_ids_are_never_returned(self, index):
        index.add(np.arange(10), unit(10, 16, 3))
        index.remove(np.array([0, 1, 2]))
        assert len(index) == 7
        assert {i for i, _ in index.search(unit(1, 16, 4)[0], 10)} == set(range(3, 10))

    def test_empty_index_returns_nothing(self, index):
        assert index.search(unit(1, 16, 5)[0], 3) == []

    def test_wrong_dimension_is_refused(self, index):
        with pytest.raises(IndexStoreError, match="do not fit an index of dimension 16"):
            index.add(np.arange(2), unit(2, 8, 6))


def test_faiss_index_round_trips_through_disk(tmp_path):
    index = FaissIndex(16)
    vectors = unit(20, 16, 7)
    index.add(np.arange(20), vectors)
    index.save(tmp_path / "v.faiss")
    loaded = FaissIndex.load(tmp_path / "v.faiss")
    assert loaded.search(vectors[3], 1)[0][0] == 3


def test_corrupt_faiss_file_is_a_clear_error(tmp_path):
    (tmp_path / "v.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexStoreError, match="cannot read vector index"):
        FaissIndex.load(tmp_path / "v.faiss")
