from qa.embed import HashEmbedder
from qa.index import build, load_snapshot
from qa.normalize import normalize


def test_figure_filters_treat_like_wildcards_literally(mini_settings):
    build(mini_settings, HashEmbedder())
    store = load_snapshot(mini_settings, HashEmbedder()).store
    assert store.figures(metric="_") == []
    percent = store.figures(metric="%")
    assert percent and all("%" in (f.metric or "") + f.sentence for f in percent)
    assert len(percent) < len(store.figures())
    assert store.figures(metric="优良天数")[0].value == 308


def test_figures_keep_raw_offsets(mini_settings):
    build(mini_settings, HashEmbedder())
    snapshot = load_snapshot(mini_settings, HashEmbedder())
    figures = snapshot.store.figures()
    assert len(figures) >= 5
    for fig in figures:
        raw = snapshot.documents[fig.doc_id].text[fig.start : fig.end]
        assert fig.number in normalize(raw).text.replace(" ", "")


def test_the_next_chunk_is_the_one_after_in_the_same_document(mini_settings):
    build(mini_settings, HashEmbedder())
    store = load_snapshot(mini_settings, HashEmbedder()).store
    chunks = sorted((c for _, c, _ in store.all_chunks()), key=lambda c: (c.doc_id, c.ordinal))
    last = {c.doc_id: c for c in chunks}
    for chunk in chunks:
        after = store.next_chunk(chunk)
        if chunk is last[chunk.doc_id]:
            assert after is None
        else:
            assert after is not None and after.doc_id == chunk.doc_id and after.ordinal == chunk.ordinal + 1
            assert after.start > chunk.start


def test_the_chunk_holding_a_span_is_found(mini_settings):
    build(mini_settings, HashEmbedder())
    store = load_snapshot(mini_settings, HashEmbedder()).store
    for _, chunk, _ in store.all_chunks():
        held = store.chunk_holding(chunk.doc_id, chunk.start + 1, chunk.start + 2)
        assert held is not None and held.start <= chunk.start + 1 and chunk.start + 2 <= held.end
    assert store.chunk_holding("no-such-document", 0, 1) is None


def test_figures_of_one_metric_are_looked_up_exactly(mini_settings):
    build(mini_settings, HashEmbedder())
    store = load_snapshot(mini_settings, HashEmbedder()).store
    metric = next(f.metric for f in store.figures() if f.metric)
    found = store.figures_measuring(metric)
    assert found and all(f.metric == metric for f in found)
    assert found == [f for f in store.figures(metric=metric) if f.metric == metric]
    assert store.figures_measuring(metric[:-1]) == [f for f in store.figures() if f.metric == metric[:-1]]
