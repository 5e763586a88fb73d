"""Build the bundled submissions as filled templates: `python data/build.py` (from the checkout).

- demo_city.xlsx from demo_city.yaml (invented figures: the numerators are derived from the invented KPI values
  and denominators, so the workbook holds raw inputs like a real submission);
- cities/<city>-<year>.xlsx from published_city_values.csv (values printed in U4SSC reports, entered as final
  values because the inputs are not published; 'Not reported' / 'Not verified' rows stay not reported).
"""

from __future__ import annotations

import csv
import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kpis.template import data_points, write_template  # noqa: E402

REGIONS = {"Norway": "Europe", "Russia": "Europe", "Tunisia": "Africa"}
ASCII = str.maketrans({"ø": "o", "Ø": "O", "å": "a", "Å": "A", "æ": "ae", "Æ": "AE"})


def demo_values(spec: dict) -> dict[tuple[str, str], dict]:
    """Inputs per data point from invented KPI values and shared invented denominators."""
    known: dict[str, float] = dict(spec["denominators"])
    quality = spec.get("data_quality", {})
    out: dict[tuple[str, str], dict] = {}
    for p in data_points():
        entry = spec["values"][p["code"]]
        value = float(entry[p["part"]] if p["part"] else entry)
        num_name, den_name = p["numerator"], p["denominator"]
        num_spec = p["numerator_spec"]
        cell: dict[str, object] = {}
        if p["kind"] == "ratio":
            den = known[den_name]
            if num_name not in known:
                multiplier = p["kpi"].formula.multiplier if not p["part"] else next(
                    q.formula.multiplier for q in p["kpi"].parts if q.name == p["part"])
                num = value * den / multiplier
                known[num_name] = round(num) if num_spec.integer else round(num, 3)
            cell["numerator_value"], cell["denominator_value"] = known[num_name], den
        else:  # value and yes_no (criteria met): the figure itself
            known.setdefault(num_name, value)
            cell["numerator_value"] = known[num_name]
        cell["data_quality"] = quality.get(p["code"], quality["default"])
        cell["data_origin"] = "City administration"
        cell["source_name"] = spec["source_name"]
        cell["source_link"] = spec["source_link"]
        out[(p["code"], p["part"])] = cell
    return out


def build_demo() -> Path:
    spec = yaml.safe_load((HERE / "demo_city.yaml").read_text(encoding="utf-8"))
    return write_template(HERE / "demo_city.xlsx", profile=spec["profile"], values=demo_values(spec),
                          measures=spec["measures"])


def _number(text: str) -> float | None:
    cleaned = re.sub(r"[\s\u00a0]", "", text)
    try:
        return float(cleaned)
    except ValueError:
        return None  # 'Not reported', 'Not verified', ...


def build_cities() -> list[Path]:
    rows = list(csv.DictReader(open(HERE / "published_city_values.csv", encoding="utf-8", newline="")))
    by_city: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        by_city[(row["city"], row["year"])].append(row)
    written = []
    for (city, year), items in by_city.items():
        m = re.match(r"^(.*?)\s*\((.*)\)$", city)
        name, country = (m.group(1), m.group(2)) if m else (city, "")
        values: dict[tuple[str, str], dict] = {}
        for row in items:
            value = _number(row["value"])
            cell: dict[str, object] = {
                "source_name": f"U4SSC publication on {name} ({row['year']}), as printed",
                "source_link": row["source_url"],
            }
            if value is None:
                cell["comment"] = f"Published as '{row['value']}'."
            else:
                cell["final_value"] = value
                cell["comment"] = (f"Published value ({row['value']} {row['unit']}); inputs not published."
                                   + (f" Benchmark: {row['band']}." if row["band"] else ""))
            values[(row["kpi_code"], row["part"])] = cell
        profile = {
            "city": name,
            "country": country,
            "year": int(year),
            "region": REGIONS.get(country, ""),
            "contact": "Figures copied from the published U4SSC report (year = publication year)",
        }
        slug = re.sub(r"[^a-z0-9]+", "-", name.translate(ASCII).lower()).strip("-")
        written.append(write_template(HERE / "cities" / f"{slug}-{year}.xlsx", profile=profile, values=values))
    return written


if __name__ == "__main__":
    for path in [build_demo(), *build_cities()]:
        print(f"wrote {path.relative_to(HERE.parent)}")
