"""Loaders for every format: citable text in reading order, pages, tables with merged cells, metadata."""

import pytest

from qa.errors import DocumentParseError
from qa.loaders import detect_format, load
from qa.loaders.grid import analyse, render_rows
from qa.loaders.html import html_grid

TABLE_ROWS = ("地区生产总值：2022年 1582.6，2023年 1701.3，增速（%） 6.1。",
              "规上工业增加值：2022年 520.4，2023年 560.2，增速（%） 8.0。")


def _paragraphs(text):
    return [p.replace("\n", "") for p in text.split("\n\n")]


def test_text_and_markdown_are_their_own_text():
    loaded = load("九龙坡区的报告。\n\n第二段。".encode(), "a.md")
    assert loaded.format == "text" and loaded.text == "九龙坡区的报告。\n\n第二段。"
    assert loaded.pages == () and loaded.tables == ()


def test_docx_keeps_document_order_headings_and_the_table_beside_its_caption(made):
    loaded = load(made.docx().read_bytes(), "report.docx")
    paras = _paragraphs(loaded.text)
    assert loaded.meta["title"].startswith("重庆市九龙坡区")
    assert "打造宜居城区 加速提质居民生活圈" in paras
    caption = paras.index("表1 2023年九龙坡区主要经济指标")
    assert paras[caption + 1] == "单位：亿元"
    assert paras[caption + 2] == "".join(TABLE_ROWS)
    (table,) = loaded.tables
    assert table.caption == "表1 2023年九龙坡区主要经济指标" and table.unit == "亿元"
    assert loaded.text[table.start:table.end] == "\n".join(TABLE_ROWS)
    cell = next(c for c in table.cells if (c.row, c.column) == (3, 3))
    assert loaded.text[cell.start:cell.end] == "560.2"


def test_docx_merged_cells_are_filled(tmp_path):
    import docgen

    rows = [["指标", "2023年", ""], ["", "总量", "增速（%）"], ["地区生产总值", "1701.3", "6.1"]]
    path = docgen.gov_docx("正文第一段，说明情况。", tmp_path / "m.docx", title="测试",
                           table=("表2 合并表头", "单位：亿元", rows), merged=[(0, 0, 1, 0), (0, 1, 0, 2)])
    (table,) = load(path.read_bytes(), "m.docx").tables
    assert table.rows[0] == ("指标", "2023年", "2023年")
    assert table.rows[1][0] == "指标"
    assert table.header_rows == 2
    assert table.column_label(3) == "2023年增速（%）"


def test_html_reads_the_article_without_navigation_footer_or_scripts(made):
    script = "<script>document.write('注入的内容');alert(1)</script><style>p{color:red}</style>"
    loaded = load(made.html(script).read_bytes(), "report.html")
    text = loaded.text
    for boilerplate in ("首页", "互动交流", "当前位置", "渝ICP备", "主办", "分享到", "相关链接", "【打印】", "请输入关键字"):
        assert boilerplate not in text, boilerplate
    assert "alert" not in text and "注入的内容" not in text and "<" not in text
    assert "九龙新高园" in _paragraphs(text)[:2]  # after the article's own title, if the page's layout keeps it
    assert "打造宜居城区 加速提质居民生活圈" in _paragraphs(text)
    assert "\n".join(TABLE_ROWS) in text


def test_html_reads_the_open_government_metadata(made):
    meta = load(made.html().read_bytes(), "report.html").meta
    assert meta["title"] == "重庆市九龙坡区：在奋力谱写中国式现代化重庆篇章中勇挑重担、走在前列"
    assert meta["date"] == "2024-06-28" and meta["date_note"] == "成文日期 2024-06-28"
    assert meta["source"] == "九龙坡区人民政府办公室"
    assert meta["index_no"] == "11500107009288443U/2024-00015"
    assert meta["doc_no"] == "九龙坡府办发〔2024〕12号"


def test_html_table_spans_fill_the_grid():
    import lxml.html

    table = lxml.html.fragment_fromstring(
        "<table><tr><th rowspan='2'>指标</th><th colspan='2'>2023年</th></tr>"
        "<tr><th>总量</th><th>增速</th></tr><tr><td>GDP</td><td>1701.3</td><td>6.1</td></tr></table>")
    assert html_grid(table) == [["指标", "2023年", "2023年"], ["指标", "总量", "增速"], ["GDP", "1701.3", "6.1"]]


