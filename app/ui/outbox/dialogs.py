"""Showing a rendered template: subject, the e-mail as it looks, its plain text, the SMS."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.services.outbox import TEMPLATE_LABELS, TemplatePreview


class PreviewDialog(QDialog):
    """A read-only view of one :class:`TemplatePreview`."""

    def __init__(self, preview: TemplatePreview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        label = TEMPLATE_LABELS.get(preview.template, preview.template)
        self.setWindowTitle(f"Preview: {label}")
        self.resize(720, 640)

        self.subject = QLabel(preview.subject)
        self.subject.setWordWrap(True)
        self.subject.setObjectName("detailTitle")
        form = QFormLayout()
        form.addRow("Subject", self.subject)
        self.attachments = QLabel(", ".join(preview.attachments) or "None")
        form.addRow("Attachments", self.attachments)
        if preview.sample:
            note = QLabel("Shown for a made-up booking at your venue.")
            note.setObjectName("muted")
            form.addRow("", note)

        self.tabs = QTabWidget()
        self.html = QTextBrowser()
        self.html.setOpenLinks(False)  # a preview, not a browser
        self.html.setHtml(preview.html)
        self.tabs.addTab(self.html, "E-mail")
        self.text = QPlainTextEdit(preview.text)
        self.text.setReadOnly(True)
        self.tabs.addTab(self.text, "Plain text")
        self.sms: QPlainTextEdit | None = None
        if preview.sms is not None:
            self.sms = QPlainTextEdit(preview.sms)
            self.sms.setReadOnly(True)
            self.tabs.addTab(self.sms, "SMS")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
