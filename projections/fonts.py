"""Static Noto Serif fonts for Vietnamese documents, built once and cached on disk.

The ``fontpkg-noto-serif`` package ships Noto Serif as two variable fonts (upright and
italic, axes ``wght`` and ``wdth``). Embedding a variable font means instantiating it per
document, which costs seconds, so :func:`serif_path` instantiates the three static styles
a transcript uses (Regular: wght 400 wdth 100; Bold: wght 700 wdth 100; Italic: the
italic file at wght 400 wdth 100) with :mod:`fontTools.varLib.instancer`, subsets each to
:data:`VIETNAMESE_CHARSET`, and writes the result as a ``.ttf`` into the cache directory:

- ``$SOCAI_CACHE_DIR/fonts`` when ``SOCAI_CACHE_DIR`` is set, else
- ``$XDG_CACHE_HOME/socai/fonts`` when ``XDG_CACHE_HOME`` is set, else
- ``~/.cache/socai/fonts``.

A file is named ``NotoSerif-<Style>-<fontpkg version>-<recipe hash>.ttf``; the hash covers
the character set, the instancing and subsetting recipe and the fontTools version, so a
change to any of them builds a new file instead of reusing a stale one. Files are written
to a temporary name and moved into place with :func:`os.replace`, so processes racing to
build the same font each produce a complete file and the last rename wins. The build is
deterministic (the ``head`` timestamps are the upstream font's), so every machine with the
same versions writes the same bytes, and documents embedding them stay reproducible.

The subset keeps what both fpdf2 and pyHanko's ``GlyphAccumulatorFactory`` (HarfBuzz
shaping) need: the Unicode ``cmap``, glyph names (``post`` format 2), every ``name``
record, and the OpenType layout tables (``GDEF``, ``GSUB``, ``GPOS`` with all features,
so decomposed marks still shape onto their bases).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
import unicodedata
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from projections.errors import ProjectionError

Style = Literal["regular", "bold", "italic"]

#: Family name of the embedded fonts, as viewers and ``pdffonts`` show it.
FAMILY = "Noto Serif"


class FontUnavailable(ProjectionError):
    """The static fonts cannot be built or cached (package missing, glyph missing, disk)."""


def _chars(*ranges: tuple[int, int]) -> str:
    return "".join(chr(c) for lo, hi in ranges for c in range(lo, hi + 1))


#: Every character the cached fonts cover, in code point order. Vietnamese uses the
#: precomposed letters of U+1EA0–U+1EF9 plus Ă Â Đ Ê Ô Ơ Ư Ĩ Ũ (Latin-1 and Latin
#: Extended-A/B); the whole of Latin Extended-A is kept (for names of minority languages and
#: foreign names, at little cost), the combining marks Vietnamese decomposes into (grave,
#: acute, circumflex, tilde, breve, hook above, dot below) and common punctuation. U+2192
#: (→) is not in Noto Serif and so is not here; the renderer draws no arrows.
VIETNAMESE_CHARSET: str = "".join(
    sorted(
        set(
            _chars(
                (0x0020, 0x007E),  # Basic Latin
                (0x00A0, 0x00FF),  # Latin-1 Supplement: NBSP, punctuation, letters, ×, °
                (0x0100, 0x017F),  # Latin Extended-A: Ă ă Đ đ Ĩ ĩ Ũ ũ and the rest
                (0x0300, 0x0309),  # combining grave … hook above
                (0x1EA0, 0x1EF9),  # Latin Extended Additional: Vietnamese
            )
            + "\u01a0\u01a1\u01af\u01b0"  # Ơ ơ Ư ư (Latin Extended-B)
            + "\u0323"  # combining dot below
            + "\u2013\u2014\u2018\u2019\u201c\u201d\u2026\u2022\u2116"  # – — ‘ ’ “ ” … • №
        )
    )
)
_CHARSET = frozenset(VIETNAMESE_CHARSET)
#: Line breaks are layout, not glyphs.
_LAYOUT = frozenset("\n")

#: Bump when the recipe below changes in a way the hash cannot see.
_RECIPE = "socai-fonts/1"
_STYLES: dict[Style, tuple[str, str, float]] = {
    # style -> (variable font file, file-name style, wght); wdth is 100 throughout.
    "regular": ("NotoSerif[wdth,wght].ttf", "Regular", 400.0),
    "bold": ("NotoSerif[wdth,wght].ttf", "Bold", 700.0),
    "italic": ("NotoSerif-Italic[wdth,wght].ttf", "Italic", 400.0),
}
_LOCK = threading.Lock()


def uncovered(text: str) -> set[str]:
    """The characters of ``text`` (after NFC normalisation) the cached fonts cannot draw.

    Line feeds are ignored; every other character, controls included, must be in
    :data:`VIETNAMESE_CHARSET`.
    """
    nfc = unicodedata.normalize("NFC", text)
    return {c for c in nfc if c not in _CHARSET and c not in _LAYOUT}


def cache_dir() -> Path:
    """The directory the static fonts are cached in (see the module docstring)."""
    explicit = os.environ.get("SOCAI_CACHE_DIR")
    if explicit:
        return Path(explicit) / "fonts"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "socai" / "fonts"


@cache
def _package() -> tuple[Path, str]:
    """The font package's directory and version."""
    try:
        import fontpkg_noto_serif  # type: ignore[import-untyped]

        version = metadata.version("fontpkg-noto-serif")
    except (ImportError, metadata.PackageNotFoundError) as e:
        raise FontUnavailable(f"the font package fontpkg-noto-serif is not installed: {e}") from e
    return Path(fontpkg_noto_serif.ROOT) / "files", version


