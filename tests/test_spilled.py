"""A full build's spilled vectors are written exactly as the in-memory index would have written them."""

import numpy as np
import pytest

import qa.spilled
import qa.vectors
from qa.spilled import SpilledVectors
from qa.vectors import FaissIndex


def unit(rows, dim, seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def fill(tmp_path, vectors, parts):
    """The same vectors added in ``parts`` to a spilled index and to a FAISS one."""
    spilled, flat = SpilledVectors(vectors.shape[1], tmp_path / "spill"), FaissIndex(vectors.shape[1])
    ids = np.arange(len(vectors), dtype=np.int64) * 3 + 7
    for chunk in np.array_split(np.arange(len(vectors)), parts):
        spilled.add(ids[chunk], vectors[chunk])
        flat.add(ids[chunk], vectors[chunk])
    return spilled, flat


def test_flat_file_is_the_in_memory_index_file(tmp_path):
    spilled, flat = fill(tmp_path, unit(500, 16, 1), parts=7)
    assert len(spilled) == 500
    spilled.save(tmp_path / "a.faiss")
    flat.sized().save(tmp_path / "b.faiss")
    assert (tmp_path / "a.faiss").read_bytes() == (tmp_path / "b.faiss").read_bytes()
    assert not (tmp_path / "spill").exists()


def test_inverted_file_over_several_blocks_is_the_in_memory_one(tmp_path, monkeypatch):
    monkeypatch.setattr(qa.vectors, "IVF_MIN_VECTORS", 1000)
    vectors = unit(qa.spilled.BLOCK + 4000, 4, 2)  # two blocks read back
    spilled, flat = fill(tmp_path, vectors, parts=5)
    sized = spilled.sized()
    assert sized.is_ivf and len(sized) == len(vectors)
    sized.save(tmp_path / "a.faiss")
    flat.sized().save(tmp_path / "b.faiss")
    assert (tmp_path / "a.faiss").read_bytes() == (tmp_path / "b.faiss").read_bytes()


def test_removed_ids_are_left_out_and_search_is_exact(tmp_path):
    vectors = unit(300, 8, 3)
    spilled, flat = fill(tmp_path, vectors, parts=3)
    gone = np.array([7, 10, 13, 9999], dtype=np.int64)  # 9999 was never added
    spilled.remove(gone)
    flat.remove(gone)
    assert len(spilled) == len(flat) == 297
    query = vectors[5]
    assert [i for i, _ in spilled.search(query, 5)] == [i for i, _ in flat.search(query, 5)]
    written = spilled.sized()
    assert np.array_equal(written.contents()[0], flat.contents()[0])


def test_vectors_of_the_wrong_shape_are_refused(tmp_path):
    spilled = SpilledVectors(8, tmp_path / "spill")
    with pytest.raises(Exception, match="do not fit an index of dimension 8"):
        spilled.add(np.arange(2), unit(2, 4, 0))
    with pytest.raises(ValueError, match="3 ids but 2 vectors"):
        spilled.add(np.arange(3), unit(2, 8, 0))
    spilled.discard()
