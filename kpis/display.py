"""Readable, escaped HTML for JupyterLab: tables with band colours, so researchers see results without plotting."""

from __future__ import annotations

import functools
import html
import math
import re
from collections.abc import Mapping
from types import MappingProxyType

import pandas as pd

from .i18n import DEFAULT_LANGUAGE, LRI, N_, PDI, decimal_sign, direction, translator, unit_words

# The project's own palette (U4SSC does not publish its colours): colour-blind-safe, light enough for black text.
BAND_COLOURS = {
    "95+": "#1a9850",
    "66-95": "#a6d96a",
    "33-66": "#fdae61",
    "<33": "#d73027",
    "not scored": "#e0e0e0",
}
BAND_TEXT = {"95+": "#000000", "66-95": "#000000", "33-66": "#000000", "<33": "#ffffff", "not scored": "#000000"}
BAND_LABELS = {
    "95+": N_("95 % of target or more"),
    "66-95": N_("66 to 95 % of target"),
    "33-66": N_("33 to 66 % of target"),
    "<33": N_("less than 33 % of target"),
    "not scored": N_("not reported or no benchmark"),
}
#: The words of a data point's status and of a target's basis, as the report shows them (`rules.STATUSES`).
STATUS_WORDS = {
    "strength": N_("strength"), "on track": N_("on track"), "gap": N_("gap"), "not reported": N_("not reported"),
    "context": N_("context"), "no benchmark": N_("no benchmark"), "not scored": N_("not scored"),
    "standard": N_("standard"), "reference": N_("reference"), "judgement": N_("judgement"),
}


@functools.cache
def band_labels(lang: str = DEFAULT_LANGUAGE) -> Mapping[str, str]:
    """The legend's band labels in `lang` (made once per language; read-only)."""
    _ = translator(lang)
    return MappingProxyType({band: _(label) for band, label in BAND_LABELS.items()})


@functools.cache
def status_words(lang: str = DEFAULT_LANGUAGE) -> Mapping[str, str]:
    """Status and target-basis words in `lang` (a word it does not know is shown as written; made once per
    language, read-only: the report looks them up row by row)."""
    _ = translator(lang)
    return MappingProxyType({key: _(word) for key, word in STATUS_WORDS.items()})


def band_style(band: object) -> str:
    key = band if isinstance(band, str) and band in BAND_COLOURS else "not scored"
    return f"background-color:{BAND_COLOURS[key]};color:{BAND_TEXT[key]}"


def frame_html(frame: pd.DataFrame, band_column: str | None = "band", max_rows: int = 200) -> str:
    """An HTML table of a frame with every cell escaped and the band column coloured."""
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for col, val in zip(shown.columns, row, strict=True):
            text = "" if val is None or (isinstance(val, float) and pd.isna(val)) else val
            if isinstance(text, float):
                text = f"{text:.4g}"
            style = f' style="{band_style(val)}"' if col == band_column else ""
            cells.append(f"<td{style}>{html.escape(str(text))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p>… +{len(frame) - max_rows}</p>" if len(frame) > max_rows else ""
    return f'<table class="ssc-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{more}'


class CatalogueFrame(pd.DataFrame):
    """The catalogue DataFrame; in JupyterLab it shows the key columns, escaped."""

    @property
    def _constructor(self):
        return CatalogueFrame

    def _repr_html_(self) -> str:
        cols = ["code", "name", "sub_dimension", "category", "tier", "unit", "direction", "targets"]
        return frame_html(pd.DataFrame(self)[[c for c in cols if c in self.columns]], band_column=None, max_rows=100)


# ---------------------------------------------------------------- numbers and units, one way everywhere

#: Unit spellings of the catalogue (ASCII, as a workbook header can hold them) → how a reader expects them.
UNIT_SYMBOLS = (("ug/m3", "µg/m³"), ("km2", "km²"), ("m2", "m²"), ("m3", "m³"), ("eCO2", "eCO₂"), ("CO2", "CO₂"))
#: Units that say nothing a reader needs next to a number.
SILENT_UNITS = {"count": "", "count (services)": N_("services"), "ratio": ""}


@functools.lru_cache(maxsize=1024)  # a report prints a few dozen distinct units hundreds of times
def unit_text(unit: str | None) -> str:
    """A unit as printed: µg/m³, m², 'per 100 000 inhabitants'; counts without 'count'."""
    text = (unit or "").strip()
    if text in SILENT_UNITS:
        return SILENT_UNITS[text]
    for ascii_form, symbol in UNIT_SYMBOLS:
        text = re.sub(rf"(?<![A-Za-z]){re.escape(ascii_form)}(?![0-9A-Za-z])", symbol, text)
    return text


def number_text(value: object, decimal_separator: str | None = None, digits: int = 3,
                lang: str = DEFAULT_LANGUAGE) -> str:
    """A figure for a report: thousands grouped with a narrow space (ISO 80000, readable in every language),
    about `digits` significant digits without trailing zeros, the decimal sign of `lang` from Babel's locale data
    (',' in French, Russian and Spanish) unless `decimal_separator` overrides it; '–' when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    v = float(value)  # type: ignore[arg-type]
    if abs(v) >= 1000:
        text = f"{v:,.0f}".replace(",", "\u202f")
    elif abs(v) < 1:
        text = f"{v:.{digits}g}"
    else:
        text = f"{v:,.{max(0, digits - len(str(int(abs(v)))))}f}"
        if "." in text:  # 66.00 → 66, 84.50 → 84.5
            text = text.rstrip("0").rstrip(".")
    sign = decimal_separator or (decimal_sign(lang) if lang != DEFAULT_LANGUAGE else ".")
    return text.replace(".", sign) if sign != "." else text


def value_text(value: object, unit: str | None = "", decimal_separator: str | None = None, digits: int = 3,
               lang: str = DEFAULT_LANGUAGE) -> str:
    """A figure with its unit ('12.5 µg/m³', '84.5 %', '3 services'); just '–' when there is no figure."""
    number = number_text(value, decimal_separator, digits, lang)
    shown = unit_text(unit)
    if shown and lang != DEFAULT_LANGUAGE:  # the catalogue's unit words in `lang`
        key = (unit or "").strip()
        shown = translator(lang)(shown) if key in SILENT_UNITS else unit_text(unit_words(key, lang))
    if direction(lang) == "rtl" and number != "–":
        return _isolated(number, shown)
    return number if number == "–" or not shown else f"{number} {shown}"


#: A figure is a left-to-right isolate (i18n.LRI … PDI) in right-to-left text: it keeps its order ('84.5 %', never
#: '% 84.5'), in HTML, SVG and PDF alike, without markup.
_RTL_LETTER = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


def _isolated(number: str, unit: str) -> str:
    """A figure for right-to-left text: the number with a symbol unit (%, km², µg/m³) isolated left to right; a unit
    in words of the language follows the number in the reading order."""
    if not unit:
        return f"{LRI}{number}{PDI}"
    if _RTL_LETTER.search(unit):
        return f"{LRI}{number}{PDI} {unit}"
    return f"{LRI}{number} {unit}{PDI}"


def label_with_unit(label: str, unit: str | None) -> str:
    """'Households (total) (households)' never: the unit is added only where the label does not already say it."""
    shown = unit_text(unit)
    if not shown or shown.lower() in label.lower():
        return label
    return f"{label} ({shown})"
