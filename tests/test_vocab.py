"""The corpus-derived vocabulary, the QA_VOCABULARY switch, and an index that notices changed settings."""

import json
import random

import pytest

import qa.answer
from conftest import CORPUS
from qa.embed import HashEmbedder
from qa.errors import IndexStoreError
from qa.index import VOCAB_FILE, build, current_version, load_snapshot, read_meta
from qa.ingest import load_corpus
from qa.lexical import (
    Vocabulary,
    active_vocabulary,
    aliases,
    colloquial,
    expand,
    find_colloquial,
    install_vocabulary,
    pinned_vocabulary,
    tokenize,
)
from qa.normalize import normalize
from qa.query import translate_terms
from qa.retrieve import search
from qa.service import Service
from qa.types import Answer
from qa.vocab import discover, read_terms, write_terms

# Everyday report phrases: filler for the synthetic texts, so that no made-up string is rare by accident.
_FILLER = ["全区经济运行总体平稳", "城市建设取得新进展", "公共服务水平不断提高", "居民收入稳步增长",
           "生态环境持续改善", "社会事业全面发展", "基础设施更加完善", "营商环境不断优化", "产业结构持续调整",
           "科技创新能力增强", "重点项目顺利推进", "民生保障更加有力"]
_LEFT = ["推进", "建设", "完成", "启动", "加快", "实施", "规划", "整治", "保护", "提升", "打造", "开展"]
_RIGHT = ["工程", "建设", "治理", "项目", "规划", "改造", "保护", "开发", "配套", "提升", "管理", "运营"]


def synthetic_report(seed: int = 7) -> str:
    """Report-like text with a made-up place, 犁鸥坝, in varied contexts, and a made-up 鹬枥 always before 园区."""
    rng = random.Random(seed)
    sentences = []
    for i in range(60):
        sentences.append(rng.choice(_FILLER) + "，" + rng.choice(_FILLER))
        if i % 4 == 0:
            sentences.append(f"{rng.choice(_LEFT)}犁鸥坝{rng.choice(_RIGHT)}")
        if i % 6 == 0:
            sentences.append(f"{rng.choice(_LEFT)}鹬枥园区{rng.choice(_RIGHT)}")
        if i % 3 == 0:  # a frequent phrase that jieba already cuts into whole words
            sentences.append(f"{rng.choice(_LEFT)}科技创新{rng.choice(_RIGHT)}")
    return "。".join(sentences) + "。"


# -- discovery ---------------------------------------------------------------------------------------------
def test_a_made_up_term_in_varied_contexts_is_discovered():
    words = {t.word for t in discover([synthetic_report()])}
    assert "犁鸥坝" in words


def test_a_term_that_never_stands_alone_is_found_whole():
    # 鹬枥 is always followed by 园区: its right neighbours never vary, so the word is 鹬枥园区.
    words = {t.word for t in discover([synthetic_report()])}
    assert "鹬枥园区" in words and "鹬枥" not in words


def test_common_phrases_and_words_jieba_already_has_are_not_discovered():
    terms = discover([synthetic_report()])
    words = {t.word for t in terms}
    assert "科技创新" not in words  # jieba cuts it into 科技 / 创新: nothing to add
    assert not [w for w in words if "的" in w or w in ("经济运行", "城市建设", "民生保障")]
    assert not [w for w in words if "犁鸥坝" in w and w != "犁鸥坝"]  # the term, not the term plus a neighbour


def test_a_term_seen_once_is_not_a_word():
    assert discover(["我们在犁鸥坝建设新的公园。全区经济运行总体平稳。"]) == []


def test_statistics_are_kept_with_each_word():
    term = next(t for t in discover([synthetic_report()]) if t.word == "犁鸥坝")
    assert term.count == 15 and term.cohesion >= 4.0 and term.freedom >= 0.9
    assert read_terms(write_terms([term])) == ["犁鸥坝"]


def test_district_terms_are_discovered_in_the_real_corpus():
    docs, _ = load_corpus(CORPUS)
    terms = discover(normalize(d.text).text for d in docs)
    words = [t.word for t in terms]
    for district_term in ("跳磴河", "中梁山", "西彭园区", "黄磏港", "九龙滩", "铜罐驿", "民主村", "谢家湾小学"):
        assert district_term in words
    # 杨家坪 and 九龙坡 are words of jieba's own dictionary already, and 西彭 never occurs without 园区.
    assert not {"杨家坪", "九龙坡", "西彭"} & set(words)
    assert not [w for w in words if "的" in w or "了" in w]
    assert [t.count for t in terms] == sorted((t.count for t in terms), reverse=True)


