"""Spreadsheets in and out: the one reader every import uses and the one writer every export uses.

Reading (``read_table``) takes what people actually upload: .xlsx (Excel, WPS, LibreOffice), .xls (through
xlrd) and CSV in UTF-8 with or without BOM or in GB18030/GBK, with any line ending. Before anything is
parsed it checks the upload's size and, for an .xlsx (a zip), the unpacked size its members declare (a zip
bomb of 89 KB can unpack to 60 MB; zipfile never inflates a member past its declared size, so the sum is a
bound); the first sheet is then streamed in read-only mode, at most ``max_rows`` rows of ``MAX_COLUMNS``
columns. Rows whose input cells (``inputs``) are all empty are skipped, so the app's own templates, partly
filled, import: a pre-filled account and name with nothing typed beside them is not a row. An identity
number or account (``identifiers``) stored as a number is read when the number is exact; when a spreadsheet
already lost its digits (a float past 2**53, or a CSV that Excel re-saved as 3.20623E+17) the message says
so, with the row, the column and the value as shown, and what to do. Every problem names the row, the column
and the value (``Problem``); the error raised (``SheetRefused``) is a ``ValidationFailed`` on ``file`` that
also carries the problems, which the API returns as JSON with a 422.

Writing (``workbook`` / ``append`` / ``to_bytes``): dates become date cells, numbers numbers, text text (an
identity number stays text), and a text that a spreadsheet would run as a formula (beginning with = + - @,
a tab or a carriage return) is stored as a quoted text cell (the apostrophe prefix Excel shows as '=...):
the value is kept exactly, so an export imports again unchanged, and nothing runs when it is opened."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Sequence

import xlrd
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from lms.errors import ValidationFailed
from lms.templating import SHANGHAI

MAX_BYTES = 10 * 1024 * 1024  # the upload itself (示例: an import may pass its own)
MAX_UNPACKED = 40 * 1024 * 1024  # what an .xlsx may unpack to: 20,000 rows of 10 columns need under 15 MB
MAX_ROWS = 5000
MAX_COLUMNS = 40  # columns read from the sheet; every template has fewer than 15
MAX_PROBLEMS = 20
SCAN_PAST = 20000  # empty rows read past the row cap before a sheet counts as too long
EXACT = 2 ** 53  # past this a float no longer holds every integer
SCIENTIFIC = re.compile(r"^[+-]?\d+(?:\.\d*)?[eE][+-]?\d+$")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ------------------------------------------------------------------ problems
@dataclass(frozen=True)
class Problem:
    """One thing wrong in the file: where (row as the spreadsheet numbers it, column header and letter), the
    value as shown, and what is wrong."""

    row: int
    column: str
    letter: str
    value: str
    message: str

    def text(self) -> str:
        if not self.row:
            return self.message
        return _("第 %(row)d 行「%(name)s」列（%(letter)s 列）“%(value)s”：%(msg)s", row=self.row, name=self.column,
                 letter=self.letter, value=self.value or _("空"), msg=self.message)

    def as_json(self) -> dict:
        return {"row": self.row, "column": self.column, "letter": self.letter, "value": self.value,
                "message": self.message}


class SheetRefused(ValidationFailed):
    """The file is not imported; ``problems`` say where and why (the ``file`` error joins them)."""

    def __init__(self, problems: Sequence[Problem], lead: str = "") -> None:
        self.problems = list(problems)
        more = "……" if len(self.problems) >= MAX_PROBLEMS else ""
        super().__init__({"file": lead + "；".join(p.text() for p in self.problems[:MAX_PROBLEMS]) + more})


def refuse(message: str) -> SheetRefused:
    """A refusal of the whole file (no row or column to name)."""
    return SheetRefused([Problem(0, "", "", "", message)])


# ------------------------------------------------------------------ the table read
@dataclass
class Row:
    number: int
    cells: list[str]
    columns: dict[str, int]

    def get(self, header: str) -> str:
        i = self.columns.get(header)
        return self.cells[i] if i is not None and i < len(self.cells) else ""


@dataclass
class Table:
    """The header map (name → 0-based column) and the rows that carry input, with their numbers."""

    columns: dict[str, int]
    rows: list[Row] = field(default_factory=list)

    def letter(self, header: str) -> str:
        return get_column_letter(self.columns.get(header, 0) + 1)

    def problem(self, row: int, header: str, value: str, message: str) -> Problem:
        return Problem(row, header, self.letter(header), value, message)


def shown(v) -> str:
    """A number as a spreadsheet shows it in a General cell (15 significant digits)."""
    return f"{v:.15G}" if isinstance(v, float) else str(v)


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < EXACT:
            return str(int(v))
        return repr(v) if abs(v) < EXACT else shown(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat()
    return str(v).strip()


def _lost_precision(v, from_csv: bool) -> bool:
    """A number that no longer holds the digits typed: a float past 2**53, or (CSV) scientific notation."""
    if isinstance(v, float):
        return abs(v) >= EXACT or not v.is_integer()
    return from_csv and isinstance(v, str) and bool(SCIENTIFIC.match(v.strip()))


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK, as Excel on Chinese Windows saves CSV)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise refuse(_("无法识别文件编码：请保存为 UTF-8 或 GBK 编码的 CSV，或 .xlsx 格式"))


def _read_csv(data: bytes, max_rows: int) -> list[list]:
    text = decode_csv(data)
    if "\x00" in text:
        raise refuse(_("该文件不是电子表格：请上传 .xlsx、.xls 或 CSV 文件"))
    rows = []
    try:
        # newline="" keeps quoted line breaks; the csv module ends a record at \r\n, \n or \r.
        for row in csv.reader(io.StringIO(text, newline="")):
            rows.append(row[:MAX_COLUMNS])
            if len(rows) > max_rows + 1:
                raise refuse(_("一次最多导入 %(n)d 行", n=max_rows))
    except csv.Error:
        raise refuse(_("CSV 格式有误，无法读取"))
    return rows


def _merged_ranges(archive: zipfile.ZipFile, sheet_path: str) -> list[str]:
    try:
        xml = archive.read(sheet_path)
    except KeyError:
        return []
    return [m.decode() for m in re.findall(rb'<(?:\w+:)?mergeCell ref="([A-Z]+\d+:[A-Z]+\d+)"', xml)]


def _read_xlsx(data: bytes, max_rows: int, max_unpacked: int) -> list[list]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise refuse(_("无法读取该文件：它不是有效的 Excel（.xlsx）文件"))
    if unpacked > max_unpacked:
        raise refuse(_("文件解压后过大（%(mb)d MB，上限 %(cap)d MB）：请删除多余的工作表、空行和格式，或分批导入",
                       mb=unpacked // (1024 * 1024), cap=max_unpacked // (1024 * 1024)))
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:
        raise refuse(_("无法读取该文件：它不是有效的 Excel（.xlsx）文件"))
    try:
        ws = wb.worksheets[0]
        merged = _merged_ranges(archive, getattr(ws, "_worksheet_path", ""))
        if merged:
            first = merged[0]
            top = int(re.sub(r"[A-Z]+", "", first.split(":")[0]))
            if top == 1:
                raise refuse(_("表头（第 1 行）有合并单元格 %(r)s：请取消合并，每列一个表头后再上传", r=first))
            raise refuse(_("第 %(row)d 行有合并单元格 %(r)s：请取消合并后再上传", row=top, r=first))
        rows, formulas = [], []
        for i, row in enumerate(ws.iter_rows(max_col=MAX_COLUMNS)):
            if i > max_rows:  # past the cap: only empty (formatted) rows may follow, and not too many of them
                if i > max_rows + SCAN_PAST or any(getattr(c, "value", None) not in (None, "") for c in row):
                    raise refuse(_("一次最多导入 %(n)d 行（工作表在第 %(row)d 行仍有内容或格式）：请删除多余的行，或分批导入",
                                   n=max_rows, row=i + 1))
                continue
            values = []
            for cell in row:
                if getattr(cell, "data_type", None) == "f":
                    formulas.append(_("第 %(row)d 行 %(col)s 列是公式", row=cell.row, col=cell.column_letter))
                values.append(getattr(cell, "value", None))
            rows.append(values)
        if formulas:
            raise refuse(_("文件含有公式，请将公式单元格复制后“粘贴为数值”再上传：%(where)s",
                           where="；".join(formulas[:MAX_PROBLEMS])))
    finally:
        wb.close()
        archive.close()
    return rows


def _read_xls(data: bytes, max_rows: int) -> list[list]:
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
        sheet = book.sheet_by_index(0)
    except Exception:
        raise refuse(_("无法读取该 .xls 文件：请在 Excel 中另存为 .xlsx 后再上传"))
    try:
        if sheet.nrows > max_rows + 1:
            raise refuse(_("一次最多导入 %(n)d 行", n=max_rows))
        rows = []
        for r in range(sheet.nrows):
            values = []
            for c in range(min(sheet.ncols, MAX_COLUMNS)):
                cell = sheet.cell(r, c)
                if cell.ctype == xlrd.XL_CELL_DATE:
                    try:
                        values.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                    except (ValueError, OverflowError):
                        values.append(cell.value)
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    values.append(None)
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    values.append(bool(cell.value))
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    values.append(xlrd.error_text_from_code.get(cell.value, "#ERR"))
                else:
                    values.append(cell.value)
            rows.append(values)
        return rows
    finally:
        book.release_resources()


def read_table(filename: str, data: bytes, *, headers: Sequence[str], required: Sequence[str],
               inputs: Sequence[str] | None = None, identifiers: Sequence[str] = (), max_rows: int = MAX_ROWS,
               max_bytes: int = MAX_BYTES, max_unpacked: int = MAX_UNPACKED, missing_message: str = "") -> Table:
    """The first sheet of an upload as a ``Table``: the columns named in ``headers`` that row 1 holds
    (``required`` must all be there), and each later row in which one of the ``inputs`` columns (all known
    columns when None) is filled. Cells are texts; numbers in ``identifiers`` columns must be exact. Raises
    ``SheetRefused`` naming every problem found (up to ``MAX_PROBLEMS``)."""
    if len(data) >= max_bytes:
        raise refuse(_("文件过大：请上传小于 %(mb)d MB 的文件（可分批导入）", mb=max_bytes // (1024 * 1024)))
    if not data.strip():
        raise refuse(_("文件是空的"))
    name = (filename or "").lower()
    from_csv = False
    if data[:4] == b"PK\x03\x04":
        raw = _read_xlsx(data, max_rows, max_unpacked)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raw = _read_xls(data, max_rows)
    elif name.endswith((".xlsx", ".xls")) or b"\x00" in data[:8192] or data[:5] == b"%PDF-":
        raise refuse(_("该文件不是电子表格：请上传 .xlsx、.xls 或 CSV 文件"))
    else:
        raw, from_csv = _read_csv(data, max_rows), True
    if not raw:
        raise refuse(_("文件是空的"))
    head = [_text(v) for v in raw[0]]
    while head and not head[-1]:
        head.pop()
    columns = {h: i for i, h in enumerate(head) if h in headers and h not in head[:i]}
    missing = [h for h in required if h not in columns]
    if missing and not columns and not missing_message:
        raise refuse(_("第 1 行没有任何所需的表头（%(cols)s）：请上传下载的模板（.xlsx、.xls 或 CSV）填写后的文件",
                       cols="、".join(required)))
    if missing:
        raise refuse(missing_message or _("第 1 行缺少表头：%(cols)s（请使用下载的模板）", cols="、".join(missing)))
    table = Table(columns)
    watch = [columns[h] for h in (inputs if inputs is not None else headers) if h in columns]
    ident = {columns[h]: h for h in identifiers if h in columns}
    problems: list[Problem] = []
    for n, row in enumerate(raw[1:], start=2):
        row = list(row[:len(head)]) + [None] * (len(head) - len(row))
        texts = [_text(v) for v in row]
        if not any(texts[i] for i in watch if i < len(texts)):
            continue
        for i, header in ident.items():
            v = row[i] if i < len(row) else None
            if _lost_precision(v, from_csv):
                problems.append(table.problem(n, header, shown(v) if isinstance(v, float) else texts[i], _(
                    "这是一个已丢失精度的数字（电子表格只保留 15 位有效数字，无法还原原来的号码）；"
                    "请将该列设置为文本格式后重新输入")))
        if len(problems) >= MAX_PROBLEMS:
            break
        table.rows.append(Row(n, texts, columns))
    if problems:
        raise SheetRefused(problems)
    return table


def parse_date(text: str) -> dt.date:
    """A date cell's text (2026-11-20, as ``read_table`` gives it) or a typed one: 2026/11/20, 2026.11.20,
    2026-1-5; raises ValueError otherwise."""
    text = text.strip().split(" ")[0].replace("/", "-").replace(".", "-")
    y, m, d = (int(x) for x in text.split("-"))
    return dt.date(y, m, d)


# ------------------------------------------------------------------ writing
class Text(str):
    """A value to write as text even if it looks like a number (identity numbers, accounts, codes)."""


def put(cell, value) -> None:
    """Write ``value`` into ``cell`` as its type says (see the module's doc)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(SHANGHAI).replace(tzinfo=None)
        cell.value = value
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, (bool, int, float, Decimal)) or value is None:
        cell.value = value
    else:
        text = str(value)
        cell.value = text
        cell.data_type = "s"  # never a formula, whatever it begins with
        if isinstance(value, Text) or text.startswith(FORMULA_START) or text[:1].isdigit():
            cell.number_format = "@"
        if text.startswith(FORMULA_START):
            cell.quotePrefix = True


