"""The Bookings page's money actions: which are possible, the dialogs, and the receipts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QWidget

from app.services.api_client import ApiError
from app.services.booking_actions import (
    MONEY_NAMES,
    ActionState,
    MoneyAction,
    money_action_states,
)
from app.services.bookings import BookingDetail, BookingRow
from app.services.money import NEEDS_CONNECTION, explain
from app.ui.bookings.dialogs import AddBookingDialog, CancelDialog
from app.ui.bookings.money_common import MoneyDialog, ServiceLink
from app.ui.bookings.money_dialogs import MarkPaidDialog, RefundDialog
from app.ui.bookings.money_reschedule import RescheduleDialog
from app.ui.bookings.receipt_print import ReceiptPrintError, print_receipt
from app.ui.context import DeskContext
from app.ui.tasks import ask

ADD_BOOKING = "Taking a booking"


class MoneyActions(QObject):
    """Opens the money dialogs of a booking and says what changed.

    :attr:`booking_changed` carries the booking as the service has it after a refund,
    cancellation, reschedule or payment; :attr:`booking_added` a new desk booking.
    """

    booking_changed = Signal(object)  # BookingDetail
    booking_added = Signal(object)  # BookingDetail

    def __init__(self, context: DeskContext, parent: QWidget) -> None:
        super().__init__(parent)
        self._context = context
        self._services = context.services
        self._parent = parent
        self.money = context.services.money
        self.link = ServiceLink(context.services.client, self)

    @property
    def online(self) -> bool:
        return self.link.online

    def states(self, booking: BookingRow) -> list[ActionState]:
        """The money actions of ``booking`` for the signed-in member of staff, now."""
        return money_action_states(booking, self._services.identity.role, online=self.online)

    def add_booking_state(self) -> tuple[bool, str]:
        """Whether a booking can be taken now, and the tooltip of the button."""
        if self.online:
            return True, "Take a booking at the desk (Ctrl+N)"
        return False, f"{ADD_BOOKING} {NEEDS_CONNECTION}."

    # Opening -----------------------------------------------------------------------------

    def open(self, action: MoneyAction, booking: BookingRow) -> None:
        """Start ``action`` on ``booking``: a dialog, the print dialog or a file chooser."""
        if action is MoneyAction.PRINT_RECEIPT:
            self.choose_printer(booking)
        elif action is MoneyAction.SAVE_RECEIPT:
            self.choose_receipt_path(booking)
        else:
            self._context.runner.spawn(self._open(action, booking))

    def cancel(self, booking: BookingRow) -> None:
        """Ask for the reason and the refund, then cancel ``booking``."""
        self._context.runner.spawn(self._cancel(booking))

    def add_booking(self) -> None:
        """Open the desk-booking form."""
        self._context.runner.spawn(self._add_booking())

    async def _fresh(self, booking: BookingRow) -> BookingDetail:
        # The figures of a dialog come from the booking as it is now, not as it was listed.
        return await self._services.bookings.get(booking.id)

    async def _open(self, action: MoneyAction, booking: BookingRow) -> None:
        detail = await self._fresh(booking)
        args = (self.money, self._context.runner, self.link, self._parent)
        dialog: MoneyDialog
        if action is MoneyAction.REFUND:
            dialog = RefundDialog(detail, *args)
        elif action is MoneyAction.MARK_PAID:
            dialog = MarkPaidDialog(detail, *args)
        else:
            dialog = RescheduleDialog(detail, self._services, *args)
        await self._run(dialog, self.booking_changed)

    async def _cancel(self, booking: BookingRow) -> None:
        detail = await self._fresh(booking)
        dialog = CancelDialog(detail, self.money, self._context.runner, self.link, self._parent)
        await self._run(dialog, self.booking_changed)

    async def _add_booking(self) -> None:
        dialog = AddBookingDialog(
            self._services, self.money, self._context.runner, self.link, self._parent
        )
        await self._run(dialog, self.booking_added)

    async def _run(self, dialog: MoneyDialog, report: SignalInstance) -> None:
        accepted = await ask(dialog) == QDialog.DialogCode.Accepted
        if accepted and dialog.updated is not None:
            message = dialog.done_message(dialog.updated)
            report.emit(dialog.updated)
            self._context.notify(message, "info")
        dialog.deleteLater()

    # Receipts ----------------------------------------------------------------------------

    def choose_printer(self, booking: BookingRow) -> None:
        """Show the system print dialog, then print the receipt on the printer chosen."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(f"Receipt {booking.booking_number}")
        dialog = QPrintDialog(printer, self._parent)
        dialog.setWindowTitle(f"Print receipt {booking.booking_number}")
        # The system's print dialog may be native and modal only: exec() is its one way.
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        dialog.deleteLater()
        if accepted:
            self._context.runner.spawn(self._print(booking, printer))

    async def _print(self, booking: BookingRow, printer: QPrinter) -> None:
        what = MONEY_NAMES[MoneyAction.PRINT_RECEIPT]
        try:
            pdf = await self.money.receipt(booking.id)
            pages = await print_receipt(pdf, printer)
        except ApiError as exc:
            self._context.notify(explain(exc, what), "error")
            return
        except ReceiptPrintError as exc:
            self._context.notify(f"The receipt was not printed: {exc}", "error")
            return
        sheets = f"{pages} page{'s' if pages != 1 else ''}"
        self._context.notify(f"Sent the receipt of {booking.booking_number} ({sheets}).", "info")

    def choose_receipt_path(self, booking: BookingRow) -> None:
        """Ask where to save the receipt as PDF, then save it there."""
        name, _ = QFileDialog.getSaveFileName(
            self._parent,
            f"Save receipt {booking.booking_number}",
            f"Receipt {booking.booking_number}.pdf",
            "PDF files (*.pdf)",
        )
        if name:
            self.save_receipt(booking, Path(name))

    def save_receipt(self, booking: BookingRow, path: Path) -> None:
        """Write the receipt of ``booking`` to ``path``."""
        self._context.runner.spawn(self._save(booking, path))

    async def _save(self, booking: BookingRow, path: Path) -> None:
        try:
            pdf = await self.money.receipt(booking.id)
            await asyncio.to_thread(path.write_bytes, pdf)
        except ApiError as exc:
            self._context.notify(explain(exc, MONEY_NAMES[MoneyAction.SAVE_RECEIPT]), "error")
            return
        except OSError as exc:
            self._context.notify(f"The receipt was not saved: {exc.strerror or exc}.", "error")
            return
        self._context.notify(f"Saved the receipt of {booking.booking_number} to {path}.", "info")