# -- the vocabulary and its switch ---------------------------------------------------------------------------
def test_a_discovered_word_is_kept_whole_and_tagged_a_noun():
    plain, found = Vocabulary.for_mode("none"), Vocabulary.for_mode("discovered", ["犁鸥坝"])
    assert "犁鸥坝" not in plain.tokenize("犁鸥坝治理工程") and "犁鸥坝" in found.tokenize("犁鸥坝治理工程")
    assert ("犁鸥坝", "n") in found.pos_tag("犁鸥坝治理工程")


def test_the_setting_chooses_the_files_and_the_words():
    assert Vocabulary.for_mode("both", ["犁鸥坝"]).discovered == ("犁鸥坝",)
    assert Vocabulary.for_mode("curated", ["犁鸥坝"]).discovered == ()
    assert Vocabulary.for_mode("discovered").curated is False and Vocabulary.for_mode("both").curated is True
    assert Vocabulary.for_mode("none", ["犁鸥坝"]).fingerprint != Vocabulary.for_mode("both", ["犁鸥坝"]).fingerprint
    assert Vocabulary.for_mode("both", ["犁鸥坝"]) is Vocabulary.for_mode("both", ["犁鸥坝"])


def test_without_curation_no_hand_written_file_is_used():
    with pinned_vocabulary(Vocabulary.for_mode("discovered")):
        assert colloquial() == {} and find_colloquial("出门能找到锻炼身体的地方吗") == []
        assert "市场主体" not in expand("在九龙坡注册开公司、办个体户的多不多")
        assert translate_terms("What was the forest coverage rate in 2020?") == "2020年"
        assert "跳磴河" not in tokenize("跳磴河综合整治")  # userdict.txt is off, and this vocabulary lacks it
        assert aliases()["gdp"]  # synonyms.txt stays: it is a thesaurus, not district vocabulary
    with pinned_vocabulary(Vocabulary.for_mode("curated")):
        assert find_colloquial("出门能找到锻炼身体的地方吗") == [(5, 9, "锻炼身体")]
        assert "森林覆盖率" in translate_terms("What was the forest coverage rate in 2020?")


def test_a_pinned_vocabulary_wins_over_the_installed_one_and_is_released():
    installed, pinned = Vocabulary.for_mode("none"), Vocabulary.for_mode("curated")
    install_vocabulary(installed)
    with pinned_vocabulary(pinned):
        assert active_vocabulary() is pinned
    assert active_vocabulary() is installed


# -- the index -----------------------------------------------------------------------------------------------
def _stored_tokens_match(settings) -> bool:
    snapshot = load_snapshot(settings, HashEmbedder())
    try:
        return all(tokens == snapshot.vocabulary.tokenize(chunk.clean)
                   for _, chunk, tokens in snapshot.store.all_chunks())
    finally:
        snapshot.close()


def test_the_index_stores_its_vocabulary_and_cuts_chunks_with_it(corpus_settings):
    build(corpus_settings, HashEmbedder())
    version = current_version(corpus_settings.index_dir)
    meta = read_meta(version)
    words = read_terms((version / VOCAB_FILE).read_text(encoding="utf-8"))
    assert meta["vocabulary"] == "both" and meta["discovered_words"] == len(words) and "黄磏港" in words
    snapshot = load_snapshot(corpus_settings, HashEmbedder())
    assert snapshot.vocabulary.discovered == tuple(words) and active_vocabulary() is snapshot.vocabulary
    assert any("黄磏港" in tokens for _, _, tokens in snapshot.store.all_chunks())
    assert _stored_tokens_match(corpus_settings)


def test_a_changed_vocabulary_setting_is_refused_then_recut_without_embedding(corpus_settings):
    first = build(corpus_settings, HashEmbedder())
    plain = corpus_settings.model_copy(update={"vocabulary": "none"})
    with pytest.raises(IndexStoreError, match=r"built with QA_VOCABULARY=both, but the setting is none; run `qa build`"):
        load_snapshot(plain, HashEmbedder())
    report = build(plain, HashEmbedder())
    assert report.changed and report.retokenized == first.chunks and report.embedded == 0 and report.added == []
    snapshot = load_snapshot(plain, HashEmbedder())
    assert snapshot.vocabulary.curated is False and snapshot.vocabulary.discovered == ()
    assert not any("跳磴河" in tokens for _, _, tokens in snapshot.store.all_chunks())
    assert _stored_tokens_match(plain)
    assert not build(plain, HashEmbedder()).changed


