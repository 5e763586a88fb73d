"""The six UN languages: which exist, how a text is translated, which way it reads and how numbers are written.

Interface text (template instructions, headers, help, validation messages) is English in the code, marked with
`_`, `N_` or `M` so that Babel extracts it, and translated from the gettext catalogues
`kpis/locale/<lang>/LC_MESSAGES/messages.po`, read at run time with Babel (no compile step, so a plain
`pip install .` works). Library data (KPI names, data-point and input labels, criteria, groups) is translated in
per-language YAML files keyed by code (`kpis/locale/<lang>/kpis.yaml`, the Open SDG style), because it is data
about a code, not a sentence of the program. docs/translations.md says why and how to add a text.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from babel import Locale
from babel.numbers import format_decimal, parse_pattern

from .errors import UserError

LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")
DEFAULT_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar"})
LANGUAGE_NAMES = {"ar": "العربية", "zh": "中文", "en": "English", "fr": "Français", "ru": "Русский", "es": "Español"}
#: The Babel locale of each language (Chinese: simplified script, as in the UN's Chinese documents).
LOCALES = {"ar": "ar", "zh": "zh_Hans_CN", "en": "en", "fr": "fr", "ru": "ru", "es": "es"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster


def check_language(lang: str | None) -> str:
    """A supported language code (lower-cased), or a UserError that lists the six."""
    code = (lang or DEFAULT_LANGUAGE).strip().lower()
    if code not in LANGUAGES:
        raise UserError(f"language {str(lang)[:20]!r} is not supported; choose one of {', '.join(LANGUAGES)}")
    return code


def report_language(submission: object, lang: str | None = None) -> str:
    """A report's language: `lang` when given, else the one the submission's Profile names, else English."""
    named = getattr(getattr(submission, "profile", None), "language", None)
    return check_language(lang or named or DEFAULT_LANGUAGE)


def direction(lang: str) -> str:
    """'rtl' for Arabic, 'ltr' for the others (HTML `dir`, spreadsheet sheet views)."""
    return "rtl" if lang in RIGHT_TO_LEFT else "ltr"


# ---------------------------------------------------------------- interface text (gettext catalogues)


def N_(msgid: str) -> str:
    """Mark a module-level text for extraction; it is translated where it is shown."""
    return msgid


@dataclass(frozen=True)
class _Catalogue:
    """One language's .po file: singular msgid → translation, and plural msgids with their forms and rule."""

    texts: dict[str, str]
    plurals: dict[str, tuple[str, ...]]
    plural_rule: Callable[[int], int]


def _english_plural(n: int) -> int:
    return 0 if n == 1 else 1


@functools.cache
def _read_catalogue(lang: str) -> _Catalogue:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANGUAGE or not path.exists():
        return _Catalogue({}, {}, _english_plural)
    from babel.messages.pofile import read_po  # ~0.1 s to import: English runs (every report) never pay it

    with path.open("rb") as fh:
        po = read_po(fh, locale=LOCALES[lang])
    texts: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for m in po:
        if m.fuzzy or not m.id:
            continue
        if isinstance(m.id, str) and isinstance(m.string, str) and m.string:
            texts[m.id] = m.string
        elif isinstance(m.id, tuple | list) and isinstance(m.string, tuple | list) and all(m.string):
            plurals[m.id[0]] = tuple(m.string)
            texts[m.id[0]] = m.string[0]
    return _Catalogue(texts, plurals, gettext.c2py(po.plural_expr))  # the .po file's own Plural-Forms rule


def catalogue(lang: str) -> dict[str, str]:
    """msgid → translation of one language (empty for English and for a missing file); a plural message is listed
    under its singular msgid with its first form."""
    return _read_catalogue(lang).texts


#: Unicode bidi isolates: left-to-right, first strong, and their end (figures, codes and names kept in their own
#: order inside right-to-left text).
LRI, FSI, PDI = "\u2066", "\u2068", "\u2069"


