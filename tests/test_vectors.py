"""Contract tests: every VectorIndex implementation (FAISS, Milvus Lite) behaves like the brute-force reference."""

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import collection_name
from qa.backends.milvus import MilvusVectorIndex, connect
from qa.errors import IndexStoreError
from qa.vectors import FaissIndex, NumpyIndex


def unit(rows, dim, seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class Kind:
    """How to make an empty index of one implementation, and to save it and read it back."""

    def __init__(self, make, reload):
        self.make, self.reload = make, reload


def _faiss_reload(index, folder: Path):
    index.save(folder / "v.faiss")
    return FaissIndex.load(folder / "v.faiss")


def _numpy_reload(index, folder: Path):
    index.save(folder / "v.npz")
    return NumpyIndex.load(folder / "v.npz")


@pytest.fixture(params=["faiss", "numpy", "milvus"])
def kind(request) -> Kind:
    if request.param == "faiss":
        return Kind(lambda dim: FaissIndex(dim), _faiss_reload)
    if request.param == "numpy":
        return Kind(lambda dim: NumpyIndex(dim), _numpy_reload)
    client = connect(request.getfixturevalue("milvus_uri"))

    def reload(index, folder: Path):
        index.save(folder / "v.milvus.json")
        client.release_collection(index.collection)  # as another process finds it
        return MilvusVectorIndex.load(client, folder / "v.milvus.json")

    return Kind(lambda dim: MilvusVectorIndex(client, collection_name("views"), dim), reload)


@pytest.fixture
def index(kind):
    return kind.make(16)


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

    def test_removing_absent_ids_changes_nothing(self, index):
        index.add(np.arange(5), unit(5, 16, 8))
        index.remove(np.array([7, 99, 3]))
        index.remove(np.array([3]))
        assert len(index) == 4
        assert sorted(i for i, _ in index.search(unit(1, 16, 9)[0], 10)) == [0, 1, 2, 4]

    def test_k_larger_than_the_index_returns_every_id_once(self, index):
        vectors = unit(6, 16, 10)
        index.add(np.arange(20, 26), vectors)
        got = index.search(vectors[2], 100)
        assert sorted(i for i, _ in got) == list(range(20, 26))
        assert got[0][0] == 22
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)

    def test_empty_index_returns_nothing(self, index):
        assert len(index) == 0
        assert index.search(unit(1, 16, 5)[0], 3) == []

    def test_an_index_emptied_by_removal_returns_nothing(self, index):
        index.add(np.arange(3), unit(3, 16, 11))
        index.remove(np.arange(3))
        assert len(index) == 0
        assert index.search(unit(1, 16, 12)[0], 3) == []

    def test_wrong_dimension_is_refused(self, index):
        with pytest.raises(IndexStoreError, match="do not fit an index of dimension 16"):
            index.add(np.arange(2), unit(2, 8, 6))

    def test_save_and_load_round_trip(self, kind, tmp_path):
        index = kind.make(16)
        vectors = unit(20, 16, 7)
        index.add(np.arange(20), vectors)
        index.remove(np.array([5]))
        loaded = kind.reload(index, tmp_path)
        assert len(loaded) == 19 and loaded.dim == 16
        assert loaded.search(vectors[3], 1)[0][0] == 3
        assert 5 not in {i for i, _ in loaded.search(vectors[5], 19)}


def test_corrupt_faiss_file_is_a_clear_error(tmp_path):
    (tmp_path / "v.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexStoreError, match="cannot read vector index"):
        FaissIndex.load(tmp_path / "v.faiss")


def test_a_milvus_file_naming_a_missing_collection_is_a_clear_error(milvus_uri, tmp_path):
    (tmp_path / "v.json").write_text(json.dumps({"views": "test_never_made"}), encoding="utf-8")
    with pytest.raises(IndexStoreError, match=r"^Milvus has no collection test_never_made$"):
        MilvusVectorIndex.load(connect(milvus_uri), tmp_path / "v.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(IndexStoreError, match="cannot read vector index"):
        MilvusVectorIndex.load(connect(milvus_uri), tmp_path / "bad.json")