def test_xlsx_merged_headers_title_and_unit_line(made):
    loaded = load(made.xlsx().read_bytes(), "stats.xlsx")
    (table,) = loaded.tables
    assert table.caption == "2023年九龙坡区规模以上工业主要指标" and table.unit == "亿元"
    assert table.header_rows == 2
    assert table.rows[0] == ("指标", "2023年", "2023年", "2022年")
    assert table.column_label(3) == "2023年增速（%）"
    assert "规上工业增加值：2023年总量 560.2，2023年增速（%） 8.0，2022年总量 520.4。" in loaded.text
    assert loaded.text.endswith("注：规上工业指年主营业务收入2000万元及以上的工业企业。")


def test_csv_blank_header_cells_take_the_merged_header_on_their_left():
    data = "指标,2023年,,2022年\n,总量,增速（%）,总量\n地区生产总值,1701.3,6.1,1582.6\n".encode("gb18030")
    loaded = load(data, "gdp.csv")
    (table,) = loaded.tables
    assert table.rows[0] == ("指标", "2023年", "2023年", "2022年")
    assert loaded.text == "地区生产总值：2023年总量 1701.3，2023年增速（%） 6.1，2022年总量 1582.6。"


def test_ofd_text_per_page(made):
    loaded = load(made.ofd().read_bytes(), "report.ofd")
    assert loaded.format == "ofd" and len(loaded.pages) >= 2
    assert loaded.meta["title"].startswith("重庆市九龙坡区")
    assert all(loaded.text[p.start:p.end].strip() for p in loaded.pages)
    paras = _paragraphs(loaded.text)
    assert "打造宜居城区 加速提质居民生活圈" in paras
    assert "民主村社区是原重庆建设厂配套家属区，社区内的房屋建于20世纪50年代至90年代，随着时间推移，" \
           "社区内管道老旧、房屋老化等问题日渐凸显，与周围时尚精致的商圈风貌难以融合。" in paras


def test_text_pdf_pages_reading_order_and_paragraphs(made):
    loaded = load(made.pdf().read_bytes(), "report.pdf")
    assert loaded.format == "pdf" and len(loaded.pages) == 3
    assert not any(p.ocr for p in loaded.pages)
    assert "- 1 -" not in loaded.text  # page numbers are not document text
    paras = _paragraphs(loaded.text)
    assert paras[:2] == ["重庆市九龙坡区：在奋力谱写中国式现代化重庆篇章中勇挑重担、走在前列", "九龙新高园"]
    assert "打造宜居城区 加速提质居民生活圈" in paras
    for page in loaded.pages:  # every line box lies on its page and inside the page's span
        assert all(page.start <= ln.start < ln.end <= page.end for ln in page.lines)
        assert all(0 <= ln.box[0] < ln.box[2] <= 1 and 0 <= ln.box[1] < ln.box[3] <= 1 for ln in page.lines)
    assert loaded.page_at(0) == 1 and loaded.page_at(len(loaded.text) - 1) == 3


def test_ruled_pdf_table_is_read_as_a_table(made):
    loaded = load(made.table_pdf().read_bytes(), "table.pdf")
    (table,) = loaded.tables
    assert table.page is not None and table.caption == "表1 2023年九龙坡区主要经济指标" and table.unit == "亿元"
    assert loaded.text[table.start:table.end] == "\n".join(TABLE_ROWS)


def test_grid_finds_header_rows_stub_and_unit_column():
    shape = analyse([["指标", "单位", "2022年", "2023年"], ["地区生产总值", "亿元", "1582.6", "1701.3"],
                     ["常住人口", "万人", "152.5", "153.1"]])
    assert shape is not None
    assert (shape.header_rows, shape.stub_columns, shape.unit_column) == (1, 1, 1)
    lines = [line for line, _ in render_rows(shape)]
    assert lines == ["地区生产总值（亿元）：2022年 1582.6，2023年 1701.3。", "常住人口（万人）：2022年 152.5，2023年 153.1。"]


