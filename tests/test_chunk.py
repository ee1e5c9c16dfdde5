from itertools import pairwise
from pathlib import Path

import pytest

from qa.chunk import chunk_document, split_sentences
from qa.ingest import load_corpus

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def corpus_chunks():
    docs, problems = load_corpus(CORPUS)
    assert not problems
    return [(doc, chunk) for doc in docs for chunk in chunk_document(doc)]


def test_every_chunk_is_exactly_its_raw_span():
    pairs = corpus_chunks()
    assert len(pairs) > 50
    for doc, chunk in pairs:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip() == chunk.text  # spans start and end on content, not on wraps


def test_chunks_cover_every_document_in_order_with_bounded_size():
    docs, _ = load_corpus(CORPUS)
    for doc in docs:
        chunks = chunk_document(doc)
        assert chunks[0].start <= 5
        assert doc.text[chunks[-1].end :].strip() == ""
        for a, b in pairwise(chunks):
            assert a.start < b.start  # in order; overlapping by at most the carried sentence
            assert doc.text[a.end : b.start].strip() == ""  # and nothing between them is lost
        assert max(len(c.clean) for c in chunks) <= 400


def test_chunk_ids_are_unique_content_hashes():
    pairs = corpus_chunks()
    ids = [c.chunk_id for _, c in pairs]
    assert len(ids) == len(set(ids))
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第一句。第二句！第三句？", ["第一句。", "第二句！", "第三句？"]),
        ("他说：“好。”然后走了。", ["他说：“好。”", "然后走了。"]),
        ("标题\n正文第一句；正文第二句。", ["标题", "正文第一句；", "正文第二句。"]),
    ],
)
def test_sentences_end_at_chinese_punctuation_closing_quotes_and_lines(text, expected):
    assert [text[s.start : s.end] for s in split_sentences(text)] == expected


def test_headings_are_marked():
    sentences = split_sentences("打造宜居城区 加速提质居民生活圈\n走进民主村社区，沿街黄桷树高大茂盛。")
    assert [s.heading for s in sentences] == [True, False]


def test_an_overlong_sentence_is_cut_at_a_comma():
    text = "，".join(["九龙坡区推进城市更新项目建设"] * 40) + "。"
    pieces = split_sentences(text, limit=100)
    assert all(s.end - s.start <= 100 for s in pieces)
    assert "".join(text[s.start : s.end] for s in pieces) == text
