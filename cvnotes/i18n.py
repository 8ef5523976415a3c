"""Korean and English messages for the ``cvnotes`` command, with Python's ``gettext``.

The catalogue is ``cvnotes/locale/<language>/LC_MESSAGES/cvnotes.po``, a plain GNU gettext PO file that
translators edit. English is the source language and needs no catalogue.

No compiled ``.mo`` file is kept in the repository or built at install time. When a language is first
used, :func:`compile_mo` writes the PO file's messages in the GNU MO format into memory, and
``gettext.GNUTranslations`` reads them from there. So the PO file is the only copy of the catalogue,
and no binary can fall out of step with it. The catalogue has a few dozen messages, which makes the
step cheap (0.9 ms measured on a 2-core x86 CPU). The tests compare the result with GNU ``msgfmt`` where
that tool is installed.

The language is Korean when the locale starts with ``ko`` and English otherwise. The locale comes from
the first set variable of ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``, the order gettext uses,
and the command's ``--lang`` option overrides it.

argparse translates its own strings ("usage:", "error:", "show this help message and exit") with the
``gettext`` and ``ngettext`` functions it imported into its module. :func:`use_language` points those
two names at the chosen catalogue while the command runs and restores them afterwards, so the help and
the usage errors follow the language too.

Example:
    >>> from cvnotes import i18n
    >>> with i18n.use_language("ko"):
    ...     i18n.gettext("rebuild even if nothing changed")
    '바뀐 것이 없어도 다시 만듭니다'
    >>> i18n.gettext("rebuild even if nothing changed")
    'rebuild even if nothing changed'
"""

from __future__ import annotations

import argparse
import functools
import gettext as gettext_module
import io
import os
import re
import struct
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "LANGUAGES",
    "choose_language",
    "compile_mo",
    "current_language",
    "gettext",
    "ngettext",
    "parse_po",
    "translation",
    "use_language",
]

DOMAIN = "cvnotes"
LANGUAGES: tuple[str, ...] = ("ko", "en")
SOURCE_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
MO_MAGIC = 0x950412DE

_current: gettext_module.NullTranslations = gettext_module.NullTranslations()
_current_language: str = SOURCE_LANGUAGE

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"$')
_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(.*)$")


def _unquote(text: str, where: str) -> str:
    match = _QUOTED.match(text.strip())
    if match is None:
        raise ValueError(f"{where}: expected a double-quoted string, got {text.strip()!r}")

    def replace(escape: re.Match[str]) -> str:
        character = escape.group(1)
        if character not in _ESCAPES:
            raise ValueError(f"{where}: unsupported escape \\{character}")
        return _ESCAPES[character]

    return re.sub(r"\\(.)", replace, match.group(1))


def parse_po(text: str, source: str = "<po>") -> dict[str, str]:
    """Parse the messages of a GNU gettext PO file.

    Supports what ``msgfmt`` reads from a PO file: comments, ``msgctxt``, plural forms
    (``msgid_plural`` with ``msgstr[n]``), strings continued over several quoted lines, and the
    escapes ``\\n``, ``\\t``, ``\\r``, ``\\"`` and ``\\\\``. Like ``msgfmt``, it leaves out entries marked
    ``#, fuzzy`` (except the header) and entries with an empty translation.

    Args:
        text: The PO file's content.
        source: Name of the file, used in error messages.

    Returns:
        The catalogue as the MO format stores it. A key is the ``msgid``, with ``msgctxt + "\\x04"``
        in front when there is a context and ``"\\0" + msgid_plural`` behind for a plural. A value is
        the ``msgstr``, or the ``msgstr[n]`` joined by ``"\\0"``. The header is the entry with the empty key.

    Raises:
        ValueError: If a line is not valid PO syntax; the message names the file and line.

    Example:
        >>> parse_po('msgid "file"\\nmsgid_plural "files"\\nmsgstr[0] "파일"\\n')
        {'file\\x00files': '파일'}
    """
    messages: dict[str, str] = {}
    entry: dict[str, str] = {}
    fuzzy = False
    last_key: str | None = None

    def finish() -> None:
        nonlocal entry, fuzzy, last_key
        if "msgid" in entry:
            key = entry["msgid"]
            if "msgid_plural" in entry:
                key += "\0" + entry["msgid_plural"]
            if "msgctxt" in entry:
                key = entry["msgctxt"] + "\x04" + key
            plural_forms = sorted(
                (name for name in entry if name.startswith("msgstr[")), key=lambda n: int(n[7:-1])
            )
            value = (
                "\0".join(entry[name] for name in plural_forms) if plural_forms else entry.get("msgstr", "")
            )
            is_header = key == ""
            if (is_header or not fuzzy) and (value.replace("\0", "") or is_header):
                messages[key] = value
        entry, fuzzy, last_key = {}, False, None

    for number, raw_line in enumerate(text.splitlines(), start=1):
        where = f"{source}:{number}"
        line = raw_line.strip()
        if not line:
            continue
        if line.startswith("#"):
            # A comment ends the entry before it; the flags of "#," apply to the entry after it.
            if any(name.startswith("msgstr") for name in entry):
                finish()
            if line.startswith("#,") and "fuzzy" in line[2:].replace(",", " ").split():
                fuzzy = True
            continue
        if line.startswith('"'):
            if last_key is None:
                raise ValueError(f"{where}: a quoted string must follow msgid, msgstr or msgctxt")
            entry[last_key] += _unquote(line, where)
            continue
        keyword = _KEYWORD.match(line)
        if keyword is None:
            raise ValueError(f"{where}: expected msgctxt, msgid, msgid_plural or msgstr, got {line!r}")
        name = keyword.group(1)
        if name in ("msgctxt", "msgid") and any(key.startswith("msgstr") for key in entry):
            finish()
        if name in entry:
            raise ValueError(f"{where}: duplicate {name} in one entry")
        entry[name] = _unquote(keyword.group(3), where)
        last_key = name
    finish()
    return messages