@pytest.mark.parametrize(("name", "data", "message"), [
    ("report.pdf", b"PK\x03\x04" + b"\0" * 40, "report.pdf: the file is a ZIP archive, not a PDF document"),
    ("report.docx", b"%PDF-1.7\n%\xe2\xe3", "report.docx: the file is a PDF document, not a Word document (DOCX); "
                                            "rename it to .pdf"),
    ("scan.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "scan.pdf: the file is an image, not a PDF document; rename it to .png"),
    ("notes.txt", b"%PDF-1.4\n", "notes.txt: the file is a PDF document, not plain text; rename it to .pdf"),
    ("table.xlsx", "甲,乙\n1,2\n".encode(), "table.xlsx: the file is plain text, not an Excel workbook (XLSX)"),
    ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old.doc: the Word 97-2003 (.doc) format is not supported; "
                                                       "save it as .docx, .xlsx or PDF and add it again"),
    ("data.bin", b"abc", "data.bin: unsupported file type .bin"),
])
def test_a_suffix_that_lies_about_the_content_is_refused(name, data, message):
    with pytest.raises(DocumentParseError) as err:
        detect_format(name, data)
    assert str(err.value).startswith(message)


def _read(chars: int, bad: int = 0, cjk: int | None = None, images: int = 0):
    from qa.loaders.pdf import _PageRead

    return _PageRead([], images, 0, chars, bad, chars if cjk is None else cjk)


def test_pages_needing_ocr_are_scans_and_garbled_text_layers():
    from qa.loaders.pdf import _decide_ocr

    reads = [_read(800), _read(0, images=1), _read(3), _read(600, bad=200), _read(700, cjk=5), _read(400, cjk=0)]
    _decide_ocr(reads)
    # readable; a scan; an empty page without an image; (cid:…)/U+FFFD; no Chinese on a Chinese document's page
    assert [r.ocr_reason for r in reads] == [None, "scan", None, "garbled", "garbled", "garbled"]
    english = [_read(900, cjk=0), _read(900, cjk=0)]
    _decide_ocr(english)
    assert [r.ocr_reason for r in english] == [None, None]  # an English document is not garbled for lack of Chinese


def test_ocr_runs_without_a_network(made, tmp_path):
    import shutil
    import subprocess
    import sys

    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True) if unshare else None
    if probe is None or probe.returncode != 0:
        pytest.skip("unshare -n is not available here (needs root or user namespaces)")
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(made.pdf()))
    image = tmp_path / "page.png"
    pdf[0].render(scale=1.5).to_pil().crop((0, 0, 893, 500)).save(image)
    pdf.close()
    code = ("import sys; from pathlib import Path; from qa.loaders import load; "
            "print(load(Path(sys.argv[1]).read_bytes(), 'page.png').text)")
    out = subprocess.run([unshare, "-n", sys.executable, "-c", code, str(image)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "九龙新高园" in out.stdout and "长江之畔" in out.stdout


def test_an_official_document_gives_its_number_issuer_and_signing_date(tmp_path):
    import docgen

    body = ("九龙坡府发〔2024〕12号\n\n各镇人民政府、街道办事处，区政府各部门：\n\n"
            "现将《九龙坡区2024年重点工作安排》印发给你们，请认真贯彻执行。\n\n"
            "重庆市九龙坡区人民政府\n\n二〇二四年三月十八日")
    loaded = load(docgen.gov_docx(body, tmp_path / "notice.docx", title="关于印发重点工作安排的通知").read_bytes(),
                  "notice.docx")
    assert loaded.meta["doc_no"] == "九龙坡府发〔2024〕12号"
    assert loaded.meta["date"] == "2024-03-18" and loaded.meta["date_note"] == "落款日期 二〇二四年三月十八日"
    assert loaded.meta["source"] == "重庆市九龙坡区人民政府"


def test_an_article_whose_box_has_a_boilerplate_sounding_class_is_kept():
    article = "".join(f"<p>第{i}段：九龙坡区持续推进城市更新，民主村社区焕然一新，居民生活更加便利。</p>" for i in range(8))
    page = (f"<html><body><div class='nav'><a>首页</a><a>政务公开</a></div><div class='news_info'>{article}</div>"
            "<div class='footer'>版权所有 重庆市九龙坡区人民政府</div></body></html>")
    text = load(page.encode(), "news.html").text
    assert text.count("民主村社区焕然一新") == 8
    assert "首页" not in text and "版权所有" not in text


@pytest.mark.parametrize("layer", ["(cid:4521)(cid:887)(cid:12)", "\ufffd\ufffd\ufffd", "\ue0a1\ue0b2\ue0c3", "\x01\x04\x05"])
def test_what_counts_as_a_garbled_text_layer(layer):
    from qa.loaders.pdf import _BAD

    assert len(_BAD.findall(layer)) == 3
    assert _BAD.findall("九龙坡区2023年地区生产总值1701.3亿元（增长6.1%）。") == []
