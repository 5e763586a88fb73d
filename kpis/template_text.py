"""The workbook's fixed texts in English, marked for translation (`kpis/locale/*/LC_MESSAGES/messages.po`):
the instructions, the help of each input column and the rule each number cell explains. Kept apart from
`kpis.template` so that the writer stays short."""

from __future__ import annotations

from .i18n import N_

INSTRUCTIONS = (
    N_("How to fill in this workbook"),
    N_("1. Profile: fill in the orange cells (city, year of data, population, households, area, currency, "
       "contact, language)."),
    N_("2. Data: one row per KPI data point. Enter the numerator and the denominator in the units shown; the KPI "
       "value is computed from them. Only if you have nothing but the published KPI value, type it under "
       "'Final value' and leave the inputs empty."),
    N_("3. Leave a row empty when the KPI is not reported ('NR'). Do not type 'NR' or text into number cells."),
    N_("4. For every reported row choose the data quality from the list and name the source (and a link if "
       "public)."),
    N_("5. Measures: describe per sub-dimension what the city already does; the recommendation report quotes it."),
    N_("6. Do not rename sheets, headers or KPI codes, and do not add macros or passwords: the file is then "
       "refused. The sheet names stay in English in every language."),
    N_("7. Check the file with `ssc validate FILE.xlsx`; it lists every problem with its cell and how to fix it."),
)

COLUMN_HELP = {
    "numerator_value": N_("The numerator in the unit shown to its right (for single-value KPIs: the value itself)."),
    "denominator_value": N_("The denominator in the unit shown to its right."),
    "final_value": N_("Only when you have the KPI value but not its inputs. With inputs present this cell is ignored "
                      "(a different figure is reported as a warning)."),
    "data_quality": N_("How the figure was obtained: one of the six U4SSC levels."),
    "data_origin": N_("Who produced the figure."),
    "source_name": N_("Name of the publication, register or department."),
    "source_link": N_("A web link to the source, if public."),
    "comment": N_("Anything a reviewer should know (definitions used, year if different, ...)."),
}

#: (integer, has a minimum, has a maximum) → the rule a Data cell's validation explains.
RANGE_TEXTS = {
    (True, True, True): N_("Type a whole number from {lo} to {hi}, without units or text."),
    (False, True, True): N_("Type a number from {lo} to {hi}, without units or text."),
    (True, True, False): N_("Type a whole number of at least {lo}, without units or text."),
    (False, True, False): N_("Type a number of at least {lo}, without units or text."),
    (True, False, True): N_("Type a whole number of at most {hi}, without units or text."),
    (False, False, True): N_("Type a number of at most {hi}, without units or text."),
    (True, False, False): N_("Type a whole number, without units or text."),
    (False, False, False): N_("Type a number, without units or text."),
}