def append(ws, values: Iterable) -> None:
    """Add a row to ``ws`` through ``put``."""
    values = list(values)
    ws.append([None] * len(values))
    for cell, value in zip(ws[ws._current_row], values):  # the row append just made
        put(cell, value)


def workbook(title: str, header: Sequence[str] | None = None) -> tuple[Workbook, object]:
    """A new workbook and its first sheet, titled, with a header row when given."""
    wb = Workbook()
    ws = wb.active
    ws.title = title
    if header is not None:
        append(ws, header)
    return wb, ws


def to_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------ writing, streamed (issue 20)
# A workbook too large to build in memory first (a bureau's pool of 200,000 people): ``stream`` yields the .xlsx
# while its rows are produced, so the first bytes leave before the last row is read. The cells follow ``put``'s
# rules (dates as date cells, ``Text`` and anything a spreadsheet would run as a formula as quoted text); the
# zip is written with data descriptors (no seeking back), the strings inline (no shared table to hold).
_STYLES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
           '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
           '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
           '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
           '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
           '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
           '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" quotePrefix="1"/>'
           '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '</Relationships>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    '</Relationships>',
    "xl/styles.xml": _STYLES,
}
_EPOCH = dt.datetime(1899, 12, 30)
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
STREAM_CHUNK = 64 * 1024  # bytes gathered before a piece of the file is handed on


