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


def direction(lang: str) -> str:
    """'rtl' for Arabic, 'ltr' for the others (HTML `dir`, spreadsheet sheet views)."""
    return "rtl" if lang in RIGHT_TO_LEFT else "ltr"


# ---------------------------------------------------------------- interface text (gettext catalogues)


def N_(msgid: str) -> str:
    """Mark a module-level text for extraction; it is translated where it is shown."""
    return msgid


@functools.cache
def _po(lang: str) -> Any:
    """The Babel catalogue of one language, or None (English, or no file)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANGUAGE or not path.exists():
        return None
    from babel.messages.pofile import read_po  # ~0.1 s to import: English runs (every report) never pay it

    with path.open("rb") as fh:
        return read_po(fh, locale=LOCALES[lang])


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """msgid → translation of one language (empty for English and for a missing file). A plural message is
    listed by its singular with its first form, so that completeness checks see it."""
    po = _po(lang)
    if po is None:
        return {}
    plain = {m.id: m.string for m in po
             if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string and not m.fuzzy}
    firsts = {singular: forms[0] for singular, forms in plural_forms(lang).items()}
    return {**firsts, **plain}


@functools.cache
def plural_forms(lang: str) -> dict[str, tuple[str, ...]]:
    """singular msgid → the translated forms of a plural message (all present), in the catalogue's order."""
    po = _po(lang)
    if po is None:
        return {}
    return {m.id[0]: tuple(m.string) for m in po if isinstance(m.id, tuple | list) and not m.fuzzy
            and isinstance(m.string, tuple | list) and m.string and all(m.string)}


@functools.cache
def _plural_index(lang: str) -> Any:
    """n → the index of the plural form, by Babel's plural rule of the catalogue's locale (Plural-Forms)."""
    import gettext  # start-up: only a translated plural needs it

    po = _po(lang)
    return gettext.c2py(po.plural_expr if po is not None else "(n != 1)")


@dataclass(frozen=True)
class Translator:
    """`gettext` of one language: the English text when a translation is missing (never an empty string)."""

    lang: str

    def gettext(self, msgid: str, **params: Any) -> str:
        text = catalogue(self.lang).get(msgid, msgid)
        if not params:
            return text
        return text.format(**{k: localise(v, self.lang) for k, v in params.items()})

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        """The form of a plural message for `n` (Babel's plural rule of the language); English rules without a
        translation. `n` is not a placeholder by itself: pass the count under a name (`count=n`)."""
        forms = plural_forms(self.lang).get(singular)
        if forms:
            text = forms[min(int(_plural_index(self.lang)(abs(int(n)))), len(forms) - 1)]
        else:
            text = singular if n == 1 else plural
        return text.format(**{k: localise(v, self.lang) for k, v in params.items()}) if params else text

    __call__ = gettext


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
class Percent:
    """A share in % as a message parameter, written the language's way when the message is shown."""

    value: float
    digits: int = 0

    def localise(self, lang: str) -> str:
        return percent_text(self.value, lang, self.digits)

    def __str__(self) -> str:
        return self.localise(DEFAULT_LANGUAGE)


def localise(value: object, lang: str) -> str:
    """A message parameter in `lang`: messages and catalogue labels are translated, anything else as written."""
    if hasattr(value, "localise"):
        return str(value.localise(lang))
    return str(value)


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
