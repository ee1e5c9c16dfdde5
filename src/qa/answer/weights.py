"""Every score weight and threshold of the answer layer, each with how it was set.

Nothing else in :mod:`qa.answer` holds a numeric weight (a test reads the package's source to keep it so):
change a value here and ``qa eval`` shows what moved. "Calibrated" means chosen on ``bench/questions.jsonl``
by the grid named beside it; "measured" means read off the e5 scores of that set; "structural" values say
how much text to look at, not how much to trust it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Weights:
    """Weights and thresholds of evidence scoring, figure matching and the not-found decision."""

    # -- retrieval for answering (structural) ----------------------------------------------------------
    cited: int = 5  # passages cited when the caller does not say (the API's top_k default)
    question_chars: int = 100_000  # limit when answering directly; the service enforces its own, smaller one
    cache_entries: int = 4096  # cleaned passages kept for the number check
    candidates: int = 12  # passages searched for evidence; the first top_k are cited
    year_pool_factor: int = 2  # a year narrows which figures count: look this many times further down
    year_hit_bonus: float = 0.15  # a passage naming the asked year, in units of the top hit's score
    period_hit_bonus: float = 0.1  # a passage naming the asked period (一季度, 十四五)
    latest_bonus: float = 0.1  # 最新/目前: the newest report gains this much, the oldest nothing

    # -- evidence sentences (rank_evidence; hand-set, then checked on the first set) ----------------
    coverage_weight: float = 0.6  # share of the question's idf weight found in the sentence
    retrieval_weight: float = 0.3  # the passage's fused retrieval score relative to the best passage
    rank_penalty: float = 0.02  # per rank of the passage, so ties go to the better passage
    partial_term_credit: float = 0.5  # a term not there whole earns this share of its characters' weight
    window_bonus: float = 0.15  # the sentence sits in the window the dense retriever matched strongly
    window_min_coverage: float = 0.3  # ... and holds at least this much of the question's terms
    unit_bonus: float = 0.2  # how-much question: the sentence has a figure in an expected unit (else minus)
    date_bonus: float = 0.2  # when-question: the sentence states a date
    enumeration_bonus: float = 0.15  # list question: the sentence enumerates (甲、乙、丙)
    explains_bonus: float = 0.15  # 是指什么: the sentence says what a question word stands for (…，即…), as enumeration_bonus
    name_kind_bonus: float = 0.15  # 哪家公司: the sentence names something ending in 公司, 集团 …
    year_bonus: float = 0.1  # the sentence names the asked year
    year_penalty: float = 0.05  # the question names a year and the sentence does not
    heading_penalty: float = 0.15  # a heading standing alone: no sentence ends in it, nothing continues it
    trim_limit: int = 120  # characters a quoted sentence is trimmed to, around the clauses that matter
    sentence_limit: int = 400  # a sentence longer than this is split for scoring
    dense_strong: float = 0.89  # measured: e5 cosine of a question and a two-sentence window that answers it
    dense_strong_english: float = 0.76  # measured: the same across languages (English question, Chinese text)

    # -- figures for how-much questions (match_figures; hand-set, then checked on the first set) ----
    head_term_share: float = 0.4  # a term holding this share of the question's weight is the one it turns on
    sentence_coverage_share: float = 0.8  # the sentence's coverage counts at this share for its figures
    figure_coverage_weight: float = 0.8  # terms found in the figure's own clause
    figure_metric_weight: float = 0.4  # terms found in the figure's metric
    figure_retrieval_weight: float = 0.1  # the passage's retrieval score relative to the best
    figure_window_bonus: float = 0.2  # in the strongly matched dense window
    figure_year_bonus: float = 0.2  # stated for the asked year, not only reported then
    quarter_penalty: float = 0.15  # a quarter's figure for a question that names no period
    target_penalty: float = 0.15  # a target (到2025年) for a question that does not ask for one
    exact_metric_bonus: float = 0.15  # the metric is exactly a question term or its synonym
    scope_penalty: float = 0.3  # a rank in another scope (成渝, 全国) than the one asked (全市)
    measured_bonus: float = 0.15  # 多长的步道: the figure measures that very thing
    qualifier_bonus: float = 0.1  # 超过多少 asks for the figure stated as 超过…
    close_figures: float = 0.15  # figures this close to the best one are shown beside it when they differ
    max_figures: int = 3  # figures quoted for one part at most
    same_metric_share: float = 0.75  # two metrics are the same thing when this share of characters agree

    # -- the not-found decision (calibrated: grid 0.45/0.55/0.65 x 0.4/0.5/0.6) ------------------------
    min_coverage: float = 0.4  # a sentence must hold this share of the question's idf weight
    min_window_coverage: float = 0.25  # ... or this much, inside the strongly matched dense window
    min_used_terms_held: int = 2  # a sentence holding every question word the reports use, if there are this many
    min_figure_score: float = 0.45  # the best figure's match score for a how-much question
    min_dense_english: float = 0.80  # measured: an English question sharing no words needs this e5 cosine
    support_depth: int = 3  # passages whose text counts for the missing-term message and the dense score
    year_depth: int = 8  # sentences searched for the asked year
    when_depth: int = 3  # a when-question may be answered by any of the best few sentences
    lead_in_chars: int = 300  # raw characters before a passage read with it for the thing a figure is about

    # -- term specificity (structural; see qa.answer.decision) ---------------------------------------
    common_word_log10: float = 5.0  # a word seen 10^5 times in jieba's general dictionary is everyday
    rare_word: float = 0.5  # rarity below this: a phrasing word (觉得, 大概), not a topic the reports lack

    # -- question wording (structural) ---------------------------------------------------------------
    rank_scope_chars: int = 8  # a rank (第一) is read with the scope (全市, 全国) named this close before it
    # a measured noun this long is a kind the reports name (高新技术企业, 开发者); two characters (资金, 面积) say how
    # a thing is measured, not what. 3 rather than 4 since 2026-12-01: two near misses more refused on the
    # counted-only sets, nothing lost.
    min_measured_chars: int = 3
    min_measure_word_chars: int = 2  # 利润: the shortest ending of a measure that names it alone
    min_named_place_chars: int = 4  # a named institution (人民医院) must be at least this long
    min_shortened_name_chars: int = 3  # a name this long or longer may be a shortening of a longer one (花博园)
    min_coined_name_chars: int = 3  # a name the reports coin (凌江园); two characters (低碳, 老旧) are words of theirs
    min_district_chars: int = 3  # 渝中区: a district or county name
    min_part_chars: int = 4  # a part of a multi-part question
    min_example_chars: int = 2  # a question word read as one example of a list closed by 等 (one character is no name)
    shared_metric_chars: int = 4  # a question and a figure's metric ending in this many characters name one measure
    compound_part_chars: int = 2  # 城镇 + 居民: the shortest qualifier and head of a compound question word
    set_phrase_chars: int = 4  # 对外开放: a set phrase this long ends in a verb of its own (开放), its head
    max_parts: int = 3  # parts of a multi-part question answered at most
    subject_question_chars: int = 14  # a question this long names something of its own
    english_share: float = 0.5  # share of Latin letters that makes a question English
    closest_min_coverage: float = 0.25  # a refusal quotes the nearest sentence only if it holds this much of the question
    overview_sentences: int = 4  # an open question (介绍一下…) is answered by up to this many sentences
    repeat_overlap: float = 0.6  # an overview sentence sharing this much of another's character pairs repeats it
    list_follow_chars: int = 220  # a list's announcing sentence is quoted with what follows, up to this
    counted_kind_chars: int = 3  # 3个优势产业: the kind a heading counts is found by its last characters (势产业)
    counted_list_passages: int = 3  # passages after the quoted one that a counted list is read on into
    counted_lead_chars: int = 12  # a counted list is quoted from its heading clause's start when it is this close
    # -- the slot a question asks to be filled (qa.answer.slots; structural, then checked on the dev sets) --
    slot_depth: int = 5  # sentences searched for one that fills the slot when the best does not
    premise_depth: int = 5  # sentences searched for a figure the question states before it is a false premise
    direction_reach: int = 6  # characters before a figure read for the way it moved (下降了, 提升至)
    carried_noun_share: float = 0.5  # of its weight, a noun a later part takes from the first part's subject
    min_event_chars: int = 2  # a happening a when-question asks about is a word of this many characters (闭馆)
    slot_name_chars: int = 2  # characters of a name before a place or body ending (渝州路, 区教委; not 镇街)
    slot_list_items: int = 2  # fillers a question asking for several (哪些地方) needs; items of an enumeration


WEIGHTS = Weights()
