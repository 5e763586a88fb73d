"""The data-collection workbook a city fills in, generated from the KPI library (never a hand-made file).

The layout constants below are the single description of the workbook: `kpis.intake` reads with the same names,
so the writer and the reader cannot drift apart.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from . import rules
from .errors import UserError
from .i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    N_,
    KpiText,
    Translator,
    check_language,
    group_text,
    translator,
    unit_words,
)
from .i18n import direction as text_direction
from .library import CATALOGUE_VERSION, library
from .paths import atomic_write
from .template_text import COLUMN_HELP, INSTRUCTIONS, RANGE_TEXTS

# ---------------------------------------------------------------- layout shared with kpis.intake

TEMPLATE_VERSION = "1.0"
SUPPORTED_VERSIONS = frozenset({"1.0"})

SHEET_INSTRUCTIONS = "Instructions"
SHEET_PROFILE = "Profile"
SHEET_DATA = "Data"
SHEET_MEASURES = "Measures"
SHEET_LISTS = "Lists"
REQUIRED_SHEETS = (SHEET_INSTRUCTIONS, SHEET_PROFILE, SHEET_DATA)

VERSION_LABEL = N_("Template version")  # Instructions!A2, the version itself in B2
VERSION_CELL = "B2"
LANGUAGE_CELL = "B5"  # Instructions!B5: the language the workbook was written in
#: Each Data column carries a workbook-level defined name `ssc_col_<key>` pointing at its header cell, so a
#: workbook in any language is read by these hidden keys, never by the visible header (which is translated).
COLUMN_NAME_PREFIX = "ssc_col_"
HEADER_ROW = 1  # on Profile, Data and Measures; data start on the row below

# The six data-quality levels of the official U4SSC workbook (Verification Manual p.163), verbatim, and the
# project's own suggested data origins (any text is accepted): both with their translations in answers.yaml.
DATA_QUALITY_LEVELS = tuple(level["en"] for level in rules.ANSWERS["data_quality"])
DATA_ORIGINS = tuple(origin["en"] for origin in rules.ANSWERS["data_origin"])


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int
    editable: bool = False


DATA_COLUMNS: tuple[Column, ...] = (
    Column("code", N_("KPI code"), 17),
    Column("part", N_("Part"), 16),
    Column("name", N_("KPI name"), 30),
    Column("point_label", N_("Data point"), 22),
    Column("unit", N_("Unit"), 16),
    Column("definition", N_("Definition"), 50),
    Column("numerator_label", N_("Numerator (what to enter)"), 34),
    Column("numerator_value", N_("Numerator value"), 16, True),
    Column("numerator_unit", N_("Numerator unit"), 14),
    Column("denominator_label", N_("Denominator (what to enter)"), 30),
    Column("denominator_value", N_("Denominator value"), 16, True),
    Column("denominator_unit", N_("Denominator unit"), 14),
    Column("final_value", N_("Final value (only if no inputs)"), 18, True),
    Column("reported", N_("Reported"), 10),
    Column("data_quality", N_("Data quality"), 30, True),
    Column("data_origin", N_("Data origin"), 26, True),
    Column("source_name", N_("Source name"), 26, True),
    Column("source_link", N_("Source link"), 26, True),
    Column("comment", N_("Comment"), 30, True),
)
DATA_HEADERS = {c.key: c.header for c in DATA_COLUMNS}
# Columns a submission must have: without them a row cannot be identified or its figures cannot be read.
REQUIRED_DATA_KEYS = ("code", "part", "numerator_value", "denominator_value", "final_value")
TEXT_DATA_KEYS = ("data_quality", "data_origin", "source_name", "source_link", "comment")


@dataclass(frozen=True)
class ProfileField:
    key: str
    label: str
    kind: str  # text | int | float | year
    help: str


PROFILE_FIELDS: tuple[ProfileField, ...] = (
    ProfileField("city", N_("City"), "text", N_("Official name of the city or municipality.")),
    ProfileField("country", N_("Country"), "text", N_("Country the city belongs to.")),
    ProfileField("year", N_("Year of data"), "year", N_("Calendar year the figures refer to (e.g. 2024).")),
    ProfileField("population", N_("Population"), "int", N_("Inhabitants in that year; the same figure as in the KPI rows.")),
    ProfileField("area_km2", N_("Area (km2)"), "float", N_("Land area of the city in square kilometres.")),
    ProfileField("households", N_("Households"), "int", N_("Number of households; the same figure as in the KPI rows.")),
    ProfileField("currency", N_("Currency"), "text", N_("Currency of all money figures (ISO 4217 code, e.g. EUR).")),
    ProfileField("contact", N_("Contact"), "text", N_("Person or office to ask about the data (name and e-mail).")),
    ProfileField("region", N_("Region"), "text", N_("World region or peer group, used when comparing cities.")),
    ProfileField("language", N_("Language"), "language",
                 N_("Language of the reports: ar, zh, en, fr, ru or es (the option --lang overrides it).")),
)
PROFILE_HEADERS = (N_("Field"), N_("Value"), N_("Help"))
MEASURES_HEADERS = (N_("Dimension"), N_("Sub-dimension"), N_("Categories"),
                    N_("Measures already adopted by the city"))

INPUT_FILL = PatternFill("solid", fgColor="FCE4D6")  # orange input cells, as in the official workbook
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
WRAP = Alignment(wrap_text=True, vertical="top")
UNLOCKED = Protection(locked=False)


def data_points(lang: str = DEFAULT_LANGUAGE) -> list[dict]:
    """One dict per catalogue data point, in catalogue order, with what a Data row shows (its texts in `lang`;
    codes, part names and formulas are the same in every language)."""
    _ = translator(lang)
    rows = []
    for kpi in library():
        name = KpiText(kpi.code, "name", None, kpi.name).localise(lang)
        for part, label, unit, _direction, formula, vrange in kpi.data_points():
            num = kpi.inputs[formula.numerator]
            den = kpi.inputs[formula.denominator] if formula.denominator else None
            num_label = KpiText(kpi.code, "inputs", formula.numerator, num.label).localise(lang)
            if formula.kind == "yes_no":
                criteria = [KpiText(kpi.code, "criteria", i, c).localise(lang) for i, c in enumerate(formula.criteria)]
                num_label = _("{label}: how many of these {n} are met? {criteria}", label=num_label,
                              n=len(criteria), criteria="; ".join(criteria))
            rows.append(
                {
                    "kpi": kpi,
                    "code": kpi.code,
                    "part": part,
                    "name": name,
                    "point_label": KpiText(kpi.code, "points", part, label).localise(lang) if part else name,
                    "unit": _unit(unit, lang),
                    "definition": KpiText(kpi.code, "definition", None, kpi.definition).localise(lang),
                    "kind": formula.kind,
                    "formula": formula,
                    "numerator": formula.numerator,
                    "denominator": formula.denominator,
                    "numerator_label": num_label,
                    "numerator_unit": _unit(num.unit, lang),
                    "numerator_spec": num,
                    "denominator_label": (KpiText(kpi.code, "inputs", formula.denominator, den.label).localise(lang)
                                          if den else _("(none: the numerator is the value)")),
                    "denominator_unit": _unit(den.unit, lang) if den else "",
                    "denominator_spec": den,
                    "n_criteria": len(formula.criteria),
                    "value_range": vrange,
                }
            )
    return rows


def _unit(unit: str, lang: str) -> str:
    return unit_words(unit, lang)


def sub_dimensions() -> list[tuple[str, str, list[str]]]:
    """(dimension, sub-dimension, categories) in catalogue order: one Measures row each."""
    seen: dict[tuple[str, str], list[str]] = {}
    for kpi in library():
        cats = seen.setdefault((kpi.dimension, kpi.sub_dimension), [])
        if kpi.category not in cats:
            cats.append(kpi.category)
    return [(d, s, cats) for (d, s), cats in seen.items()]


def column_letter(key: str) -> str:
    return get_column_letter([c.key for c in DATA_COLUMNS].index(key) + 1)


# ---------------------------------------------------------------- writing


def write_template(
    out: str | Path,
    city: str | None = None,
    year: int | None = None,
    *,
    profile: Mapping[str, object] | None = None,
    values: Mapping[tuple[str, str], Mapping[str, object]] | None = None,
    measures: Mapping[str, str] | None = None,
    overwrite: bool = True,
    lang: str = DEFAULT_LANGUAGE,
) -> Path:
    """Write the workbook to `out` (atomically) and return its path.

    `profile`, `values` ({(code, part): {column key: value}}) and `measures` ({sub-dimension: text}) pre-fill it;
    the bundled demo and published cities are written this way, so they are filled templates by construction.
    `overwrite=False` (what `ssc template` does unless --force) refuses to replace an existing file: it may be a
    workbook a city has already filled in. `lang` is the language of every text a city reads (sheet names, codes
    and the hidden column keys stay the same, so intake reads a workbook of any language the same way).
    """
    lang = check_language(lang)
    out = Path(out)
    if out.is_dir():
        raise UserError(f"{out} is a folder; give the name of the workbook to write, e.g. {out / 'template.xlsx'}")
    if out.suffix.lower() != ".xlsx":
        raise UserError(f"{out.name}: the template is an .xlsx workbook; give a file name ending in .xlsx")
    if out.exists() and not overwrite:
        raise UserError(f"{out} already exists (it may hold a city's figures); choose another name, or add --force "
                        "to replace it")
    if year is not None and not 1990 <= int(year) <= 2100:
        raise UserError(f"--year {year} is not a plausible year of data (1990-2100)")
    prof = dict(profile or {})
    if city is not None:
        prof["city"] = city
    if year is not None:
        prof["year"] = int(year)
    prof.setdefault("language", lang)
    _ = translator(lang)
    wb = Workbook()
    _instructions(wb.active, _)
    _lists(wb.create_sheet(SHEET_LISTS), _)
    _profile(wb.create_sheet(SHEET_PROFILE, 1), prof, _)
    _data(wb.create_sheet(SHEET_DATA, 2), values or {}, _)
    _measures(wb.create_sheet(SHEET_MEASURES, 3), measures or {}, _)
    for ws in wb.worksheets:
        _print_setup(ws)
        ws.sheet_view.rightToLeft = text_direction(lang) == "rtl"
    _name_columns(wb)
    wb.active = 2
    wb.properties.title = _("U4SSC KPI data collection")
    wb.properties.keywords = f"ssc-kpis template {TEMPLATE_VERSION}"
    wb.properties.language = lang
    buf = io.BytesIO()
    wb.save(buf)
    try:
        atomic_write(out, buf.getvalue())
    except OSError as exc:
        raise UserError(f"{out}: cannot be written here ({exc.strerror}); choose another folder") from None
    return out


def _name_columns(wb: Workbook) -> None:
    """The hidden key of each Data column: a defined name on its header cell (kept by spreadsheet programs when
    columns move), so intake never depends on the translated header text."""
    for i, col in enumerate(DATA_COLUMNS, start=1):
        ref = f"{quote_sheetname(SHEET_DATA)}!${get_column_letter(i)}${HEADER_ROW}"
        wb.defined_names[COLUMN_NAME_PREFIX + col.key] = DefinedName(COLUMN_NAME_PREFIX + col.key, attr_text=ref,
                                                                       hidden=True)


def _print_setup(ws) -> None:
    """Officials print the form: landscape A4, the narrow sheets one page wide, the header row on every page
    (the wide Data sheet keeps its size and spreads over several pages rather than shrinking to unreadable)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    if ws.title != SHEET_DATA:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
    if ws.title != SHEET_INSTRUCTIONS:
        ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"


