from pathlib import Path

import pytest

from qa.normalize import fold_query, normalize

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def test_hard_wraps_and_inner_spaces_are_removed():
    raw = "九龙坡作为老工业基地坚持创新发 展,全面贯彻落实党中央决策部署和习 近平总书记对重庆的殷殷嘱托,积极投 身成渝地区双城经济圈建设。"
    assert normalize(raw).text == (
        "九龙坡作为老工业基地坚持创新发展，全面贯彻落实党中央决策部署和习近平总书记对重庆的殷殷嘱托，积极投身成渝地区双城经济圈建设。"
    )


def test_a_lone_space_in_an_ordinary_line_is_kept():
    assert normalize("产业升级 城市更新").text == "产业升级 城市更新"


def test_newline_wraps_join_without_spaces():
    raw = "工业经济量质\n齐升，总量保持全\n市前列。"
    assert normalize(raw).text == "工业经济量质齐升，总量保持全市前列。"


def test_paragraphs_stay_apart():
    assert normalize("第一段。\n\n第二段。").text == "第一段。\n第二段。"


def test_bold_markers_and_fullwidth_digits():
    norm = normalize("空气质量优良天数**308天**;产能１００万吨")
    assert norm.text == "空气质量优良天数308天；产能100万吨"


def test_numbers_keep_their_separators():
    assert normalize("投资1,000万元,时间10:30").text == "投资1,000万元，时间10:30"


def test_latin_words_keep_one_space():
    assert normalize("open   source,\nproject").text == "open source, project"


def test_straight_quotes_become_paired_chinese_quotes():
    assert normalize('深化"双自联动",推进"一区两群"').text == "深化“双自联动”，推进“一区两群”"


def test_offsets_point_at_the_source_character():
    raw = "2020年地区生\n产总值突破**1500**亿元"
    norm = normalize(raw)
    i = norm.text.index("1500")
    start, end = norm.raw_span(i, i + 4)
    assert raw[start:end] == "1500"
    start, end = norm.raw_span(0, len(norm.text))
    assert raw[start:end] == raw


def test_raw_span_rejects_empty_and_outside_spans():
    norm = normalize("九龙坡")
    with pytest.raises(ValueError, match="outside"):
        norm.raw_span(2, 2)
    with pytest.raises(ValueError, match="outside"):
        norm.raw_span(0, 9)


def test_interleaved_columns_become_hard_breaks():
    raw = ("于是，在黄桷坪街道九龙花园九龙三村里，30 岁的老小区丝毫不见垂暮之气——人脸识别系统把 "
           "乐随季节变换，智能无水生态公厕不用冲水，扫码即 守着楼栋人口，院落干净整洁，绿地翠意盎然，路面")
    lines = normalize(raw).text.split("\n")
    assert len(lines) == 4
    assert lines[2] == "乐随季节变换，智能无水生态公厕不用冲水，扫码即"


def test_a_full_width_column_wrapped_into_spaces_is_joined_not_cut():
    # pieces twice a newspaper column's width: one column whose line wraps became spaces (9个 子项目 is one phrase)
    raw = ("泉、寺等资源，标定为“全球知名旅游目的地”的重大工程——中梁山生态景区正式开建。9个 "
           "子项目、6年时间、三期推进，九龙坡人要把中梁山打造成长江经济带生态文明修复的典范。 "
           "改建而成的中梁山花博园，只是景区的一个组成部分。按照规划，中梁村、云峰村将变身 "
           "国际康养城；东侧山麓，将依托重庆西站重装打造临港经济区。")
    text = normalize(raw).text
    assert "\n" not in text and "9个子项目、6年时间、三期推进" in text and "将变身国际康养城" in text


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.stem)
def test_every_clean_character_comes_from_its_raw_character(path):
    raw = path.read_text(encoding="utf-8")
    norm = normalize(raw)
    assert len(norm.offsets) == len(norm.text)
    assert list(norm.offsets) == sorted(norm.offsets)
    for ch, at in zip(norm.text, norm.offsets, strict=True):
        if ch in "\n ":
            continue
        source = raw[at]
        assert ch == source or ch in "，；：？！（）“”" or (ord(source) >= 0xFF00 and ord(ch) < 0x80), (ch, source, at)


def test_fold_query_flattens_lines():
    assert fold_query("  九龙坡\n２０２０年 GDP ") == "九龙坡2020年 GDP"