def test_a_new_document_recuts_the_unchanged_chunks_with_the_new_vocabulary(corpus_settings):
    first = build(corpus_settings, HashEmbedder())
    (corpus_settings.corpus_dir / "new.txt").write_text(synthetic_report(), encoding="utf-8")
    report = build(corpus_settings, HashEmbedder())
    assert report.added == ["new"] and report.retokenized == first.chunks
    snapshot = load_snapshot(corpus_settings, HashEmbedder())
    assert "犁鸥坝" in snapshot.vocabulary.discovered
    assert _stored_tokens_match(corpus_settings)


def test_an_edited_dictionary_file_is_noticed(corpus_settings, monkeypatch):
    build(corpus_settings, HashEmbedder())
    import qa.lexical

    real = qa.lexical._data
    monkeypatch.setattr(qa.lexical, "_data", lambda name: real(name) + ("犁鸥坝 1000 ns\n" if name == "userdict.txt" else ""))
    qa.lexical._shared.cache_clear()
    try:
        with pytest.raises(IndexStoreError, match=r"the vocabulary changed since index v-.* was built; run `qa build`"):
            load_snapshot(corpus_settings, HashEmbedder())
    finally:
        qa.lexical._shared.cache_clear()


def test_a_changed_chunk_size_is_refused_then_rechunked(mini_settings):
    first = build(mini_settings, HashEmbedder())
    smaller = mini_settings.model_copy(update={"chunk_target": 60, "chunk_limit": 100})
    message = (r"index was chunked with QA_CHUNK_TARGET=240, QA_CHUNK_LIMIT=400, but the settings say 60, 100; "
               r"run `qa build`")
    with pytest.raises(IndexStoreError, match=message):
        load_snapshot(smaller, HashEmbedder())
    with pytest.raises(IndexStoreError, match=message):
        Service.from_settings(smaller, HashEmbedder(), auto_build=False)
    report = build(smaller, HashEmbedder())
    assert report.changed and sorted(report.added) == ["narrow", "wrapped"] and report.chunks > first.chunks
    meta = read_meta(current_version(mini_settings.index_dir))
    assert (meta["chunk_target"], meta["chunk_limit"]) == (60, 100)
    snapshot = load_snapshot(smaller, HashEmbedder())
    assert all(len(chunk.clean) <= 100 for _, chunk, _ in snapshot.store.all_chunks())


def test_serving_with_a_changed_chunk_size_rebuilds_first(mini_settings):
    build(mini_settings, HashEmbedder())
    smaller = mini_settings.model_copy(update={"chunk_target": 60, "chunk_limit": 100})
    service = Service.from_settings(smaller, HashEmbedder())
    assert service.snapshot.meta["chunk_target"] == 60
    service.snapshot.close()


# -- one vocabulary per request ---------------------------------------------------------------------------
def test_a_question_is_cut_with_its_snapshots_vocabulary(hash_service, monkeypatch):
    other = Vocabulary.for_mode("none")
    install_vocabulary(other)  # as if another index version had been loaded since
    seen = []
    monkeypatch.setattr(qa.answer, "answer",
                        lambda *args, **kwargs: seen.append(active_vocabulary()) or Answer("q", False, ""))
    hash_service.ask("跳磴河治理累计投入了多少资金？")
    assert seen == [hash_service.snapshot.vocabulary] and seen[0] is not other
    with_other = [h.chunk.chunk_id for h in search(hash_service.snapshot, "黄磏港建成", k=3, mode="lexical")]
    install_vocabulary(hash_service.snapshot.vocabulary)
    assert with_other == [h.chunk.chunk_id for h in search(hash_service.snapshot, "黄磏港建成", k=3, mode="lexical")]


def test_meta_records_the_vocabulary(corpus_settings):
    build(corpus_settings.model_copy(update={"vocabulary": "curated"}), HashEmbedder())
    meta = json.loads((current_version(corpus_settings.index_dir) / "meta.json").read_text(encoding="utf-8"))
    assert meta["vocabulary"] == "curated" and meta["discovered_words"] == 0
    assert (current_version(corpus_settings.index_dir) / VOCAB_FILE).read_text(encoding="utf-8").count("\n") == 1
