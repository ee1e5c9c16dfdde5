"""Test documents made with real tools: reportlab PDFs with an embedded CJK font, scans, DOCX, HTML, XLSX, OFD.

Every maker writes a file the way a publisher's software would, from a plain-text report. The CJK font is
Debian's Noto Sans CJK SC (``fonts-noto-cjk``): reportlab embeds TrueType outlines only, so the needed
glyphs are subset with fontTools and their cubic outlines converted to quadratic ones (cu2qu) first.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

NOTO = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
NOTO_SC = 2  # index of Noto Sans CJK SC in the collection
FONT_NAME = "NotoSansSC"
A4 = (595.28, 841.89)


def paragraphs(text: str) -> list[str]:
    """The report's paragraphs: blocks separated by blank lines, inner wraps joined."""
    blocks = [b.strip() for b in text.split("\n\n")]
    return ["".join(line.strip() for line in b.splitlines()) for b in blocks if b.strip()]


def cjk_ttf(chars: str, folder: Path) -> Path:
    """A TrueType subset of Noto Sans CJK SC holding ``chars`` (plus ASCII), for reportlab to embed."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.subset import Options, Subsetter
    from fontTools.ttLib import TTFont, newTable

    wanted = sorted(set(chars) | {chr(c) for c in range(32, 127)} | set("，。、；：？！“”‘’（）《》…—·％"))
    key = format(abs(hash("".join(wanted))) % 10**12, "d")
    out = folder / f"noto-sc-{key}.ttf"
    if out.exists():
        return out
    font = TTFont(str(NOTO), fontNumber=NOTO_SC)
    options = Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = Subsetter(options)
    subsetter.populate(text="".join(wanted))
    subsetter.subset(font)
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = font.getGlyphOrder()
    glyf.glyphs = {}
    for name in glyf.glyphOrder:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    font["maxp"].tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(font["maxp"], attr, 0 if attr != "maxZones" else 1)
    font["maxp"].maxComponentDepth = 0
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 2.0
    font["post"].extraNames = []
    font["post"].mapping = {}
    font.sfntVersion = "\x00\x01\x00\x00"
    for record in font["name"].names:  # reportlab keys faces by PostScript name: one name per subset
        if record.nameID in (1, 4, 6):
            record.string = f"NotoSansSC{key}"
    font.save(str(out))
    return out


def _register(font_path: Path) -> str:
    """Register a subset under its own name (reportlab keeps the first font registered under a name)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = f"{FONT_NAME}-{font_path.stem.rsplit('-', 1)[-1]}"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(font_path)))
    return name


