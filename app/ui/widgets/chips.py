"""Coloured status chips: one palette for table cells and labels alike."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import QLabel, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from app.domain.lifecycle import STATUS_RULES, BookingStatus

# Item data role carrying a chip's palette key, e.g. "status:confirmed".
CHIP_ROLE = Qt.ItemDataRole.UserRole + 10

GREEN = ("#dcfce7", "#166534")
BLUE = ("#dbeafe", "#1e40af")
AMBER = ("#fef3c7", "#92400e")
RED = ("#fee2e2", "#991b1b")
GREY = ("#f1f5f9", "#475569")
SLATE = ("#e2e8f0", "#334155")
PURPLE = ("#ede9fe", "#5b21b6")
ORANGE = ("#ffedd5", "#9a3412")
CYAN = ("#cffafe", "#155e75")
GOLD = ("#fef9c3", "#854d0e")

PALETTE: dict[str, tuple[str, str]] = {
    "status:pending_payment": AMBER,
    "status:confirmed": BLUE,
    "status:checked_in": GREEN,
    "status:completed": SLATE,
    "status:expired": GREY,
    "status:payment_failed": RED,
    "status:cancelled": RED,
    "status:no_show": ORANGE,
    "payment:unpaid": AMBER,
    "payment:paid": GREEN,
    "payment:partially_refunded": PURPLE,
    "payment:refunded": PURPLE,
    "payment:failed": RED,
    "segment:new": CYAN,
    "segment:active": GREEN,
    "segment:vip": GOLD,
    "segment:at_risk": ORANGE,
    "segment:churned": GREY,
    "customer:active": GREEN,
    "customer:inactive": GREY,
    "customer:blocked": RED,
    "checkin:ok": GREEN,
    "checkin:already_checked_in": BLUE,
    "checkin:not_today": AMBER,
    "checkin:unpaid": AMBER,
    "checkin:cancelled": RED,
    "checkin:expired": GREY,
    "checkin:unknown": RED,
}

PAYMENT_LABELS = {
    "unpaid": "Unpaid",
    "paid": "Paid",
    "partially_refunded": "Part refunded",
    "refunded": "Refunded",
    "failed": "Failed",
}
SEGMENT_LABELS = {
    "new": "New",
    "active": "Active",
    "vip": "VIP",
    "at_risk": "At risk",
    "churned": "Churned",
}
CUSTOMER_STATUS_LABELS = {"active": "Active", "inactive": "Inactive", "blocked": "Blocked"}


def status_label(status: str) -> str:
    """``"no_show"`` → ``"No-show"``."""
    return STATUS_RULES[BookingStatus(status)].label


def colours(key: str) -> tuple[QColor, QColor]:
    """Background and text colour of the chip ``key`` (grey when unknown)."""
    background, text = PALETTE.get(key, GREY)
    return QColor(background), QColor(text)


class ChipDelegate(QStyledItemDelegate):
    """Paints a cell as a rounded pill coloured by its :data:`CHIP_ROLE` key."""

    PAD_X, PAD_Y = 8, 3

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        key = index.data(CHIP_ROLE)
        text = index.data(Qt.ItemDataRole.DisplayRole)
        if not key or not text:
            super().paint(painter, option, index)
            return
        style = option.widget.style() if option.widget else None
        if style is not None and option.state & QStyle.StateFlag.State_Selected:
            style.drawPrimitive(
                QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget
            )
        background, foreground = colours(key)
        metrics = QFontMetrics(option.font)
        width = metrics.horizontalAdvance(text) + 2 * self.PAD_X
        height = metrics.height() + 2 * self.PAD_Y
        rect = QRectF(
            option.rect.x() + 6,
            option.rect.y() + (option.rect.height() - height) / 2,
            min(width, option.rect.width() - 12),
            height,
        )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(background)
        painter.drawRoundedRect(rect, height / 2, height / 2)
        painter.setPen(foreground)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(hint.width() + 2 * self.PAD_X + 12, max(hint.height(), 28))


class ChipLabel(QLabel):
    """A label drawn as a chip; :meth:`set_chip` changes text and colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chip")
        self.hide()

    def set_chip(self, key: str, text: str) -> None:
        background, foreground = PALETTE.get(key, GREY)
        self.setText(text)
        self.setProperty("chipKey", key)
        self.setStyleSheet(
            f"QLabel#chip {{ background: {background}; color: {foreground}; "
            "border-radius: 10px; padding: 2px 10px; font-weight: 600; }"
        )
        self.setVisible(bool(text))