def _protect(ws) -> None:
    """Lock structure cells; users may still resize and format columns and use filters."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.formatCells = False
    ws.protection.autoFilter = False
    ws.protection.sort = False


def _header(ws, headers, widths) -> None:
    for i, (text, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = ws.cell(HEADER_ROW, i, text)
        cell.fill, cell.font, cell.alignment = HEADER_FILL, HEADER_FONT, WRAP
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.row_dimensions[HEADER_ROW].height = 32


def _safe_text(cell, value: object) -> None:
    """Store text as text even when it starts with '=' (openpyxl would otherwise write a formula)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def _instructions(ws, _: Translator) -> None:
    ws.title = SHEET_INSTRUCTIONS
    ws["A1"] = _("U4SSC key performance indicators (ITU-T Y.4903/L.1603): data collection")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"], ws[VERSION_CELL] = _(VERSION_LABEL), TEMPLATE_VERSION
    ws["A3"], ws["B3"] = _("KPI library version"), CATALOGUE_VERSION
    ws["A4"], ws["B4"] = _("Data points"), len(data_points())
    ws["A5"], ws[LANGUAGE_CELL] = _("Language of this workbook"), _.lang
    for i, line in enumerate(INSTRUCTIONS, start=6):
        ws.cell(i, 1, _(line)).alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=6)
        ws.row_dimensions[i].height = 18 if i == 6 else 32
    ws.cell(6, 1).font = Font(bold=True)
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 16
    for col in "CDEF":
        ws.column_dimensions[col].width = 22
    _protect(ws)