@cache
def _recipe_hash() -> str:
    import fontTools  # type: ignore[import-untyped]

    recipe = {
        "recipe": _RECIPE,
        "charset": VIETNAMESE_CHARSET,
        "styles": {k: list(v) for k, v in _STYLES.items()},
        "fonttools": fontTools.version,
    }
    text = json.dumps(recipe, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def file_name(style: Style) -> str:
    """The cache file name of ``style``: font package version and recipe hash included."""
    _, version = _package()
    return f"NotoSerif-{_STYLES[style][1]}-{version}-{_recipe_hash()}.ttf"


def serif_path(style: Style) -> Path:
    """The path of the cached static Noto Serif ``style``, building it on first use.

    Raises :class:`FontUnavailable` when the package is missing, lacks a glyph of
    :data:`VIETNAMESE_CHARSET`, or the cache directory cannot be written.
    """
    if style not in _STYLES:
        raise FontUnavailable(f"unknown font style {style!r}: one of {sorted(_STYLES)}")
    path = cache_dir() / file_name(style)
    if path.is_file():
        return path
    with _LOCK:
        if path.is_file():
            return path
        data = build(style)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".ttf", dir=path.parent)
            try:
                os.fchmod(fd, 0o644)  # a shared cache: readable by every user, like the package
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as e:
            raise FontUnavailable(f"cannot write the font cache {path.parent}: {e}") from e
    return path


def _rename(font: Any, style: Style) -> None:
    """Give the instance the names of a static font of the family (OpenType ``name``)."""
    sub = _STYLES[style][1]
    version = font["name"].getDebugName(5) or ""
    postscript = f"NotoSerif-{sub}"
    names = {
        1: FAMILY,
        2: sub,
        3: f"{version.removeprefix('Version ')};GOOG;{postscript}",
        4: f"{FAMILY} {sub}",
        6: postscript,
    }
    table = font["name"]
    table.names = [r for r in table.names if r.nameID not in (16, 17, 21, 22, 25)]
    for name_id, text in names.items():
        table.setName(text, name_id, 3, 1, 0x409)
        table.setName(text, name_id, 1, 0, 0)


def build(style: Style) -> bytes:
    """The bytes of the static, subset Noto Serif ``style`` (slow: about a second)."""
    from fontTools import subset  # type: ignore[import-untyped]
    from fontTools.ttLib import TTFont, TTLibError  # type: ignore[import-untyped]
    from fontTools.varLib import instancer  # type: ignore[import-untyped]

    directory, _ = _package()
    source, _, weight = _STYLES[style]
    try:
        variable = TTFont(directory / source, recalcTimestamp=False)
        font = instancer.instantiateVariableFont(
            variable, {"wght": weight, "wdth": 100.0}, updateFontNames=True
        )
    except (OSError, TTLibError, ValueError, KeyError) as e:
        raise FontUnavailable(f"cannot instantiate {source} at wght {weight}: {e}") from e
    _rename(font, style)
    cmap = font.getBestCmap()
    missing = sorted(c for c in VIETNAMESE_CHARSET if ord(c) not in cmap)
    if missing:
        listed = ", ".join(f"U+{ord(c):04X}" for c in missing)
        raise FontUnavailable(f"{source} has no glyph for {listed}")

    options = subset.Options()
    options.layout_features = ["*"]  # ccmp, mark, mkmk, kern, locl (VIT) … for HarfBuzz
    options.name_IDs = list(range(256))  # not the variable fonts' axis and instance names
    options.name_languages = ["*"]
    options.name_legacy = True
    options.glyph_names = True  # pyHanko and fpdf2 address glyphs by name
    options.notdef_glyph = True
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.legacy_kern = True
    options.drop_tables = [*options.drop_tables, "STAT", "DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in VIETNAMESE_CHARSET])
    subsetter.subset(font)
    out = io.BytesIO()
    # Keep the upstream head.modified so the same versions always give the same bytes.
    font.recalcTimestamp = False
    font.save(out)
    return out.getvalue()
