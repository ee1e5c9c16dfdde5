"""The indexed corpus text answers ``in`` exactly as the plain text does, and the speller's repairs stay the same."""

import json
import pickle
import random
from pathlib import Path

import pytest

from qa.lexical import pinned_vocabulary
from qa.normalize import normalize
from qa.query import Speller, prepare_query
from qa.segments import SegmentedCorpusText
from qa.spell_index import CorpusText, DocumentTrigrams

BENCH = Path(__file__).resolve().parents[1] / "bench"
DOCS = ["九龙坡区 GDP增长8.5%，跳磴河治理", 'He said "Abc" then\tleft', "西彭园区铝加工产能"]


@pytest.mark.parametrize("part", ["九龙坡", "龙坡区 G", "跳磴河", "跳凳河", "Abc", "abc", '"Abc"', 'd "Ab',
                                  "理\nHe", "九", "西彭", "", "8.5%，跳", "铝加工产能", "铝加工产能。", "\tleft",
                                  # one or two characters: starting a trigram, only at a document's end, absent
                                  "坡区", "%", "理", "治理", "能", "产能", "ft", "t", "大奖", "z", "\t", "理\n", "\n"])
def test_membership_matches_the_plain_text(part):
    indexed, plain = CorpusText(DOCS), "\n".join(DOCS)
    assert indexed == plain
    assert (part in indexed) == (part in plain)


def test_non_strings_are_refused_like_a_plain_string():
    with pytest.raises(TypeError):
        3 in CorpusText(DOCS)  # noqa: B015


def test_a_copy_is_the_plain_text():
    copy = pickle.loads(pickle.dumps(CorpusText(DOCS)))
    assert type(copy) is str and copy == "\n".join(DOCS)


def test_every_window_of_the_corpus_is_found_and_shuffled_ones_match(hash_service):
    texts = [normalize(d.text).text for d in hash_service.snapshot.documents.values()]
    indexed, plain = CorpusText(texts), "\n".join(texts)
    rng = random.Random(7)
    for _ in range(400):
        doc = rng.choice(texts)
        size = rng.randint(3, 8)
        at = rng.randrange(len(doc) - size)
        window = doc[at : at + size]
        shuffled = "".join(rng.sample(window, len(window)))
        assert window in indexed
        assert (shuffled in indexed) == (shuffled in plain)


def test_the_speller_repairs_the_same_with_the_index_as_with_a_scan(hash_service):
    snapshot = hash_service.snapshot
    assert isinstance(snapshot.speller.corpus_text, SegmentedCorpusText)  # answered by the segments' indexes
    plain = "\n".join(normalize(d.text).text for _, d in sorted(snapshot.documents.items()))
    scanning = Speller(snapshot.lexical.document_frequencies(), plain)
    questions = [json.loads(line)["question"] for name in ("questions.jsonl", "questions_fresh.jsonl")
                 for line in (BENCH / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    repaired = 0
    with pinned_vocabulary(snapshot.vocabulary):
        for question in questions:
            text = prepare_query(question).text
            fixed = snapshot.speller.correct(text)
            assert fixed == scanning.correct(text), question
            repaired += bool(fixed[1])
    assert repaired >= 5  # the typo questions of both sets are among them


def test_trigrams_over_segments_answer_as_the_live_documents_text(hash_service):
    texts = {d: normalize(doc.text).text for d, doc in hash_service.snapshot.documents.items()}
    ids = sorted(texts)
    first, second = DocumentTrigrams((d, texts[d]) for d in ids[:3]), DocumentTrigrams((d, texts[d]) for d in ids[3:])
    dead = frozenset(ids[1:2])
    live = [texts[d] for d in ids if d not in dead]
    indexed = SegmentedCorpusText(live, [(first, dead), (second, frozenset())])

    def in_one(part: str) -> bool:  # what a live document holds, each alone
        return any(part in text for text in live)

    rng = random.Random(11)
    for _ in range(400):
        doc = texts[rng.choice(ids)]
        size = rng.randint(3, 8)
        at = rng.randrange(len(doc) - size)
        window = doc[at : at + size]
        shuffled = "".join(rng.sample(window, len(window)))
        assert (window in indexed) == in_one(window)  # a deleted document's windows are mostly not found
        assert (shuffled in indexed) == in_one(shuffled)
    assert live[0][-3:] + "\n" + live[1][:3] not in indexed  # never across two documents
    with pytest.raises(TypeError):
        3 in indexed  # noqa: B015


def test_short_parts_match_the_plain_text_in_whole_and_segmented_corpora(hash_service):
    texts = {d: normalize(doc.text).text for d, doc in hash_service.snapshot.documents.items()}
    ids = sorted(texts)
    dead = frozenset(ids[1:2])
    live = [texts[d] for d in ids if d not in dead]
    whole = CorpusText(live)
    first, second = DocumentTrigrams((d, texts[d]) for d in ids[:3]), DocumentTrigrams((d, texts[d]) for d in ids[3:])
    segmented = SegmentedCorpusText(live, [(first, dead), (second, frozenset())])
    plain = "\n".join(live)
    rng = random.Random(5)
    alphabet = sorted(set("".join(texts.values())))
    parts = {t[-2:] for t in texts.values()} | {t[-1] for t in texts.values()}  # documents' endings
    parts |= {doc[at : at + size] for doc in texts.values() for size in (1, 2) for at in rng.sample(range(len(doc) - 2), 60)}
    parts |= {"".join(rng.sample(alphabet, 2)) for _ in range(300)} | {"大奖", "Ω", "z"}
    found = 0
    for part in sorted(parts):
        expected = part in plain
        assert (part in whole) == expected, part
        assert (part in segmented) == expected or "\n" in part, part  # the segments' never spans two documents
        found += expected
    assert 0 < found < len(parts)  # some of the drawn pairs are absent, and the windows are present