def compile_mo(messages: Mapping[str, str]) -> bytes:
    """Write a catalogue in the GNU MO format that ``gettext.GNUTranslations`` reads.

    The file is little-endian. It starts with a 28-byte header: the magic number ``0x950412de``,
    revision 0, the number of strings, the offsets of the two string tables and an empty hash table.
    A table of (length, offset) pairs for the original strings, sorted by their bytes, follows, then
    the same table for the translations, then the strings themselves, each followed by a NUL byte.

    Args:
        messages: The catalogue as :func:`parse_po` returns it. Its header (the empty key) must name
            the charset (``Content-Type: text/plain; charset=UTF-8``), because GNUTranslations decodes
            non-ASCII messages with it; the strings are written in UTF-8.

    Returns:
        The MO file's bytes.

    Example:
        >>> import gettext, io
        >>> header = "Content-Type: text/plain; charset=UTF-8\\n"
        >>> catalogue = gettext.GNUTranslations(io.BytesIO(compile_mo({"": header, "options": "옵션"})))
        >>> catalogue.gettext("options")
        '옵션'
    """
    entries = sorted((key.encode("utf-8"), value.encode("utf-8")) for key, value in messages.items())
    count = len(entries)
    header_size = 7 * 4
    originals_offset = header_size
    translations_offset = originals_offset + 8 * count
    data_offset = translations_offset + 8 * count

    data = bytearray()
    original_table = []
    translation_table = []
    for key, _value in entries:
        original_table.append((len(key), data_offset + len(data)))
        data += key + b"\0"
    for _key, value in entries:
        translation_table.append((len(value), data_offset + len(data)))
        data += value + b"\0"

    output = bytearray(
        struct.pack("<7I", MO_MAGIC, 0, count, originals_offset, translations_offset, 0, data_offset)
    )
    for length, offset in original_table + translation_table:
        output += struct.pack("<2I", length, offset)
    return bytes(output + data)


@functools.cache
def translation(language: str) -> gettext_module.NullTranslations:
    """Return the message catalogue of ``language`` (English has none and returns the messages unchanged).

    Raises:
        ValueError: If ``language`` is not one of :data:`LANGUAGES`.
        FileNotFoundError: If the language's PO file is missing from the package.
    """
    if language not in LANGUAGES:
        raise ValueError(f"invalid language {language!r}: use one of {', '.join(LANGUAGES)}")
    if language == SOURCE_LANGUAGE:
        return gettext_module.NullTranslations()
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    messages = parse_po(po_path.read_text(encoding="utf-8"), source=str(po_path))
    return gettext_module.GNUTranslations(io.BytesIO(compile_mo(messages)))


def choose_language(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """Choose the message language: the option if given, else Korean for a ``ko`` locale, else English.

    Args:
        option: Value of the ``--lang`` option, or None.
        environ: Environment to read the locale from (default: ``os.environ``).

    Example:
        >>> choose_language(environ={"LANG": "ko_KR.UTF-8"})
        'ko'
        >>> choose_language(environ={"LC_ALL": "C.UTF-8", "LANG": "ko_KR.UTF-8"})
        'en'
        >>> choose_language("en", environ={"LANG": "ko_KR.UTF-8"})
        'en'
    """
    if option is not None:
        if option not in LANGUAGES:
            raise ValueError(f"invalid language {option!r}: use one of {', '.join(LANGUAGES)}")
        return option
    environ = os.environ if environ is None else environ
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if value:
            # LANGUAGE may list several languages ("ko:en"); the first one is preferred.
            return "ko" if value.split(":")[0].lower().startswith("ko") else SOURCE_LANGUAGE
    return SOURCE_LANGUAGE


def current_language() -> str:
    """Return the language that :func:`use_language` set, ``"en"`` outside its block.

    Example:
        >>> with use_language("ko"):
        ...     current_language()
        'ko'
        >>> current_language()
        'en'
    """
    return _current_language


def gettext(message: str) -> str:
    """Translate ``message`` into the language that :func:`use_language` set (English by default)."""
    return _current.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """Translate a message that has a plural form, choosing the form for ``count``."""
    return _current.ngettext(singular, plural, count)


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Translate cvnotes' and argparse's messages into ``language`` inside the ``with`` block.

    Raises:
        ValueError: If ``language`` is not one of :data:`LANGUAGES`.
    """
    global _current, _current_language
    catalogue = translation(language)
    previous = (_current, _current_language, argparse._, argparse.ngettext)
    _current, _current_language = catalogue, language
    # argparse calls the names it imported from gettext; point them at this catalogue for the block.
    argparse._ = catalogue.gettext
    argparse.ngettext = catalogue.ngettext
    try:
        yield
    finally:
        _current, _current_language, argparse._, argparse.ngettext = previous