def _lists(ws, _: Translator) -> None:
    ws["A1"], ws["B1"], ws["C1"] = _("Data quality"), _("Data origin"), _("Reported")
    for i, level in enumerate(rules.ANSWERS["data_quality"], start=2):
        ws.cell(i, 1, level[_.lang])
    for i, origin in enumerate(rules.ANSWERS["data_origin"], start=2):
        ws.cell(i, 2, origin[_.lang])
    ws["C2"], ws["C3"] = answer_word("yes", _.lang).upper(), "NR"
    ws["D1"] = _("Language")
    for i, code in enumerate(LANGUAGES, start=2):
        ws.cell(i, 4, code)
    ws.sheet_state = "hidden"
    _protect(ws)


def answer_word(answer: str, lang: str) -> str:
    """How the template writes 'yes', 'no' or 'partial' in `lang` (the first word of answers.yaml)."""
    return str(rules.ANSWERS["yes_no"][answer][lang][0])


def _profile(ws, prof: Mapping[str, object], _: Translator) -> None:
    _header(ws, [_(h) for h in PROFILE_HEADERS], (18, 36, 70))
    text_len = DataValidation(type="textLength", operator="lessThanOrEqual", formula1="200", allow_blank=True)
    rules = {
        "year": DataValidation(type="whole", operator="between", formula1="1990", formula2="2100", allow_blank=True),
        "int": DataValidation(type="whole", operator="greaterThan", formula1="0", allow_blank=True),
        "float": DataValidation(type="decimal", operator="greaterThan", formula1="0", allow_blank=True),
    }
    rules["language"] = DataValidation(type="list", formula1=f'"{",".join(LANGUAGES)}"', allow_blank=True)
    rules["year"].error = _("Type the calendar year the figures refer to, between 1990 and 2100.")
    rules["int"].error = _("Type a whole number above 0, without units or spaces.")
    rules["float"].error = _("Type a number above 0, without units.")
    rules["language"].error = _("Choose one of the six languages: ar, zh, en, fr, ru, es.")
    text_len.error = _("Keep this entry under 200 characters.")
    for dv in (*rules.values(), text_len):
        dv.showErrorMessage = True
        ws.add_data_validation(dv)
    for row, field in enumerate(PROFILE_FIELDS, start=HEADER_ROW + 1):
        ws.cell(row, 1, _(field.label)).font = Font(bold=True)
        value_cell = ws.cell(row, 2)
        _safe_text(value_cell, prof.get(field.key))
        value_cell.fill, value_cell.protection = INPUT_FILL, UNLOCKED
        ws.cell(row, 3, _(field.help)).alignment = WRAP
        (rules.get(field.kind) or text_len).add(value_cell.coordinate)
    ws.freeze_panes = "A2"
    _protect(ws)


