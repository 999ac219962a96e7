"""What the money dialogs share: the service's reachability as a Qt signal, money fields,
and a dialog that sends one intent, keeps itself open with the service's sentence when
refused, and never sends twice."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.money import exponent, format_amount, parse_amount
from app.services.api_client import ApiClient, ApiError
from app.services.bookings import BookingDetail
from app.services.money import NEEDS_CONNECTION, PAYMENT_METHODS, Intent, MoneyService, explain
from app.ui.tasks import TaskRunner


class ServiceLink(QObject):
    """Whether the service answers, as a Qt signal every money control can follow."""

    online_changed = Signal(bool)

    def __init__(self, client: ApiClient, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        client.add_connection_listener(self.online_changed.emit)

    @property
    def online(self) -> bool:
        # Unknown until the first answer: the desk starts out assuming the service is there.
        return self._client.online is not False


def plain_amount(minor: int, currency: str) -> str:
    """``6000`` → ``"60.00"`` (no symbol, no thousands separator): what one types."""
    places = exponent(currency)
    whole, frac = divmod(abs(minor), 10**places)
    sign = "-" if minor < 0 else ""
    return f"{sign}{whole}" + (f".{frac:0{places}d}" if places else "")


class AmountField(QLineEdit):
    """An amount of money typed in the venue's currency; read back in minor units."""

    def __init__(self, currency: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.currency = currency
        self.setPlaceholderText(plain_amount(0, currency))
        self.setMaximumWidth(140)

    def set_amount(self, minor: int) -> None:
        self.setText(plain_amount(minor, self.currency))

    def amount(self) -> int | None:
        """The typed amount in minor units, or ``None`` when it is not an amount."""
        try:
            return parse_amount(self.text(), self.currency)
        except ValueError:
            return None

    def problem(self, most: int, what: str = "The amount") -> str:
        """Why the typed amount cannot be sent (``""`` when it can): 0 < amount ≤ ``most``."""
        amount = self.amount()
        example = plain_amount(1250 if exponent(self.currency) == 2 else 12, self.currency)
        if amount is None:
            return f"{what} must be a number such as {example}."
        if amount <= 0:
            return f"{what} must be more than {format_amount(0, self.currency)}."
        if amount > most:
            return f"{what} can be at most {format_amount(most, self.currency)}."
        return ""


def method_choice(methods: Sequence[str] = tuple(PAYMENT_METHODS)) -> QComboBox:
    """A list of payment methods (cash, card terminal, other) holding their codes."""
    combo = QComboBox()
    for code in methods:
        combo.addItem(PAYMENT_METHODS[code], code)
    return combo


class Choice(QWidget):
    """Radio buttons for one choice among codes, in a row or a column; a column may show a
    widget beside a button (the amount of a partial refund, say)."""

    changed = Signal(str)

    def __init__(
        self,
        options: Sequence[tuple[str, str]],
        *,
        vertical: bool = False,
        beside: dict[str, QWidget] | None = None,
    ) -> None:
        super().__init__()
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, (code, text) in enumerate(options):
            button = QRadioButton(text)
            button.toggled.connect(lambda on, c=code: self._toggled(on, c))
            self.group.addButton(button)
            self.buttons[code] = button
            row, column = (i, 0) if vertical else (0, i)
            grid.addWidget(button, row, column)
            if vertical and beside and code in beside:
                grid.addWidget(beside[code], row, 1)
        grid.setColumnStretch(grid.columnCount(), 1)

    def _toggled(self, on: bool, code: str) -> None:
        if on:
            self.changed.emit(code)

    def value(self) -> str:
        return next((code for code, b in self.buttons.items() if b.isChecked()), "")

    def set_value(self, code: str) -> None:
        self.buttons[code].setChecked(True)


def figure(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("figure")
    return label


class MoneyDialog(QDialog):
    """A dialog that sends one money move: the OK button is pressed once per attempt.

    Subclasses put their fields in :attr:`form`, say in :meth:`ready` whether OK may be
    pressed, in :meth:`problem` what is wrong with the typed values, and send in
    :meth:`send`. Every send of one dialog shares one :class:`Intent`.
    """

    def __init__(
        self,
        what: str,
        ok_text: str,
        money: MoneyService,
        runner: TaskRunner,
        link: ServiceLink,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.what = what
        self.money = money
        self.runner = runner
        self.link = link
        self.intent = Intent()
        self.updated: BookingDetail | None = None
        self._sending = False

        self.form = QFormLayout()
        self.error = QLabel()
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.offline_note = QLabel(f"{what} {NEEDS_CONNECTION}.")
        self.offline_note.setObjectName("notice")
        self.offline_note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok: QPushButton = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(ok_text)
        self.ok.setDefault(True)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.body = QVBoxLayout(self)
        self.body.addLayout(self.form)
        self.body.addWidget(self.error)
        self.body.addWidget(self.offline_note)
        self.body.addWidget(self.buttons)
        link.online_changed.connect(lambda _: self.update_ok())

    # For subclasses ----------------------------------------------------------------------

    def ready(self) -> bool:
        """Whether everything required has been entered (cheap: runs on each keystroke)."""
        return True

    def problem(self) -> str:
        """What is wrong with the entered values, as a sentence; ``""`` when nothing is."""
        return ""

    @abstractmethod
    async def send(self, intent: Intent) -> BookingDetail:
        """Send the request under ``intent``; the booking as the service now has it."""

    @abstractmethod
    def done_message(self, updated: BookingDetail) -> str:
        """What happened, for the window's banner, once the service said yes."""

    # Plumbing ----------------------------------------------------------------------------

    @property
    def sending(self) -> bool:
        return self._sending

    def update_ok(self) -> None:
        online = self.link.online
        self.offline_note.setVisible(not online)
        self.ok.setEnabled(online and not self._sending and self.ready())

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def submit(self) -> None:
        """Send once: a second press while the first is on its way does nothing."""
        if self._sending or not self.ok.isEnabled():
            return
        problem = self.problem()
        if problem:
            self.show_error(problem)
            return
        self._sending = True
        self.error.hide()
        self.update_ok()
        self.runner.spawn(self._send())

    async def _send(self) -> None:
        try:
            self.updated = await self.send(self.intent)
        except ApiError as exc:
            self.show_error(explain(exc, self.what))
            return
        finally:
            self._sending = False
            self.update_ok()
        self.accept()
