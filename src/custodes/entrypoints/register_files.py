"""The access register on paper and in a spreadsheet: a bilingual A4 landscape PDF and CSV.

The PDF embeds a CJK font that Debian ships (fonts-wqy-zenhei: a TrueType collection, which
fpdf2 reads face by face; fonts-noto-cjk as a fallback), subset to the characters used. Every
page carries the unit, the filter, the print time, "第 x 页 / 共 y 页 Page x of y" and a footer
tying the copy to the signed ledger: the seq range of the rows and the ledger entry that
records this printout, with its hash (which covers every entry before it, the rows included).
The last page has signature lines for the recording staff and the security manager.

The CSV is UTF-8 with a byte order mark, so that Excel opens the Chinese text as such; a cell
that a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with an apostrophe.

Both are total over what the ledger holds: a time no calendar holds prints as its number
("超出范围 out of range: … µs"), control characters are dropped, and a PDF cell keeps what fits
on a page (the rest: "…（余见 CSV）(more in the CSV)"), so no stored value can stop an export
halfway or make it fail.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fpdf import FPDF
from fpdf.enums import WrapMode
from fpdf.fonts import FontFace

from custodes.services import ledger
from custodes.services.register import MANAGER_KINDS, ExportRecord, Person, RegisterRow

# (path, face in the collection): the first that exists is used
FONT_CANDIDATES: tuple[tuple[Path, int], ...] = (
    (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0),  # fonts-wqy-zenhei
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2),  # fonts-noto-cjk, SC
)
FONT = "cjk"

# fontTools says, for every PDF, that it drops the collection's bitmap strikes: that is wanted.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class FontMissing(RuntimeError):
    """No CJK font to embed: install the Debian package fonts-wqy-zenhei."""


KIND_LABELS: dict[str, tuple[str, str]] = {
    ledger.REQUEST_APPROVED: ("审批登记", "Approved"),
    ledger.MEDIA_VIEWED: ("回放查阅", "Viewed"),
    ledger.EXPORT_CREATED: ("复制导出", "Copied"),
    ledger.EXPORT_DOWNLOADED: ("导出下载", "Downloaded"),
    ledger.REQUEST_REJECTED: ("驳回", "Rejected"),
    ledger.GRANT_REVOKED: ("撤销授权", "Revoked"),
    ledger.ACCESS_DENIED: ("拒绝调取", "Denied"),
}
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "view": ("查阅", "view"),
    "copy": ("复制", "copy"),
    "retrieve-original": ("调取原始", "retrieve original"),
}


def kind_label(kind: str, sep: str = " ") -> str:
    zh, en = KIND_LABELS.get(kind, (kind, kind))
    return f"{zh}{sep}{en}"


def _action_label(action: str) -> str:
    zh, en = ACTION_LABELS.get(action, (action, action))
    return f"{zh} {en}"


# --- time ------------------------------------------------------------------------------------


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _moment(us: int, tz: tzinfo) -> datetime | None:
    """The time in tz; None where no calendar holds it (year 1 to 9999, in tz too)."""
    try:
        return datetime.fromtimestamp(us / 1_000_000, tz=UTC).astimezone(tz)
    except (OverflowError, ValueError, OSError):
        return None


def local(us: int | None, tz: tzinfo) -> str:
    """The time in tz as printed; total: a stored value no calendar holds is printed as the
    number it is, never an error (a register must print whatever the ledger holds)."""
    if us is None:
        return ""
    moment = _moment(us, tz)
    if moment is None:
        return f"超出范围 out of range: {us} µs"
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _utc_offset(tz: tzinfo, at_us: int) -> str:
    moment = _moment(at_us, tz)
    if moment is None:
        return "UTC"
    return moment.strftime("UTC%z")[:-2] + ":" + moment.strftime("%z")[-2:]


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """Text without control characters (a tab is a space; line breaks stay)."""
    return _CONTROL.sub("", text.replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n"))


# --- CSV -------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "账本序号 Ledger seq",
    "登记时间 Time",
    "类别 Event",
    "录制人 Recorded or copied by",
    "录制人账号 Recorded or copied by (account)",
    "审批人 Approved by",
    "审批人账号 Approved by (account)",
    "调取人 Retrieved by",
    "工作证号 Work ID",
    "操作人账号 Acted by (account)",
    "单位 Organisation",
    "单位类别 Organisation kind",
    "摄像机 Cameras",
    "录像开始 Footage from",
    "录像结束 Footage to",
    "事由 Purpose",
    "依据 Basis",
    "去向 Destination",
    "境外 Abroad",
    "审批文件 Approval document",
    "审批文件 SHA-256 Approval document SHA-256",
    "公安机关批准 Public security approval",
    "司法机关批准 Judicial approval",
    "授权编号 Grant",
    "授权类型 Grant action",
    "授权到期 Grant expires",
    "授权撤销 Grant revoked",
    "申请编号 Request",
    "导出编号 Export",
    "备注 Note",
    "条目哈希 Entry hash",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: object) -> str:
    text = "" if value is None else _printable(str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def _names(people: Iterable[Person]) -> str:
    return "; ".join(p.label for p in people)


def csv_lines(rows: Iterable[RegisterRow], tz_name: str) -> Iterator[str]:
    """The CSV, a line at a time: the BOM, the bilingual header (times in tz_name), the rows."""
    tz = zone(tz_name)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    header = [
        f"{c} ({tz_name})" if c.startswith(("登记时间", "录像", "授权到期", "授权撤销")) else c
        for c in CSV_COLUMNS
    ]
    writer.writerow(header)
    yield "\ufeff" + take()
    for r in rows:
        writer.writerow(
            [
                _safe(v)
                for v in (
                    r.seq,
                    local(r.time_us, tz),
                    kind_label(r.kind),
                    r.recorded_by.label if r.recorded_by else "",
                    r.recorded_by.username if r.recorded_by else "",
                    r.approved_by.label if r.approved_by else "",
                    r.approved_by.username if r.approved_by else "",
                    _names(r.retrieved_by),
                    "; ".join(p.work_id or "" for p in r.retrieved_by),
                    r.acted_by.username if r.acted_by else r.actor,
                    r.organisation,
                    r.organisation_kind,
                    "; ".join(f"{c.id} {c.name or ''}".strip() for c in r.cameras),
                    local(r.footage_start_us, tz),
                    local(r.footage_end_us, tz),
                    r.purpose,
                    r.basis,
                    r.destination,
                    "是 yes" if r.destination_abroad else "",
                    r.document.filename if r.document else "",
                    r.document.sha256 if r.document else "",
                    r.psb_approval_ref,
                    r.judicial_approval_ref,
                    r.grant.id if r.grant else "",
                    _action_label(r.grant.action) if r.grant else "",
                    local(r.grant.expires_us, tz) if r.grant else "",
                    local(r.grant.revoked_us, tz) if r.grant else "",
                    r.request_id,
                    r.export_id,
                    r.note,
                    r.hash,
                )
            ]
        )
        yield take()


def to_csv(rows: Iterable[RegisterRow], tz_name: str) -> bytes:
    return "".join(csv_lines(rows, tz_name)).encode("utf-8")


# --- PDF -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Printout:
    unit: str  # the operating unit's name
    article: str | None  # the register article of the installation's jurisdiction
    filters: Sequence[tuple[str, str]]  # (bilingual label, value) of each filter applied
    printed_by: str
    timezone: str
    rows: Sequence[RegisterRow]
    record: ExportRecord  # the ledger entry recording this printout
    checkpoint: tuple[int, int, str] | None  # newest signed checkpoint: seq, time, key id


TITLE = "公共安全视频图像信息调取登记表"
TITLE_EN = "Register of Access to Public Security Video Images"
# (heading, width in mm): 277 mm between 10 mm margins
PDF_COLUMNS: tuple[tuple[str, float], ...] = (
    ("账本序号\nLedger seq", 18),
    ("登记时间\nTime", 20),
    ("类别\nEvent", 15),
    ("录制人 · 审批人\nRecorded · Approved by", 18),
    ("调取人 · 工作证号\nRetrieved by · Work ID", 30),
    ("单位\nOrganisation", 24),
    ("摄像机\nCameras", 20),
    ("录像时段\nFootage range", 28),
    ("事由\nPurpose", 32),
    ("去向\nDestination", 24),
    ("审批文件\nApproval document", 26),
    ("授权\nGrant", 22),
)
BODY_PT = 6.5
LINE_MM = 3.0
MARGIN_MM = 10.0
FOOTER_MM = 16.0
HASH_SHOWN = 10  # hex digits of a row's entry hash printed (the CSV has all 64)
# A table row must fit on one page (fpdf2 refuses one that does not): each cell keeps at most
# this many printed lines, counted as if every character were as wide as a CJK one.
CELL_LINES = 30
CHAR_MM = BODY_PT * 25.4 / 72  # a full-width character at BODY_PT
PADDING_MM = 0.8
MORE = "…（余见 CSV）(more in the CSV)"


def font_file() -> tuple[Path, int]:
    for path, face in FONT_CANDIDATES:
        if path.is_file():
            return path, face
    raise FontMissing(
        "no CJK font to embed in the PDF: install the Debian package fonts-wqy-zenhei"
    )


class _Document(FPDF):
    def __init__(self, p: Printout, tz: tzinfo) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.p = p
        self.tz = tz
        path, face = font_file()
        self.add_font(FONT, fname=str(path), collection_font_number=face)
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=FOOTER_MM)
        self.set_title(f"{TITLE} {TITLE_EN}")
        self.set_subject(p.unit)
        self.set_creator("Custodes")
        self.set_author(p.printed_by)

    def header(self) -> None:
        p = self.p
        self.set_font(FONT, size=12)
        self.cell(0, 6, f"{TITLE}  {TITLE_EN}", align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, size=7.5)
        unit = f"使用单位 Unit: {p.unit}"
        if p.article:
            unit += f"      依据 Under: {p.article}"
        printed = (
            f"打印时间 Printed: {local(p.record.time_us, self.tz)} "
            f"({p.timezone}, {_utc_offset(self.tz, p.record.time_us)})      "
            f"打印人 Printed by: {p.printed_by}"
        )
        self.cell(0, 4, unit, new_x="LMARGIN", new_y="NEXT")
        self.multi_cell(0, 4, "筛选 Filter: " + _filter_text(p.filters), new_x="LMARGIN")
        self.cell(0, 4, printed, new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)

    def footer(self) -> None:
        p = self.p
        self.set_y(-FOOTER_MM + 2)
        self.set_font(FONT, size=6.5)
        if p.rows:
            span = (
                f"账本条目 Ledger entries #{p.rows[0].seq}–#{p.rows[-1].seq} "
                f"（{len(p.rows)} 条 rows）"
            )
        else:
            span = "账本条目 Ledger entries: 无 none"
        self.cell(
            0,
            3,
            f"{span}   本打印件记为账本第 {p.record.seq} 条 This printout is ledger entry "
            f"#{p.record.seq}, 哈希 hash {p.record.hash}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        if p.checkpoint is not None:
            seq, at, key = p.checkpoint
            signed = (
                f"最近签名检查点 Latest signed checkpoint: #{seq} ({local(at, self.tz)}, key {key})"
            )
        else:
            signed = "最近签名检查点 Latest signed checkpoint: 无 none yet"
        self.cell(
            0,
            3,
            f"{signed}   核对 Check: custodes ledger verify; custodes ledger export",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.cell(
            0,
            4,
            f"第 {self.page_no()} 页 / 共 {{nb}} 页   Page {self.page_no()} of {{nb}}",
            align="C",
        )


def _filter_text(filters: Sequence[tuple[str, str]]) -> str:
    if not filters:
        return "全部 all entries"
    return "; ".join(f"{label} {value}" for label, value in filters)


def _fit(text: str, width_mm: float) -> str:
    """The text as one cell prints it whole on a page: what fits in CELL_LINES lines of the
    column, then MORE (the CSV has every character)."""
    text = _printable(text)
    per_line = max(1, int((width_mm - 2 * PADDING_MM) / CHAR_MM))
    kept: list[str] = []
    used = 0
    for line in text.split("\n"):
        need = max(1, math.ceil(len(line) / per_line))
        if used + need > CELL_LINES - 2:  # room for MORE, itself up to two lines
            room = CELL_LINES - 2 - used
            if room > 0:
                kept.append(line[: room * per_line])
            kept.append(MORE)
            return "\n".join(kept)
        kept.append(line)
        used += need
    return "\n".join(kept)


def _people(r: RegisterRow) -> str:
    """录制人 (who recorded or copied) and 审批人 (who approved), as the PDF prints them."""
    lines: list[str] = []
    if r.recorded_by is not None:
        lines.append(f"录制 {_label(r.recorded_by)}")
    if r.approved_by is not None:
        lines.append(f"审批 {_label(r.approved_by)}")
    elif r.kind == ledger.ACCESS_DENIED:
        lines.append("系统拒绝 System")
    return "\n".join(lines) or "—"


def _label(p: Person) -> str:
    if p.name and p.name.casefold() != p.username.casefold():
        return f"{p.name} ({p.username})"
    return p.label


def _cells(r: RegisterRow, tz: tzinfo) -> list[str]:
    when = local(r.time_us, tz).replace(" ", "\n")
    event = kind_label(r.kind, "\n")
    if r.acted_by is not None and r.kind not in MANAGER_KINDS:
        event += f"\n[{r.acted_by.username}]"
    recorded = _people(r)
    retrieved = "\n".join(
        f"{p.label} {p.work_id}" if p.work_id else p.label for p in r.retrieved_by
    )
    org = r.organisation or ""
    cams = "\n".join(f"{c.id} {c.name or ''}".strip() for c in r.cameras)
    footage = ""
    if r.footage_start_us is not None and r.footage_end_us is not None:
        footage = f"{local(r.footage_start_us, tz)}\n– {local(r.footage_end_us, tz)}"
    purpose = r.purpose or ""
    if r.basis:
        purpose += f"\n依据 basis: {r.basis}"
    if r.note:
        purpose += ("\n" if purpose else "") + f"备注 Note: {r.note}"
    destination = r.destination or ""
    if r.destination_abroad:
        destination += "\n境外 abroad"
    doc_lines = []
    if r.document is not None:
        doc_lines += [r.document.filename, f"SHA-256 {r.document.sha256[:16]}…"]
    if r.psb_approval_ref:
        doc_lines.append(f"公安 PSB: {r.psb_approval_ref}")
    if r.judicial_approval_ref:
        doc_lines.append(f"司法 Judicial: {r.judicial_approval_ref}")
    grant = ""
    if r.grant is not None:
        until = local(r.grant.expires_us, tz)
        grant = f"#{r.grant.id} {_action_label(r.grant.action)}\n至 until {until}"
        if r.grant.revoked_us is not None:
            grant += f"\n撤销 revoked {local(r.grant.revoked_us, tz)}"
    if r.request_id is not None:
        grant += ("\n" if grant else "") + f"申请 request #{r.request_id}"
    if r.export_id:
        grant += f"\n导出 export {r.export_id}"
    return [
        f"#{r.seq}\n{r.hash[:HASH_SHOWN]}",
        when,
        event,
        recorded,
        retrieved,
        org,
        cams,
        footage,
        purpose,
        destination,
        "\n".join(doc_lines),
        grant,
    ]


def to_pdf(p: Printout) -> bytes:
    tz = zone(p.timezone)
    pdf = _Document(p, tz)
    pdf.add_page()
    pdf.set_font(FONT, size=BODY_PT)
    headings = FontFace(emphasis="", fill_color=(228, 228, 228))
    with pdf.table(
        col_widths=tuple(w for _, w in PDF_COLUMNS),
        width=sum(w for _, w in PDF_COLUMNS),
        align="LEFT",
        text_align="LEFT",
        v_align="TOP",
        line_height=LINE_MM,
        padding=0.8,
        headings_style=headings,
        repeat_headings=1,
        wrapmode=WrapMode.WORD,
    ) as table:
        heading = table.row()
        for text, _ in PDF_COLUMNS:
            heading.cell(text)
        if not p.rows:
            table.row().cell("无记录 No entries", colspan=len(PDF_COLUMNS), align="C")
        for r in p.rows:
            row = table.row()
            for text, (_, width) in zip(_cells(r, tz), PDF_COLUMNS, strict=True):
                row.cell(_fit(text, width))
    _signatures(pdf, p)
    return bytes(pdf.output())


def _signatures(pdf: _Document, p: Printout) -> None:
    block = 30.0
    if pdf.will_page_break(block):
        pdf.add_page()
    pdf.ln(4)
    pdf.set_font(FONT, size=7)
    pdf.multi_cell(
        0,
        3.5,
        "本表由系统根据账本生成：每行的账本序号与条目哈希可在签名账本中核对；"
        "本打印件本身亦记入账本（页脚所列条目）。 "
        "Generated from the ledger: each row's seq and entry hash can be checked against the "
        "signed ledger, and this printout is itself the ledger entry named below.",
        new_x="LMARGIN",
    )
    pdf.ln(6)
    pdf.set_font(FONT, size=8.5)
    third = (pdf.w - 2 * MARGIN_MM) / 3
    for label in (
        "登记人（签名）Registered by (signature):",
        "安全管理员（签名）Security manager (signature):",
        "日期 Date:",
    ):
        pdf.cell(third, 5, label)
    pdf.ln(10)
    y = pdf.get_y()
    for i in range(3):
        x = MARGIN_MM + i * third
        pdf.line(x, y, x + third - 8, y)