def _wrap(text: str, width: float, size: float, first_indent: float, font: str) -> list[str]:
    """Cut a paragraph into lines that fit ``width`` (Chinese wraps between any two characters)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, line, room = [], "", width - first_indent
    for ch in text:
        if line and stringWidth(line + ch, font, size) > room:
            lines.append(line)
            line, room = "", width
        line += ch
    if line:
        lines.append(line)
    return lines


Table = Sequence[Sequence[str]]


def text_pdf(text: str, path: Path, font_dir: Path, *, title: str | None = None, size: float = 12,
             table: tuple[str, str, Table] | None = None, page_numbers: bool = True) -> Path:
    """A text PDF of a report: A4, wrapped paragraphs with a two-character indent, page numbers below.

    ``table`` is ``(caption, unit line, rows)``; it is drawn ruled, after the first third of the paragraphs.
    """
    from reportlab.pdfgen import canvas

    paras = paragraphs(text)
    extra = title or ""
    if table:
        extra += table[0] + table[1] + "".join("".join(r) for r in table[2])
    font = _register(cjk_ttf(text + extra, font_dir))
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setTitle(title or paras[0][:40])
    left, right, top, bottom = 72.0, A4[0] - 72.0, A4[1] - 72.0, 80.0
    leading = size * 1.6
    y = top
    page = 1

    def new_page() -> None:
        nonlocal y, page
        if page_numbers:
            pdf.setFont(font, 10)
            pdf.drawCentredString(A4[0] / 2, 48, f"- {page} -")
        pdf.showPage()
        page += 1
        y = top

    blocks: list[tuple[str, object]] = []
    if title:
        blocks.append(("title", title))
    cut = len(paras) // 3 if table else -1
    for i, para in enumerate(paras):
        blocks.append(("para", para))
        if i == cut and table:
            blocks.append(("table", table))
    for kind, content in blocks:
        if kind == "title":
            pdf.setFont(font, size + 6)
            pdf.drawCentredString(A4[0] / 2, y, str(content))
            y -= leading * 2
            continue
        if kind == "table":
            caption, unit, rows = content  # type: ignore[misc]
            need = leading * (len(rows) + 3)
            if y - need < bottom:
                new_page()
            pdf.setFont(font, size)
            pdf.drawCentredString(A4[0] / 2, y, caption)
            y -= leading
            pdf.setFont(font, size - 2)
            pdf.drawRightString(right, y, unit)
            y -= leading * 0.6
            cols = len(rows[0])
            first = (right - left) * 0.34
            widths = [first] + [((right - left) - first) / (cols - 1)] * (cols - 1)
            row_h = leading * 1.2
            for _r, row in enumerate(rows):
                x = left
                for c, cell in enumerate(row):
                    pdf.rect(x, y - row_h, widths[c], row_h, stroke=1, fill=0)
                    pdf.drawString(x + 4, y - row_h + 0.35 * row_h, cell)
                    x += widths[c]
                y -= row_h
            y -= leading
            continue
        lines = _wrap(str(content), right - left, size, 2 * size, font)
        short = len(lines) == 1 and len(str(content)) <= 30 and str(content)[-1] not in "。！？；…"
        pdf.setFont(font, size)
        for n, line in enumerate(lines):
            if y < bottom:
                new_page()
                pdf.setFont(font, size)
            indent = 0.0 if short else (2 * size if n == 0 else 0.0)
            pdf.drawString(left + indent, y, line)
            y -= leading
        y -= leading * 0.5
    new_page()
    pdf.save()
    return path


def scanned_pdf(source_pdf: Path, path: Path, dpi: int = 100, pages: Sequence[int] | None = None) -> Path:
    """The PDF printed and scanned: each page rendered to a greyscale image and wrapped as an image-only PDF."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(source_pdf))
    images = []
    try:
        for i in pages if pages is not None else range(len(doc)):
            image = doc[i].render(scale=dpi / 72).to_pil().convert("L")
            images.append(image)
    finally:
        doc.close()
    images[0].save(path, "PDF", resolution=float(dpi), save_all=True, append_images=images[1:])
    return path


def strip_unicode_maps(source_pdf: Path, path: Path) -> Path:
    """The same PDF with every font's ``/ToUnicode`` map removed, as many 公文 PDFs are published."""
    import pikepdf

    with pikepdf.open(source_pdf) as pdf:
        for page in pdf.pages:
            fonts = page.Resources.get("/Font", {})
            for name in list(fonts.keys()):
                font = fonts[name]
                if "/ToUnicode" in font:
                    del font["/ToUnicode"]
                for child in font.get("/DescendantFonts", []):
                    if "/ToUnicode" in child:
                        del child["/ToUnicode"]
        pdf.save(path)
    return path


def encrypted_pdf(source_pdf: Path, path: Path, password: str = "secret") -> Path:
    """The PDF protected by a user password (AES-256)."""
    import pikepdf

    with pikepdf.open(source_pdf) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user=password, owner=password + "-owner", R=6))
    return path


def gov_docx(text: str, path: Path, *, title: str, table: tuple[str, str, Table] | None = None,
             merged: Sequence[tuple[int, int, int, int]] = ()) -> Path:
    """A DOCX in 公文 layout (cn-gov-docx), headings as 黑体 headings, an optional table after a third.

    ``merged`` lists ``(row, col, row2, col2)`` ranges of the table to merge (python-docx ``Cell.merge``).
    """
    from cn_gov_docx import CnGovDocx

    doc = CnGovDocx()
    doc.add_title(title)
    paras = paragraphs(text)
    cut = len(paras) // 3 if table else -1
    for i, para in enumerate(paras):
        if len(para) <= 30 and para[-1] not in "。！？；…":
            doc.add_h1(para)
        else:
            doc.add_text(para)
        if i == cut and table:
            caption, unit, rows = table
            doc.add_text(caption, indent_first_line=False)
            doc.add_text(unit, indent_first_line=False)
            grid = doc.doc.add_table(rows=len(rows), cols=len(rows[0]))
            grid.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if value:
                        grid.cell(r, c).text = value
            for r1, c1, r2, c2 in merged:
                text_kept = grid.cell(r1, c1).text
                cell = grid.cell(r1, c1).merge(grid.cell(r2, c2))
                cell.text = text_kept
    doc.save(str(path))
    return path


