"""Render a :class:`~app.receipts.model.ReceiptData` to PDF bytes with reportlab.

Pure data in, bytes out: no Qt, no database. The desk prints/saves the result
and the service attaches the same bytes to confirmation emails.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app.receipts.fonts import Font, FontSet, choose_fonts
from app.receipts.formatting import (
    format_datetime,
    format_money,
    format_short_datetime,
    format_time_range,
)
from app.receipts.model import ReceiptData

__all__ = ["QR_ERROR_LEVEL", "QR_QUIET_ZONE_MODULES", "QR_SYMBOL_WIDTH", "render_receipt"]

QR_SYMBOL_WIDTH = 30 * mm
"""Printed width of the QR symbol itself, excluding the quiet zone."""
QR_QUIET_ZONE_MODULES = 4
"""Light modules around the symbol, as the QR specification requires."""
QR_ERROR_LEVEL = "M"
"""QR error correction level (about 15% of the symbol may be damaged)."""

_MARGIN_X = 18 * mm
_MARGIN_TOP = 16 * mm
_MARGIN_BOTTOM = 22 * mm

_MAX_FIELD_CHARS = 300
"""Longest single field printed in full; longer values are clipped with an ellipsis."""
_MAX_ADDRESS_LINES = 8

_INK = colors.HexColor("#1F2933")
_MUTED = colors.HexColor("#616E7C")
_ACCENT = colors.HexColor("#1F4E79")
_RULE = colors.HexColor("#D5DBE1")
_HEAD_BG = colors.HexColor("#EEF2F6")
_PANEL_BG = colors.HexColor("#F7F9FB")
_RED = colors.HexColor("#B42318")
_RED_BG = colors.HexColor("#FDECEA")
_GREEN = colors.HexColor("#1E7B34")
_GREEN_BG = colors.HexColor("#EAF6EC")
_AMBER = colors.HexColor("#9A5B00")
_AMBER_BG = colors.HexColor("#FFF4E0")


# -- QR code -----------------------------------------------------------------------------------


class QrCode(Flowable):
    """A QR code drawn as vector rectangles (crisp at any print resolution).

    Encodes ``value`` exactly, error correction level M, never Micro QR, with a
    white quiet zone of :data:`QR_QUIET_ZONE_MODULES` modules on every side.
    """

    def __init__(self, value: str, symbol_width: float = QR_SYMBOL_WIDTH) -> None:
        super().__init__()
        qr = segno.make_qr(value, error=QR_ERROR_LEVEL.lower(), boost_error=False)
        self.value = value
        self.matrix: list[bytes] = [bytes(row) for row in qr.matrix]
        self.modules = len(self.matrix)
        self.module = symbol_width / self.modules
        self.width = self.height = self.module * (self.modules + 2 * QR_QUIET_ZONE_MODULES)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def _dark_runs(self) -> Iterator[tuple[int, int, int]]:
        """Yield (row, first column, length) for each horizontal run of dark modules."""
        for r, row in enumerate(self.matrix):
            c = 0
            while c < self.modules:
                if row[c]:
                    start = c
                    while c < self.modules and row[c]:
                        c += 1
                    yield r, start, c - start
                else:
                    c += 1

    def draw(self) -> None:
        canv = self.canv
        canv.saveState()
        canv.setFillColor(colors.white)
        canv.rect(0, 0, self.width, self.height, stroke=0, fill=1)
        canv.setFillColor(colors.black)
        path = canv.beginPath()
        q, m = QR_QUIET_ZONE_MODULES, self.module
        for r, c, length in self._dark_runs():
            # One path for the whole symbol: no hairline seams between modules.
            path.rect((q + c) * m, self.height - (q + r + 1) * m, length * m, m)
        canv.drawPath(path, stroke=0, fill=1)
        canv.restoreState()


# -- page furniture (footer with "Page N of M") ------------------------------------------------


@dataclass(frozen=True)
class _Furniture:
    fonts: FontSet
    left_text: str
    continued_text: str
    pagesize: tuple[float, float]

    def draw(self, canv: Any, page: int, pages: int) -> None:
        width, height = self.pagesize
        regular = self.fonts.regular
        canv.saveState()
        canv.setStrokeColor(_RULE)
        canv.setLineWidth(0.6)
        y = _MARGIN_BOTTOM - 9 * mm
        canv.line(_MARGIN_X, y + 4 * mm, width - _MARGIN_X, y + 4 * mm)
        canv.setFillColor(_MUTED)
        canv.setFont(regular.name, 8)
        canv.drawString(_MARGIN_X, y, regular.clean(self.left_text))
        canv.drawRightString(width - _MARGIN_X, y, f"Page {page} of {pages}")
        if page > 1:
            canv.drawRightString(
                width - _MARGIN_X, height - _MARGIN_TOP + 5 * mm, regular.clean(self.continued_text)
            )
        canv.restoreState()


def _canvas_maker(furniture: _Furniture) -> type[Canvas]:
    """A two-pass canvas: pages are buffered so the footer can say "of M"."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._page_states: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._page_states.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._page_states)
            for number, state in enumerate(self._page_states, start=1):
                self.__dict__.update(state)
                furniture.draw(self, number, total)
                Canvas.showPage(self)
            Canvas.save(self)

    return NumberedCanvas