class _DataValidations:
    """The Data sheet's drop-downs and number rules, one `DataValidation` per distinct rule (a workbook with one
    rule per cell opens slowly)."""

    def __init__(self, ws: Any, _: Translator):
        self.ws, self._ = ws, _
        self.rules: dict[tuple, DataValidation] = {}
        n_quality, n_origin = len(DATA_QUALITY_LEVELS) + 1, len(DATA_ORIGINS) + 1  # OOXML formulas carry no '='
        lists = quote_sheetname(SHEET_LISTS)
        self.quality = DataValidation(type="list", formula1=f"{lists}!$A$2:$A${n_quality}", allow_blank=True)
        self.quality.showErrorMessage = True
        self.quality.error = _("Choose one of the six U4SSC data-quality levels from the list.")
        self.origin = DataValidation(type="list", formula1=f"{lists}!$B$2:$B${n_origin}", allow_blank=True)
        self.origin.showErrorMessage, self.origin.errorStyle = True, "warning"
        self.origin.error = _("Not one of the suggested origins; keep it if it describes the source better.")
        words = [answer_word(a, _.lang) for a in ("yes", "no", "partial")]
        self.answer = DataValidation(type="list", formula1=f'"{",".join(words)}"', allow_blank=True)
        self.answer.showErrorMessage, self.answer.errorStyle = True, "warning"
        self.answer.error = _("Type {yes}, {no} or {partial} (or the % of criteria met).", yes=words[0], no=words[1],
                              partial=words[2])
        for dv in (self.quality, self.origin, self.answer):
            ws.add_data_validation(dv)

    def number(self, kind: str, lo: float | None, hi: float | None, message: str) -> DataValidation:
        key = (kind, lo, hi)
        if key not in self.rules:
            if lo is not None and hi is not None:
                dv = DataValidation(type=kind, operator="between", formula1=f"{lo:g}", formula2=f"{hi:g}")
            elif lo is not None:
                dv = DataValidation(type=kind, operator="greaterThanOrEqual", formula1=f"{lo:g}")
            elif hi is not None:
                dv = DataValidation(type=kind, operator="lessThanOrEqual", formula1=f"{hi:g}")
            else:
                dv = DataValidation(type=kind, operator="between", formula1="-1E+300", formula2="1E+300")
            dv.allow_blank, dv.showErrorMessage, dv.errorTitle, dv.error = True, True, self._("Not accepted"), message
            self.ws.add_data_validation(dv)
            self.rules[key] = dv
        return self.rules[key]