def gov_html(text: str, *, title: str, publisher: str, written: str, published: str, index_no: str,
             doc_no: str, table: tuple[str, str, Table] | None = None, script: str = "") -> str:
    """A page shaped like a district government site: navigation, 政务公开 box, article, footer."""
    from html import escape

    body = []
    paras = paragraphs(text)
    cut = len(paras) // 3 if table else -1
    for i, para in enumerate(paras):
        if len(para) <= 30 and para[-1] not in "。！？；…":
            body.append(f"<h3>{escape(para)}</h3>")
        else:
            body.append(f"<p style=\"text-indent:2em\">{escape(para)}</p>")
        if i == cut and table:
            caption, unit, rows = table
            body.append(f"<p style=\"text-align:center\"><strong>{escape(caption)}</strong></p>")
            body.append(f"<p style=\"text-align:right\">{escape(unit)}</p>")
            cells = []
            head = rows[0]
            cells.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>")
            cells.extend("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows[1:])
            body.append("<table border=\"1\"><tbody>" + "".join(cells) + "</tbody></table>")
    nav = "".join(f'<li><a href="/{k}/">{v}</a></li>' for k, v in
                  [("", "首页"), ("zwgk", "政务公开"), ("zwxx", "政务信息"), ("bsfw", "办事服务"), ("hdjl", "互动交流")])
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(title)}_重庆市九龙坡区人民政府</title>
<meta name="SiteName" content="重庆市九龙坡区人民政府">
<meta name="ArticleTitle" content="{escape(title)}">
<meta name="PubDate" content="{published} 09:30">
<meta name="ContentSource" content="{escape(publisher)}">
<script src="/js/jquery.min.js"></script>{script}
</head><body>
<div class="header"><div class="logo">重庆市九龙坡区人民政府</div>
<div class="search"><input type="text" placeholder="请输入关键字"><button>搜索</button></div></div>
<div class="nav"><ul>{nav}</ul></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; 统计信息</div>
<div class="zwgk-box"><table class="zwgk-info">
<tr><td>索引号：</td><td>{escape(index_no)}</td><td>发布机构：</td><td>{escape(publisher)}</td></tr>
<tr><td>发文字号：</td><td>{escape(doc_no)}</td><td>成文日期：</td><td>{written}</td></tr>
<tr><td>主题分类：</td><td>统计信息</td><td>发布日期：</td><td>{published}</td></tr>
</table></div>
<div class="article"><h1 class="title">{escape(title)}</h1>
<div class="info">发布时间：{published} 来源：{escape(publisher)} 【字体：大 中 小】 【打印】</div>
<div class="TRS_Editor" id="zoom">{"".join(body)}</div>
<div class="share">分享到：微信 微博</div></div>
<div class="related"><h4>相关链接</h4><ul><li><a href="/a">重庆市统计局</a></li><li><a href="/b">国家统计局</a></li></ul></div>
<div class="footer"><p>主办：重庆市九龙坡区人民政府办公室 承办：九龙坡区大数据应用发展管理局</p>
<p>网站标识码：5001070001 渝ICP备05003300号 渝公网安备 50010702500123号</p></div>
</body></html>"""


def stats_xlsx(path: Path, *, title: str, unit: str, header: Sequence[str], subheader: Sequence[str],
               rows: Table, merges: Sequence[str], formulas: bool = False, note: str | None = None) -> Path:
    """A statistical table as a statistics bureau publishes it: merged title, a 单位 line, merged headers."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "主要指标"
    width = len(header)
    ws.append([title] + [None] * (width - 1))
    ws.append([unit] + [None] * (width - 1))
    ws.append(list(header))
    ws.append(list(subheader))
    for row in rows:
        ws.append([_cell_value(v) for v in row])
        for cell, text in zip(ws[ws.max_row], row, strict=True):
            if "." in text and isinstance(cell.value, float):
                cell.number_format = "0." + "0" * len(text.split(".")[1])
    if formulas:
        last = ws.max_row + 1
        ws.append(["合计"] + [f"=SUM({chr(65 + c)}5:{chr(65 + c)}{last - 1})" for c in range(1, width)])
    if note:
        ws.append([note])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    for rng in merges:
        ws.merge_cells(rng)
    wb.save(path)
    return path


def _cell_value(value: str) -> object:
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        return value


