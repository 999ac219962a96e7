"""Moving a booking to another session, and settling the price difference."""

from __future__ import annotations

import uuid
from datetime import date
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from app.domain.money import format_amount
from app.domain.roles import Role
from app.services.api_client import ApiError
from app.services.bookings import BookingDetail
from app.services.desk import DeskServices
from app.services.money import (
    DESK_CHARGE_METHODS,
    Intent,
    MoneyService,
    RescheduleOption,
    RescheduleRequest,
    Settlement,
    explain,
    refund_figures,
)
from app.ui.bookings.money_common import Choice, MoneyDialog, ServiceLink, method_choice
from app.ui.formatting import local_datetime, short_date
from app.ui.tasks import LatestOnly, TaskRunner
from app.ui.widgets.controls import date_edit, picked_date

OPTION_ROLE = Qt.ItemDataRole.UserRole + 1


class RescheduleDialog(MoneyDialog):
    """Pick a date (and perhaps another activity), then a session with room for the party.

    Check-in state and notes stay with the booking; the price difference is charged at the
    desk, sent as a payment link, refunded (managers), or left to settle on arrival.
    """

    def __init__(
        self,
        booking: BookingDetail,
        services: DeskServices,
        money: MoneyService,
        runner: TaskRunner,
        link: ServiceLink,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Rescheduling", "Move booking", money, runner, link, parent)
        self.booking = booking
        self._services = services
        self._zone = ZoneInfo(booking.timezone)
        self._loading = LatestOnly(runner)
        self._activities_loaded = False
        self.setWindowTitle(f"Reschedule {booking.booking_number}")
        self.setMinimumWidth(640)
        today = services.today()
        c = booking.currency

        now = QLabel(
            f"{local_datetime(booking.starts_at, booking.timezone, today)} · "
            f"{booking.activity_name} · {booking.party_size} guests · "
            f"{format_amount(booking.total_amount, c)}"
        )
        self.day = date_edit(max(booking.booking_date, today))
        self.day.dateChanged.connect(lambda _: self.load_options())
        self.activity = QComboBox()
        self.activity.addItem(booking.activity_name, str(booking.activity_id))
        self.activity.currentIndexChanged.connect(lambda _: self.load_options())
        self.options = QTreeWidget()
        self.options.setHeaderLabels(["Time", "Activity", "Seats left", "New total", "Difference"])
        self.options.setRootIsDecorated(False)
        self.options.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.options.setMinimumHeight(150)
        self.options.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.options.currentItemChanged.connect(lambda *_: self._option_changed())
        self.options_note = QLabel()
        self.options_note.setObjectName("muted")
        self.difference = QLabel("Pick a session.")
        self.difference.setObjectName("total")
        self.settle = Choice(
            [
                (Settlement.CHARGE_AT_DESK.value, "Charge at the desk now"),
                (Settlement.PAYMENT_LINK.value, "Email a payment link"),
                (Settlement.REFUND.value, "Refund the difference"),
                (Settlement.NONE.value, "Settle nothing now"),
            ],
            vertical=True,
        )
        self.settle.changed.connect(lambda _: self._settle_changed())
        self.method = method_choice(DESK_CHARGE_METHODS)
        self.settle_note = QLabel()
        self.settle_note.setObjectName("muted")
        self.settle_note.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Optional: why the booking moves")
        self.reason.setMaxLength(500)

        self.form.addRow("Now:", now)
        self.form.addRow("New date:", self.day)
        self.form.addRow("Activity:", self.activity)
        self.form.addRow(self.options)
        self.form.addRow("", self.options_note)
        self.form.addRow("Price difference:", self.difference)
        self.form.addRow("Settle by:", self.settle)
        self.form.addRow("Method:", self.method)
        self.form.addRow("", self.settle_note)
        self.form.addRow("Reason:", self.reason)
        self._option_changed()
        self.load_options()

    # Options -----------------------------------------------------------------------------

    def load_options(self) -> None:
        """Ask the service for the sessions of the picked date and activity."""
        activity = self.activity.currentData()
        self._loading.run(
            self._fetch(picked_date(self.day), uuid.UUID(activity) if activity else None)
        )

    async def _fetch(self, day: date, activity_id: uuid.UUID | None) -> None:
        self.options.clear()
        self.options_note.setText("Looking for sessions with room for the party…")
        try:
            if not self._activities_loaded:
                await self._load_activities()
            options = await self.money.reschedule_options(self.booking.id, day, activity_id)
        except ApiError as exc:
            self.options_note.setText(explain(exc, "Finding sessions"))
            return
        today = self._services.today()
        options = [o for o in options if o.session_id != self.booking.session_id]
        for option in options:
            start = option.starts_at.astimezone(self._zone)
            end = option.ends_at.astimezone(self._zone)
            item = QTreeWidgetItem(
                [
                    f"{start:%H:%M}–{end:%H:%M}",
                    option.activity_name,
                    str(option.remaining),
                    format_amount(option.total_amount, option.currency),
                    _difference_text(option),
                ]
            )
            item.setData(0, OPTION_ROLE, option)
            self.options.addTopLevelItem(item)
        when = short_date(day, today)
        self.options_note.setText(
            f"{len(options)} session{'s' if len(options) != 1 else ''} with room on {when}."
            if options
            else "No other session on this date has room for the party."
        )
        self._option_changed()

    async def _load_activities(self) -> None:
        activities = await self._services.bookings.activities()
        self._activities_loaded = True
        self.activity.blockSignals(True)
        for activity in activities:
            if activity.id != self.booking.activity_id:
                self.activity.addItem(activity.name, str(activity.id))
        self.activity.blockSignals(False)

    def chosen(self) -> RescheduleOption | None:
        item = self.options.currentItem()
        option = item.data(0, OPTION_ROLE) if item else None
        return option if isinstance(option, RescheduleOption) else None

    # Settlement --------------------------------------------------------------------------

    def _option_changed(self) -> None:
        option = self.chosen()
        b = self.booking
        figures = refund_figures(b)
        held = figures.paid - figures.refunded
        manager = self._services.identity.role.at_least(Role.MANAGER)
        allowed: dict[Settlement, str] = {}  # what is possible, with "" or why not
        if option is None:
            self.difference.setText("Pick a session.")
        elif option.difference == 0:
            self.difference.setText("Same price")
            allowed[Settlement.NONE] = ""
        elif held <= 0:
            self.difference.setText(_difference_text(option))
            allowed[Settlement.NONE] = ""
        elif option.difference > 0:
            self.difference.setText(_difference_text(option))
            allowed |= {s: "" for s in (Settlement.CHARGE_AT_DESK, Settlement.PAYMENT_LINK)}
            allowed[Settlement.NONE] = ""
        else:
            self.difference.setText(_difference_text(option))
            allowed[Settlement.REFUND] = (
                "" if manager else "Refunding the difference needs the manager role or higher."
            )
            allowed[Settlement.NONE] = ""
        for code, button in self.settle.buttons.items():
            settlement = Settlement(code)
            button.setVisible(settlement in allowed)
            button.setEnabled(allowed.get(settlement, "x") == "")
            button.setToolTip(allowed.get(settlement, ""))
        # Each session brings its own difference: start from the usual way to settle it.
        usable = [s for s in Settlement if allowed.get(s) == ""]
        preferred = next(
            (s for s in (Settlement.REFUND, Settlement.CHARGE_AT_DESK) if s in usable),
            Settlement.NONE,
        )
        self.settle.set_value(preferred.value)
        self._settle_changed()

    def settlement(self) -> Settlement:
        return Settlement(self.settle.value() or Settlement.NONE.value)

    def _settle_changed(self) -> None:
        option = self.chosen()
        settlement = self.settlement()
        desk_paid = refund_figures(self.booking).desk_paid
        needs_method = settlement is Settlement.CHARGE_AT_DESK or (
            settlement is Settlement.REFUND and desk_paid
        )
        self.method.setEnabled(needs_method)
        c = self.booking.currency
        if option is None:
            note = ""
        else:
            gap = format_amount(abs(option.difference), c)
            total = format_amount(option.total_amount, c)
            note = {
                Settlement.CHARGE_AT_DESK: f"Take {gap} now.",
                Settlement.PAYMENT_LINK: f"The customer gets an email to pay {gap} online.",
                Settlement.REFUND: (
                    f"{gap} goes back "
                    + ("at the desk." if desk_paid else "to the customer's card through Stripe.")
                ),
                Settlement.NONE: (
                    f"The new total is {total}; the balance is settled on arrival."
                    if option.difference
                    else ""
                ),
            }[settlement]
        self.settle_note.setText(note)
        self.update_ok()

    # Sending -----------------------------------------------------------------------------

    def ready(self) -> bool:
        return self.chosen() is not None

    def reschedule_request(self) -> RescheduleRequest:
        option = self.chosen()
        assert option is not None
        settlement = self.settlement()
        return RescheduleRequest(
            session_id=option.session_id,
            settle=settlement,
            payment_method=str(self.method.currentData()) if self.method.isEnabled() else None,
            reason=self.reason.text(),
        )

    async def send(self, intent: Intent) -> BookingDetail:
        return await self.money.reschedule(self.booking.id, self.reschedule_request(), intent)

    def done_message(self, updated: BookingDetail) -> str:
        when = local_datetime(updated.starts_at, updated.timezone, self._services.today())
        return f"{updated.booking_number} moved to {when}."


def _difference_text(option: RescheduleOption) -> str:
    gap = format_amount(abs(option.difference), option.currency)
    if option.difference > 0:
        return f"+{gap} to pay"
    if option.difference < 0:
        return f"−{gap} to give back"
    return "same price"
