"""A booking's receipt on paper: the service's PDF pages, rendered with QtPdf, drawn on a
printer chosen in the system print dialog."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter

# Sharp enough for a receipt's small print and its QR code, light enough to send.
MAX_RENDER_DPI = 300
POINTS_PER_INCH = 72


class ReceiptPrintError(Exception):
    """The receipt could not be read or the printer could not be used; says which."""


def render_pages(pdf: bytes, dpi: int) -> list[QImage]:
    """Every page of ``pdf`` as an image at ``dpi`` (blocking: run it in a thread)."""
    buffer = QBuffer()
    buffer.setData(QByteArray(pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    document.load(buffer)
    if document.status() is not QPdfDocument.Status.Ready or document.pageCount() == 0:
        raise ReceiptPrintError(f"The receipt could not be read ({document.error().name}).")
    try:
        pages = []
        for index in range(document.pageCount()):
            points = document.pagePointSize(index)
            size = QSize(
                round(points.width() * dpi / POINTS_PER_INCH),
                round(points.height() * dpi / POINTS_PER_INCH),
            )
            pages.append(document.render(index, size))
        return pages
    finally:
        document.close()
        buffer.close()


def paint_pages(pages: list[QImage], printer: QPrinter) -> None:
    """Draw ``pages`` on ``printer``, one sheet each, as large as the paper allows."""
    printer.setFullPage(True)  # the receipt brings its own margins
    painter = QPainter()
    if not painter.begin(printer):
        raise ReceiptPrintError("The printer could not be started.")
    try:
        paper = printer.paperRect(QPrinter.Unit.DevicePixel)
        for number, image in enumerate(pages):
            if number:
                printer.newPage()
            size = image.size().scaled(paper.size().toSize(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRectF(0, 0, size.width(), size.height())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, image)
    finally:
        painter.end()


async def print_receipt(pdf: bytes, printer: QPrinter) -> int:
    """Print the receipt ``pdf`` on ``printer``; the number of pages printed."""
    dpi = min(printer.resolution(), MAX_RENDER_DPI)
    pages = await asyncio.to_thread(render_pages, pdf, dpi)
    paint_pages(pages, printer)
    return len(pages)