def ofd(text: str, path: Path, *, title: str, per_page: int = 1200) -> Path:
    """An OFD (GB/T 33190) package: OFD.xml, a document with one font resource and pages of TextObjects."""
    from xml.sax.saxutils import escape

    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    paras = paragraphs(text)
    pages: list[list[str]] = [[]]
    size = 0
    for para in paras:
        if size + len(para) > per_page and pages[-1]:
            pages.append([])
            size = 0
        pages[-1].append(para)
        size += len(para)
    files: dict[str, str] = {}
    files["OFD.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} DocType="OFD" Version="1.1">'
                        f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>0a1b2c</ofd:DocID><ofd:Title>{escape(title)}"
                        "</ofd:Title><ofd:Author>九龙坡区</ofd:Author><ofd:CreationDate>2024-07-01</ofd:CreationDate>"
                        "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
    page_refs = "".join(f'<ofd:Page ID="{i + 2}" BaseLoc="Pages/Page_{i}/Content.xml"/>' for i in range(len(pages)))
    files["Doc_0/Document.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData><ofd:MaxUnitID>9999</ofd:MaxUnitID>'
        '<ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>'
        '<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>'
        f"<ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>")
    files["Doc_0/PublicRes.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {ns} BaseLoc="Res"><ofd:Fonts>'
        '<ofd:Font ID="1" FontName="仿宋_GB2312" FamilyName="仿宋"/></ofd:Fonts></ofd:Res>')
    obj = 1000
    for i, page in enumerate(pages):
        objects = []
        y = 30.0
        for para in page:
            heading = len(para) <= 30 and para[-1] not in "。！？；…"
            indent = 0 if heading else 2  # a paragraph's first line is indented two characters
            lines = [para[:30 - indent]] + [para[k:k + 30] for k in range(30 - indent, len(para), 30)]
            for n, line in enumerate(lines):
                obj += 1
                x = 25 + (indent * 5.3 if n == 0 else 0)
                objects.append(
                    f'<ofd:TextObject ID="{obj}" Boundary="{x:.1f} {y:.1f} {len(line) * 5.3:.1f} 6" Font="1" Size="5.3">'
                    f'<ofd:TextCode X="0" Y="5">{escape(line)}</ofd:TextCode></ofd:TextObject>')
                y += 7.5
            y += 4
        files[f"Doc_0/Pages/Page_{i}/Content.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="{i + 500}">'
            + "".join(objects) + "</ofd:Layer></ofd:Content></ofd:Page>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in files.items():
            zf.writestr(name, body.encode("utf-8"))
    return path


def zip_bomb(path: Path, kind: str, inflated: int = 300 * 1024 * 1024) -> Path:
    """A DOCX or XLSX whose main part inflates to ``inflated`` bytes of zeros (a few hundred KB on disk)."""
    part = "word/document.xml" if kind == "docx" else "xl/worksheets/sheet1.xml"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                           'package/2006/content-types"/>')
        if kind == "xlsx":
            zf.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                                           'spreadsheetml/2006/main"><sheets/></workbook>')
        with zf.open(part, "w", force_zip64=True) as fh:
            block = b"\0" * (1 << 20)
            for _ in range(inflated // len(block)):
                fh.write(block)
    path.write_bytes(buffer.getvalue())
    return path


def blank_pdf(path: Path, *, image: bool = False) -> Path:
    """A PDF whose pages hold no text: empty, or (``image``) a scan of a blank sheet."""
    from PIL import Image

    if image:
        Image.new("L", (827, 1169), 255).save(path, "PDF", resolution=100.0)
        return path
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.rect(72, 72, 200, 100, stroke=1, fill=0)  # a drawing, but no text and no image
    pdf.showPage()
    pdf.save()
    return path


def long_pdf(path: Path, font_dir: Path, pages: int, text: str) -> Path:
    """A text PDF of ``pages`` pages, each a few paragraphs of ``text`` (a yearbook-sized document)."""
    from reportlab.pdfgen import canvas

    font = _register(cjk_ttf(text, font_dir))
    pdf = canvas.Canvas(str(path), pagesize=A4)
    lines = _wrap(text, A4[0] - 144, 12, 24, font)
    for n in range(pages):
        pdf.setFont(font, 12)
        y = A4[1] - 72
        for k in range(40):
            pdf.drawString(72 + (24 if k % 8 == 0 else 0), y, lines[(n * 40 + k) % len(lines)])
            y -= 19
        pdf.drawCentredString(A4[0] / 2, 48, f"- {n + 1} -")
        pdf.showPage()
    pdf.save()
    return path