def _data(ws: Any, values: Mapping[tuple[str, str], Mapping[str, object]], _: Translator) -> None:
    _header(ws, [_(c.header) for c in DATA_COLUMNS], [c.width for c in DATA_COLUMNS])
    for i, col in enumerate(DATA_COLUMNS, start=1):
        if col.editable:
            ws.cell(HEADER_ROW, i).comment = Comment(_(COLUMN_HELP[col.key]), "ssc-kpis")
    letters = {c.key: column_letter(c.key) for c in DATA_COLUMNS}
    checks = _DataValidations(ws, _)
    points = data_points(_.lang)
    for row, point in enumerate(points, start=HEADER_ROW + 1):
        _data_row(ws, row, point, values.get((point["code"], point["part"]), {}), letters, checks)
    ws.freeze_panes = f"{letters['name']}{HEADER_ROW + 1}"
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(DATA_COLUMNS))}{HEADER_ROW + len(points)}"
    _protect(ws)


def _data_row(ws: Any, row: int, point: dict, filled: Mapping[str, object], letters: dict[str, str],
              checks: _DataValidations) -> None:
    """One data point's row: its cells, the 'reported' formula and the validation of each input cell."""
    for i, col in enumerate(DATA_COLUMNS, start=1):
        cell = ws.cell(row, i)
        if col.editable:
            _safe_text(cell, filled.get(col.key))
            cell.fill, cell.protection = INPUT_FILL, UNLOCKED
        elif col.key != "reported":
            _safe_text(cell, point[col.key] or None)
        if col.key in ("definition", "numerator_label", "denominator_label", "name"):
            cell.alignment = WRAP
    h, k, m = letters["numerator_value"], letters["denominator_value"], letters["final_value"]
    inputs = f"COUNT({h}{row},{k}{row})=2" if point["denominator"] else f"COUNT({h}{row})=1"
    yes = answer_word("yes", checks._.lang).upper().replace('"', "")
    ws[f"{letters['reported']}{row}"] = f'=IF(OR({inputs},COUNT({m}{row})=1),"{yes}","NR")'
    for which in ("numerator", "denominator"):
        spec = point[f"{which}_spec"]
        if spec is None:
            continue
        if point["kind"] == "yes_no":
            dv = checks.number("whole", 0, point["n_criteria"],
                               checks._("Type how many of the {n} criteria are met (a whole number).",
                                        n=point["n_criteria"]))
        else:
            dv = checks.number("whole" if spec.integer else "decimal", spec.min, spec.max,
                               _range_text(spec.min, spec.max, spec.integer, checks._))
        dv.add(f"{letters[which + '_value']}{row}")
    if point["kind"] == "yes_no":  # the answer itself may be typed: Yes, No, Partial
        checks.answer.add(f"{m}{row}")
    else:
        lo, hi = point["value_range"]
        checks.number("decimal", lo, hi, _range_text(lo, hi, False, checks._)).add(f"{m}{row}")
    checks.quality.add(f"{letters['data_quality']}{row}")
    checks.origin.add(f"{letters['data_origin']}{row}")


def _range_text(lo: float | None, hi: float | None, integer: bool, _: Translator) -> str:
    return _(RANGE_TEXTS[(integer, lo is not None, hi is not None)], lo=f"{lo:g}" if lo is not None else "",
             hi=f"{hi:g}" if hi is not None else "")


def _measures(ws, measures: Mapping[str, str], _: Translator) -> None:
    _header(ws, [_(h) for h in MEASURES_HEADERS], (20, 34, 50, 90))
    text_len = DataValidation(type="textLength", operator="lessThanOrEqual", formula1="5000", allow_blank=True)
    text_len.showErrorMessage, text_len.error = True, _("Keep each description under 5000 characters.")
    ws.add_data_validation(text_len)
    for row, (dim, sub, cats) in enumerate(sub_dimensions(), start=HEADER_ROW + 1):
        ws.cell(row, 1, group_text(dim, _.lang))
        ws.cell(row, 2, group_text(sub, _.lang)).font = Font(bold=True)
        ws.cell(row, 3, ", ".join(group_text(c, _.lang) for c in cats)).alignment = WRAP
        cell = ws.cell(row, 4)
        _safe_text(cell, measures.get(sub))
        cell.fill, cell.protection, cell.alignment = INPUT_FILL, UNLOCKED, WRAP
        text_len.add(cell.coordinate)
        ws.row_dimensions[row].height = 60
    ws.freeze_panes = "A2"
    _protect(ws)