# -- building blocks ---------------------------------------------------------------------------


class _Styles:
    """Paragraph styles for one font set, plus text-cleaning helpers."""

    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        reg, bold = fonts.regular.name, fonts.bold.name

        def style(name: str, **kw: Any) -> ParagraphStyle:
            base: dict[str, Any] = {
                "fontName": reg,
                "fontSize": 9.5,
                "leading": 12.5,
                "textColor": _INK,
                "alignment": TA_LEFT,
            }
            base.update(kw)
            return ParagraphStyle(name, **base)

        self.body = style("body")
        self.cell = style("cell", fontSize=9, leading=11.5)
        self.cell_right = style("cell_right", fontSize=9, leading=11.5, alignment=TA_RIGHT)
        self.body_bold = style("body_bold", fontName=bold)
        self.body_right = style("body_right", alignment=TA_RIGHT)
        self.bold_right = style("bold_right", fontName=bold, alignment=TA_RIGHT)
        self.small = style("small", fontSize=8.5, leading=11, textColor=_MUTED)
        self.small_right = style(
            "small_right", fontSize=8.5, leading=11, textColor=_MUTED, alignment=TA_RIGHT
        )
        self.venue = style("venue", fontName=bold, fontSize=16, leading=20)
        self.title = style(
            "title", fontName=bold, fontSize=24, leading=28, textColor=_ACCENT, alignment=TA_RIGHT
        )
        self.label = style("label", fontName=bold, fontSize=7.5, leading=10, textColor=_MUTED)
        self.label_right = style(
            "label_right",
            fontName=bold,
            fontSize=7.5,
            leading=10,
            textColor=_MUTED,
            alignment=TA_RIGHT,
        )
        self.section = style(
            "section",
            fontName=bold,
            fontSize=11,
            leading=14,
            textColor=_ACCENT,
            spaceBefore=0,
            spaceAfter=2,
        )
        self.emphasis = style("emphasis", fontName=bold, fontSize=11, leading=14)
        self.booking = style("booking", fontName=fonts.mono_bold.name, fontSize=20, leading=25)

    def text(self, value: str, font: Font | None = None) -> str:
        """``value`` cleaned for ``font`` (default: regular) and escaped for Paragraph markup."""
        cleaned = (font or self.fonts.regular).clean(value)
        return escape(cleaned)

    def para(self, value: str, style: ParagraphStyle) -> Paragraph:
        """A paragraph of one field's text, clipped so no table row outgrows a page."""
        font = self._font_for(style)
        return Paragraph(self.text(_clip(value), font), style)

    def multiline(self, value: str, style: ParagraphStyle) -> Paragraph:
        font = self._font_for(style)
        lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return Paragraph("<br/>".join(self.text(line, font) for line in lines), style)

    def _font_for(self, style: ParagraphStyle) -> Font:
        for font in (self.fonts.regular, self.fonts.bold, self.fonts.mono_bold):
            if font.name == style.fontName:
                return font
        return self.fonts.regular


