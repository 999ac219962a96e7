"""Font selection for receipts, with a safe fallback for characters fonts can't draw.

Receipts use the PDF base-14 fonts (Helvetica, Courier) whenever every string fits
their WinAnsi (cp1252) encoding: nothing is embedded and the PDF stays small.

When some text needs more (e.g. Polish "Łukasz", Greek, Cyrillic), a Unicode
TrueType family is looked up once -- ``resources/receipts/fonts/`` first (so a
deployment can bundle fonts), then the usual system locations (DejaVu on Linux,
Arial on Windows/macOS) -- registered with reportlab, and embedded as a subset.

Characters that the chosen font still cannot draw (e.g. Japanese with DejaVu) are
replaced by a visible ``?`` instead of disappearing or crashing the renderer.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from app.paths import resource

REPLACEMENT = "?"
"""Shown in place of a character the selected font has no glyph for."""

BUNDLED_FONT_DIR = resource("receipts", "fonts")


@dataclass(frozen=True)
class Font:
    """A registered reportlab font and the characters it can draw."""

    name: str
    covers: Callable[[str], bool]

    def clean(self, text: str) -> str:
        """``text`` with control characters dropped and undrawable ones replaced."""
        out: list[str] = []
        for ch in text:
            if ch in "\t\n":
                out.append(" ")
            elif unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
                continue  # control / format / lone surrogate: never meaningful on paper
            elif self.covers(ch):
                out.append(ch)
            else:
                out.append(REPLACEMENT)
        return "".join(out)


@dataclass(frozen=True)
class FontSet:
    """The fonts a receipt is drawn with."""

    regular: Font
    bold: Font
    mono_bold: Font
    unicode: bool
    """True when a TrueType (Unicode) family is in use rather than the base-14 fonts."""


def _cp1252(ch: str) -> bool:
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


BUILTIN = FontSet(
    regular=Font("Helvetica", _cp1252),
    bold=Font("Helvetica-Bold", _cp1252),
    mono_bold=Font("Courier-Bold", _cp1252),
    unicode=False,
)


# (regular, bold) file-name pairs and (mono bold,) candidates, in preference order.
_SANS_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    ("arial.ttf", "arialbd.ttf"),
    ("Arial.ttf", "Arial Bold.ttf"),
)
_MONO_CANDIDATES: tuple[str, ...] = (
    "DejaVuSansMono-Bold.ttf",
    "LiberationMono-Bold.ttf",
    "courbd.ttf",
    "Courier New Bold.ttf",
)


def font_dirs() -> list[Path]:
    """Directories searched (non-recursively) for Unicode TrueType fonts, in order."""
    dirs = [BUNDLED_FONT_DIR]
    if sys.platform.startswith("win"):
        windir = os.environ.get("WINDIR", r"C:\Windows")
        dirs.append(Path(windir) / "Fonts")
        local = os.environ.get("LOCALAPPDATA")
        if local:
            dirs.append(Path(local) / "Microsoft" / "Windows" / "Fonts")
    elif sys.platform == "darwin":
        dirs += [
            Path("/Library/Fonts"),
            Path("/System/Library/Fonts/Supplemental"),
            Path.home() / "Library" / "Fonts",
        ]
    else:
        data_dirs = os.environ.get("XDG_DATA_DIRS", "/usr/local/share:/usr/share").split(":")
        roots = [Path.home() / ".local" / "share", *(Path(d) for d in data_dirs if d)]
        for root in roots:
            fonts = root / "fonts"
            dirs += [
                fonts / "truetype" / "dejavu",
                fonts / "dejavu",
                fonts / "TTF",
                fonts / "truetype" / "noto",
                fonts / "noto",
                fonts / "truetype" / "liberation",
                fonts / "liberation",
                fonts / "truetype",
                fonts,
            ]
        dirs.append(Path.home() / ".fonts")
    return dirs


def _find(name: str, dirs: Iterable[Path]) -> Path | None:
    for directory in dirs:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _load(alias: str, path: Path) -> Font | None:
    try:
        ttf = TTFont(alias, str(path))
    except (TTFError, OSError, ValueError):
        return None
    pdfmetrics.registerFont(ttf)
    glyphs = frozenset(ttf.face.charToGlyph or ())
    return Font(alias, lambda ch: ord(ch) in glyphs or ch == " ")


@lru_cache(maxsize=1)
def unicode_fonts() -> FontSet | None:
    """Find and register a Unicode TrueType family, or ``None`` if none is installed.

    The result is cached for the life of the process.
    """
    dirs = font_dirs()
    for regular_name, bold_name in _SANS_CANDIDATES:
        regular_path = _find(regular_name, dirs)
        bold_path = _find(bold_name, dirs)
        if regular_path is None or bold_path is None:
            continue
        regular = _load("ReceiptSans", regular_path)
        bold = _load("ReceiptSans-Bold", bold_path)
        if regular is None or bold is None:
            continue
        addMapping("ReceiptSans", 0, 0, regular.name)
        addMapping("ReceiptSans", 1, 0, bold.name)
        addMapping("ReceiptSans", 0, 1, regular.name)
        addMapping("ReceiptSans", 1, 1, bold.name)
        mono: Font | None = None
        for mono_name in _MONO_CANDIDATES:
            mono_path = _find(mono_name, dirs)
            if mono_path is not None:
                mono = _load("ReceiptMono-Bold", mono_path)
                if mono is not None:
                    break
        # The booking number is normally ASCII; the base-14 Courier is fine for it.
        return FontSet(regular, bold, mono or BUILTIN.mono_bold, unicode=True)
    return None


def choose_fonts(texts: Iterable[str]) -> FontSet:
    """Pick base-14 fonts if every character of ``texts`` fits them, else a Unicode family.

    Falls back to the base-14 fonts (with ``?`` replacements) when no Unicode
    TrueType font can be found on this machine.
    """
    if all(_cp1252(ch) for text in texts for ch in text):
        return BUILTIN
    return unicode_fonts() or BUILTIN