@dataclass(frozen=True)
class Translator:
    """`gettext` of one language: the English text when a translation is missing (never an empty string).

    `isolate` wraps each parameter in Unicode bidi isolates (FSI … PDI) so that a Latin city name, a code or a
    figure inside an Arabic sentence keeps its own order and its brackets (pages only: see `for_page`)."""

    lang: str
    isolate: bool = False

    def for_page(self) -> Translator:
        """The translator of an HTML page: parameters isolated in a right-to-left language."""
        return Translator(self.lang, self.lang in RIGHT_TO_LEFT)

    def _values(self, params: dict[str, Any]) -> dict[str, str]:
        values = {k: localise(v, self.lang) for k, v in params.items()}
        return {k: f"{FSI}{v}{PDI}" for k, v in values.items()} if self.isolate else values

    def gettext(self, msgid: str, **params: Any) -> str:
        text = catalogue(self.lang).get(msgid, msgid)
        if not params:
            return text
        return text.format(**self._values(params))

    __call__ = gettext

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        """A sentence with a count, in the plural form the language's rule picks for `n` (Russian and Arabic have
        several); `n` is also a named parameter ({n}), written the language's way."""
        cat = _read_catalogue(self.lang)
        forms = cat.plurals.get(singular)
        if forms:
            index = cat.plural_rule(int(n))
            text = forms[index] if 0 <= index < len(forms) else forms[-1]
        else:
            text = singular if n == 1 else plural
        return text.format(**self._values({"n": n, **params}))


def translator(lang: str | None = None) -> Translator:
    return Translator(check_language(lang))


class Localisable(Protocol):
    def localise(self, lang: str) -> str: ...