def _xml(text: str) -> str:
    text = _XML_BAD.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _cell_xml(value) -> str:
    """One ``<c>`` by ``put``'s rules (no reference: cells follow each other from column A)."""
    if value is None:
        return "<c/>"
    if isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(SHANGHAI).replace(tzinfo=None)
        return f'<c s="2"><v>{(value - _EPOCH) / dt.timedelta(days=1)!r}</v></c>'
    if isinstance(value, dt.date):
        return f'<c s="1"><v>{(value - _EPOCH.date()).days}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        return f"<c><v>{value}</v></c>"
    text = str(value)
    style = 4 if text.startswith(FORMULA_START) else 3 if isinstance(value, Text) or text[:1].isdigit() else 0
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c t="inlineStr"{f" s={chr(34)}{style}{chr(34)}" if style else ""}><is><t{space}>{_xml(text)}</t></is></c>'


class _Sink:
    """An unseekable file for ``zipfile``: what is written waits in memory until ``take``."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.parts, self.size = b"".join(self.parts), [], 0
        return out


def stream(title: str, rows: Iterable[Sequence]) -> Iterable[bytes]:
    """An .xlsx of one sheet named ``title`` holding ``rows`` (header first, if any), yielded in pieces as the
    rows come (for a ``flask.Response``): the cells as ``append`` writes them."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in _PARTS.items():
            zf.writestr(name, text)
        zf.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                    f'<sheets><sheet name="{_xml(title[:31])}" sheetId="1" r:id="rId1"/></sheets></workbook>')
        yield sink.take()
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            for row in rows:
                f.write(("<row>" + "".join(_cell_xml(v) for v in row) + "</row>").encode())
                if sink.size >= STREAM_CHUNK:
                    yield sink.take()
            f.write(b"</sheetData></worksheet>")
    yield sink.take()