def _clip(value: str, limit: int = _MAX_FIELD_CHARS) -> str:
    """``value`` cut to ``limit`` characters with an ellipsis (free text never splits a page)."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "\u2026"


def _status_colors(data: ReceiptData) -> tuple[colors.Color, colors.Color]:
    status = data.status.strip().lower()
    if data.is_cancelled or status in {"no_show", "no-show", "refunded", "void"}:
        return _RED, _RED_BG
    if status in {"confirmed", "paid", "checked_in", "checked-in", "completed"}:
        return _GREEN, _GREEN_BG
    return _AMBER, _AMBER_BG


def _status_text(status: str) -> str:
    return status.strip().replace("_", " ").replace("-", " ").upper() or "UNKNOWN"


def _header(data: ReceiptData, s: _Styles, width: float) -> list[Flowable]:
    venue = data.venue
    left: list[Flowable] = [s.para(venue.name, s.venue)]
    if venue.address_lines:
        address = [_clip(line) for line in venue.address_lines[:_MAX_ADDRESS_LINES]]
        left.append(s.multiline("\n".join(address), s.small))
    contact = "  \u00b7  ".join(x for x in (venue.phone, venue.email) if x)
    if contact:
        left.append(s.para(contact, s.small))

    fg, _bg = _status_colors(data)
    status_style = ParagraphStyle("status", parent=s.bold_right, textColor=fg)
    right: list[Flowable] = [
        s.para("Receipt", s.title),
        Spacer(1, 1 * mm),
        s.para(f"Issued {format_datetime(data.issued_at, venue.timezone)}", s.small_right),
        s.para(f"Status: {_status_text(data.status)}", status_style),
    ]
    table = Table([[left, right]], colWidths=[width * 0.6, width * 0.4])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4 * mm),
                ("LINEBELOW", (0, 0), (-1, 0), 1.2, _ACCENT),
            ]
        )
    )
    return [table, Spacer(1, 5 * mm)]


def _cancelled_banner(data: ReceiptData, s: _Styles, width: float) -> list[Flowable]:
    big = ParagraphStyle("cancelled", parent=s.body_bold, fontSize=20, leading=24, textColor=_RED)
    note = ParagraphStyle("cancelled_note", parent=s.body, textColor=_RED)
    rows = [
        [s.para("CANCELLED", big)],
        [s.para("This booking has been cancelled and is not valid for admission.", note)],
    ]
    table = Table(rows, colWidths=[width])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), _RED_BG),
                ("BOX", (0, 0), (-1, -1), 1.5, _RED),
                ("LEFTPADDING", (0, 0), (-1, -1), 5 * mm),
                ("TOPPADDING", (0, 0), (-1, 0), 3 * mm),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 3 * mm),
            ]
        )
    )
    return [table, Spacer(1, 5 * mm)]


def _booking_block(data: ReceiptData, s: _Styles, width: float) -> list[Flowable]:
    qr = QrCode(data.booking_number)
    venue_tz = data.venue.timezone
    info: list[Flowable] = [
        s.para("BOOKING NUMBER", s.label),
        Spacer(1, 1 * mm),
        s.para(data.booking_number, s.booking),
        s.para("Show this code at check-in.", s.small),
        Spacer(1, 5 * mm),
        s.para("ACTIVITY", s.label),
        s.para(data.activity_name, s.emphasis),
        s.para(format_time_range(data.starts_at, data.ends_at, venue_tz), s.body),
    ]
    customer: list[Flowable] = [s.para("CUSTOMER", s.label), s.para(data.customer_name, s.emphasis)]
    for extra in (data.customer_email, data.customer_phone):
        if extra:
            customer.append(s.para(extra, s.body))

    qr_col = qr.width + 4 * mm
    info_col = (width - qr_col) * 0.55
    cust_col = width - qr_col - info_col
    table = Table([[info, customer, qr]], colWidths=[info_col, cust_col, qr_col])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (1, 0), "TOP"),
                ("VALIGN", (2, 0), (2, 0), "MIDDLE"),
                ("ALIGN", (2, 0), (2, 0), "RIGHT"),
                ("BOX", (0, 0), (-1, -1), 0.8, _RULE),
                ("BACKGROUND", (0, 0), (1, 0), _PANEL_BG),
                ("LINEBEFORE", (1, 0), (1, 0), 0.6, _RULE),
                ("LEFTPADDING", (0, 0), (1, 0), 5 * mm),
                ("LEFTPADDING", (2, 0), (2, 0), 2 * mm),
                ("RIGHTPADDING", (2, 0), (2, 0), 2 * mm),
                ("TOPPADDING", (0, 0), (-1, -1), 4 * mm),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4 * mm),
            ]
        )
    )
    return [table, Spacer(1, 7 * mm)]


def _grid_style(header_rows: int = 1) -> list[tuple[Any, ...]]:
    return [
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), _HEAD_BG),
        ("LINEBELOW", (0, 0), (-1, header_rows - 1), 0.8, _ACCENT),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
    ]


def _party_table(data: ReceiptData, s: _Styles, width: float) -> list[Flowable]:
    cur = data.currency
    money_w = 30 * mm
    qty_w = 16 * mm
    desc_w = width - qty_w - 2 * money_w
    rows: list[list[Any]] = [
        [
            s.para("DESCRIPTION", s.label),
            s.para("QTY", s.label_right),
            s.para("UNIT PRICE", s.label_right),
            s.para("AMOUNT", s.label_right),
        ]
    ]
    for line in data.lines:
        rows.append(
            [
                s.para(line.description, s.body),
                s.para(str(line.quantity), s.body_right),
                s.para(format_money(line.unit_amount, cur), s.body_right),
                s.para(format_money(line.amount, cur), s.body_right),
            ]
        )
    if not data.lines:
        rows.append([s.para("No items.", s.small), "", "", ""])
    body_end = len(rows) - 1

    totals: list[tuple[str, str, ParagraphStyle]] = [
        ("Subtotal", format_money(data.subtotal, cur), s.body_right)
    ]
    if data.discount_amount:
        label = f"Discount ({data.discount_label})" if data.discount_label else "Discount"
        totals.append((label, format_money(-data.applied_discount, cur), s.body_right))
    totals.append(("Total", format_money(data.total, cur), s.bold_right))
    for label, amount, style in totals:
        rows.append(["", s.para(label, style), "", s.para(amount, style)])

    table = Table(rows, colWidths=[desc_w, qty_w, money_w, money_w], repeatRows=1)
    style = _grid_style()
    style += [("LINEBELOW", (0, 1), (-1, body_end - 1), 0.4, _RULE)] if body_end > 1 else []
    style += [("LINEBELOW", (0, body_end), (-1, body_end), 0.8, _ACCENT)]
    for i in range(body_end + 1, len(rows)):
        style.append(("SPAN", (1, i), (2, i)))
    last = len(rows) - 1
    style += [
        ("LINEABOVE", (1, last), (-1, last), 0.8, _INK),
        ("TOPPADDING", (0, body_end + 1), (-1, body_end + 1), 5),
    ]
    table.setStyle(TableStyle(style))
    return [
        CondPageBreak(40 * mm),
        s.para("Booking", s.section),
        Spacer(1, 1.5 * mm),
        table,
        Spacer(1, 7 * mm),
    ]


def _payments_table(data: ReceiptData, s: _Styles, width: float) -> list[Flowable]:
    cur = data.currency
    tz = data.venue.timezone
    date_w, kind_w, method_w, amount_w = 34 * mm, 18 * mm, 30 * mm, 28 * mm
    ref_w = width - date_w - kind_w - method_w - amount_w
    out: list[Flowable] = [
        CondPageBreak(40 * mm),
        s.para("Payments and refunds", s.section),
        s.para(f"Dates and times in {tz}", s.small),
        Spacer(1, 1.5 * mm),
    ]
    if data.payments:
        rows: list[list[Any]] = [
            [
                s.para("DATE", s.label),
                s.para("TYPE", s.label),
                s.para("METHOD", s.label),
                s.para("REFERENCE", s.label),
                s.para("AMOUNT", s.label_right),
            ]
        ]
        for p in data.payments:
            refund = p.kind == "refund"
            rows.append(
                [
                    s.para(format_short_datetime(p.at, tz), s.cell),
                    s.para("Refund" if refund else "Payment", s.cell),
                    s.para(p.method, s.cell),
                    s.para(p.reference or "\u2014", s.cell if p.reference else s.small),
                    s.para(format_money(p.signed_amount, cur), s.cell_right),
                ]
            )
        table = Table(rows, colWidths=[date_w, kind_w, method_w, ref_w, amount_w], repeatRows=1)
        style = _grid_style()
        style.append(("LINEBELOW", (0, 1), (-1, -1), 0.4, _RULE))
        table.setStyle(TableStyle(style))
        out.append(table)
    else:
        out.append(s.para("No payments recorded.", s.small))
    out.append(Spacer(1, 4 * mm))
    out.append(_balance_summary(data, s, width))
    return out


def _balance_summary(data: ReceiptData, s: _Styles, width: float) -> Flowable:
    cur = data.currency
    rows: list[list[Any]] = []
    if not data.is_cancelled:
        rows.append(
            [
                s.para("Booking total", s.body_right),
                s.para(format_money(data.total, cur), s.body_right),
            ]
        )
    rows.append(
        [
            s.para("Payments received", s.body_right),
            s.para(format_money(data.paid, cur), s.body_right),
        ]
    )
    if data.refunded or data.is_cancelled:
        rows.append(
            [
                s.para("Refunds", s.body_right),
                s.para(format_money(-data.refunded, cur), s.body_right),
            ]
        )

    label = data.balance_label
    amount = abs(data.balance)
    if label in ("Paid in full", "Fully refunded", "Nothing to refund"):
        fg, bg = _GREEN, _GREEN_BG
    elif label in ("Balance due", "Amount held"):
        fg, bg = (_AMBER, _AMBER_BG) if data.is_cancelled else (_RED, _RED_BG)
    else:
        fg, bg = _AMBER, _AMBER_BG
    big_left = ParagraphStyle("bal_l", parent=s.bold_right, fontSize=12, leading=15, textColor=fg)
    big_right = ParagraphStyle("bal_r", parent=big_left)
    rows.append([s.para(label, big_left), s.para(format_money(amount, cur), big_right)])
    last = len(rows) - 1

    label_w, amount_w = 60 * mm, 34 * mm
    table = Table(rows, colWidths=[label_w, amount_w], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("BACKGROUND", (0, last), (-1, last), bg),
                ("LINEABOVE", (0, last), (-1, last), 1.2, fg),
                ("TOPPADDING", (0, last), (-1, last), 6),
                ("BOTTOMPADDING", (0, last), (-1, last), 7),
            ]
        )
    )
    parts: list[Flowable] = [table]
    if data.is_cancelled:
        if data.balance > 0:
            note = (
                f"Booking cancelled: {format_money(data.balance, cur)} is still held"
                " and may be refunded."
            )
        else:
            note = "Booking cancelled: no money is held for this booking."
        parts += [Spacer(1, 2 * mm), s.para(note, s.small_right)]
    return KeepTogether(parts)


def _notes(data: ReceiptData, s: _Styles) -> list[Flowable]:
    if not data.notes or not data.notes.strip():
        return []
    return [
        Spacer(1, 7 * mm),
        KeepTogether([s.para("Notes", s.section), s.multiline(data.notes.strip(), s.body)]),
    ]


def _all_text(data: ReceiptData) -> Iterator[str]:
    venue = data.venue
    yield from (venue.name, *venue.address_lines, venue.email or "", venue.phone or "")
    yield from (data.booking_number, data.customer_name, data.customer_email or "")
    yield from (data.customer_phone or "", data.activity_name, data.discount_label or "")
    yield from (data.status, data.notes or "")
    for line in data.lines:
        yield line.description
    for p in data.payments:
        yield p.method
        yield p.reference or ""


# -- entry point -------------------------------------------------------------------------------


def render_receipt(data: ReceiptData, *, pagesize: Sequence[float] = A4) -> bytes:
    """Render ``data`` as a PDF receipt and return the file's bytes.

    Args:
        data: The receipt content.
        pagesize: Page size in points, e.g. ``reportlab.lib.pagesizes.A4`` (default)
            or ``LETTER``.

    Long receipts paginate; table headers repeat on each page and every page is
    footed "Page N of M".
    """
    fonts = choose_fonts(_all_text(data))
    styles = _Styles(fonts)
    page = (float(pagesize[0]), float(pagesize[1]))
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=page,
        leftMargin=_MARGIN_X,
        rightMargin=_MARGIN_X,
        topMargin=_MARGIN_TOP,
        bottomMargin=_MARGIN_BOTTOM,
        title=f"Receipt {data.booking_number}",
        author=data.venue.name,
        subject=f"Receipt for booking {data.booking_number} ({data.activity_name})",
        creator="BookingTMS Desk",
        keywords=["receipt", data.booking_number],
        lang="en",
    )
    frame = Frame(
        doc.leftMargin,
        doc.bottomMargin,
        doc.width,
        doc.height,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    doc.addPageTemplates([PageTemplate(id="receipt", frames=[frame])])
    width = doc.width
    story: list[Flowable] = []
    story += _header(data, styles, width)
    if data.is_cancelled:
        story += _cancelled_banner(data, styles, width)
    story += _booking_block(data, styles, width)
    story += _party_table(data, styles, width)
    story += _payments_table(data, styles, width)
    story += _notes(data, styles)

    furniture = _Furniture(
        fonts=fonts,
        left_text=f"{data.venue.name}  \u00b7  Receipt {data.booking_number}",
        continued_text=f"Receipt {data.booking_number} (continued)",
        pagesize=page,
    )
    doc.build(story, canvasmaker=_canvas_maker(furniture))
    return buffer.getvalue()