@dataclass(frozen=True)
class Message:
    """A sentence kept as its English msgid and named parameters, so it can be shown in any language later
    (a problem is found once and shown in the terminal, the HTML report and the annotated workbook)."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def localise(self, lang: str) -> str:
        return Translator(lang).gettext(self.msgid, **self.params)

    def __str__(self) -> str:
        return self.localise(DEFAULT_LANGUAGE)


def M(msgid: str, **params: Any) -> Message:
    """A translatable message with its parameters (extracted by Babel like `_`)."""
    return Message(msgid, params)


class Text(str):
    """An English sentence that keeps its msgid(s) and parameters: a plain `str` wherever it goes (a table cell,
    a CSV export, a test's comparison) and shown in another language with `.localise(lang)`."""

    msgid: str
    plural: str | None
    n: int
    params: dict[str, Any]

    def __new__(cls, msgid: str, plural: str | None = None, n: int = 1, **params: Any) -> Text:
        english = Translator(DEFAULT_LANGUAGE)
        said = english.ngettext(msgid, plural, n, **params) if plural else english.gettext(msgid, **params)
        obj = super().__new__(cls, said)
        obj.msgid, obj.plural, obj.n, obj.params = msgid, plural, n, params
        return obj

    def localise(self, lang: str) -> str:
        tr = Translator(lang)
        return tr.ngettext(self.msgid, self.plural, self.n, **self.params) if self.plural \
            else tr.gettext(self.msgid, **self.params)


def T(msgid: str, **params: Any) -> Text:
    """A sentence made now in English and shown later in any language (extracted by Babel like `_`)."""
    return Text(msgid, **params)


def TN(singular: str, plural: str, n: int, **params: Any) -> Text:
    """The plural form of `T` (extracted like `ngettext`)."""
    return Text(singular, plural, n, **params)


class Word(str):
    """A value of a fixed vocabulary (a band, a status, a size class; marked with `N_` where it is defined) that is
    a plain `str` in data and translated when shown; a value not in the catalogue shows as written."""

    def localise(self, lang: str) -> str:
        return Translator(lang).gettext(str(self))


@dataclass(frozen=True)
class Num:
    """A number inside a message, written the way the message's language writes it ('10,000', '10 000', '1,5')."""

    value: float
    digits: int = 0

    def localise(self, lang: str) -> str:
        return decimal_text(self.value, lang, "#,##0" + ("." + "#" * self.digits if self.digits else ""))

    def __str__(self) -> str:
        return self.localise(DEFAULT_LANGUAGE)


@dataclass(frozen=True)
class Percent(Num):
    """A share in % as a message parameter, written the language's way when the message is shown."""

    def localise(self, lang: str) -> str:
        return percent_text(self.value, lang, self.digits)


def localise(value: object, lang: str) -> str:
    """A message parameter in `lang`: messages and catalogue labels are translated, anything else as written."""
    if hasattr(value, "localise"):
        return str(value.localise(lang))
    return str(value)


# ---------------------------------------------------------------- the report notebook's own text

_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")


def markdown_texts(source: str) -> list[tuple[str, str]]:
    """A markdown cell cut into (prefix, text) blocks: a heading's text after its '## ', each paragraph whole;
    HTML comments are not text (prefix '' and text kept as written, marked by a leading '<!--')."""
    out = []
    for block in re.split(r"\n\s*\n", source.strip()):
        block = block.strip()
        heading = _HEADING.match(block)
        if heading:
            out.append((heading.group(1) + " ", heading.group(2)))
        elif block:
            out.append(("", block))
    return out


def translate_markdown(source: str, lang: str) -> str:
    """A markdown cell of the report notebook in `lang`: each heading and paragraph is a msgid."""
    if lang == DEFAULT_LANGUAGE:
        return source
    _ = Translator(lang)
    return "\n\n".join(prefix + (text if text.startswith("<!--") else _(text))
                         for prefix, text in markdown_texts(source))


def extract_notebook(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Any:
    """Babel extractor of the notebooks' markdown headings and paragraphs (babel.cfg: `[ipynb: notebooks/**]`)."""
    import json

    for cell in json.loads(fileobj.read().decode("utf-8")).get("cells", []):
        source = cell.get("source", "")
        if cell.get("cell_type") == "markdown":
            for _prefix, text in markdown_texts("".join(source) if isinstance(source, list) else source):
                if not text.startswith("<!--"):
                    yield 0, "_", text, []


# ---------------------------------------------------------------- library data (per-language YAML by code)


@functools.cache
def library_text(lang: str) -> dict[str, Any]:
    """The KPI library in one language: 'kpis' ({code: {name, points, criteria}}), then 'inputs', 'groups' and
    'units' keyed by their English text."""
    path = LOCALE_DIR / lang / "kpis.yaml"
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {} if path.exists() else {}
    return {key: data.get(key) or {} for key in ("kpis", "inputs", "groups", "units")}


@dataclass(frozen=True)
class KpiText:
    """One text of a KPI (its name, a data point's label, an input's label or a criterion), English by default.

    `what` is 'name', 'points', 'inputs' or 'criteria'; `key` the part, input name or criterion index."""

    code: str
    what: str
    key: str | int | None
    english: str

    def localise(self, lang: str) -> str:
        if lang == DEFAULT_LANGUAGE:
            return self.english
        texts = library_text(lang)
        entry = texts["kpis"].get(self.code) or {}
        found = entry.get(self.what)
        if self.what == "inputs" and not (isinstance(found, dict) and self.key in found):
            found = texts["inputs"].get(self.english)  # a label shared by several KPIs is translated once
        if self.key is not None and isinstance(found, dict | list):
            try:
                found = found[self.key]  # type: ignore[index]
            except (KeyError, IndexError):
                found = None
        return found if isinstance(found, str) and found else self.english

    def __str__(self) -> str:
        return self.english


def group_text(name: str, lang: str) -> str:
    """A dimension, sub-dimension or category name in `lang` (as written when untranslated)."""
    return str(library_text(lang)["groups"].get(name) or name)


def unit_words(unit: str, lang: str) -> str:
    """A catalogue unit ('households', '% of households') in `lang`; symbols and unknown units stay as written."""
    return str(library_text(lang)["units"].get(unit) or unit)


# ---------------------------------------------------------------- numbers and dates the language's way


def babel_locale(lang: str) -> Locale:
    return Locale.parse(LOCALES[check_language(lang)])


def decimal_text(value: float, lang: str, pattern: str | None = None) -> str:
    """A number with the language's decimal sign and grouping (Babel; `pattern` as in Unicode LDML)."""
    return format_decimal(value, format=pattern, locale=LOCALES[lang])


def percent_text(value: float, lang: str, digits: int = 0) -> str:
    """A share in % (`value` already in %, e.g. 84.5) written as the language writes percentages (its own
    pattern and spacing: '84.5%', '84,5 %'), with up to `digits` decimals."""
    locale = babel_locale(lang)
    pattern = parse_pattern(locale.percent_formats[None].pattern)
    pattern.frac_prec = (0, digits)
    return str(pattern.apply(value / 100, locale))


def date_text(day: dt.date, lang: str) -> str:
    from babel.dates import format_date  # start-up: babel.dates loads time-zone data; only dates pay it

    return format_date(day, format="long", locale=LOCALES[lang])


@functools.cache  # Babel parses the locale on each call: a report asks once per figure
def decimal_sign(lang: str) -> str:
    """The decimal separator of a language ('.' in English and Chinese, ',' in French, Russian and Spanish)."""
    return str(babel_locale(lang).number_symbols.get("latn", {}).get("decimal", "."))
