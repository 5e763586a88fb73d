"""Shared fixtures: scoring hand-worked values through the public API (`kpis.score` on a long frame)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import kpis


class Scorer:
    """Scores a few data points with `kpis.score`, against the default targets or a small target file in tmp_path."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._files = 0

    def target_file(self, entries: dict[tuple[str, str], float | None]) -> Path:
        """A YAML target file in the format of kpis/catalogue/targets/*.yaml; None = no benchmark."""
        self._files += 1
        rows = []
        for (code, part), target in entries.items():
            row = {"code": code, "part": part, "source": f"test target for {code}"}
            row.update({"target": target} if target is not None else {"no_benchmark": "none known for this test"})
            rows.append(row)
        path = self.folder / f"targets-{self._files}.yaml"
        path.write_text(yaml.safe_dump({"name": "test targets", "version": "1", "targets": rows}, sort_keys=False),
                        encoding="utf-8")
        return path

    def __call__(self, values: dict[tuple[str, str], float | None],
                 targets: dict[tuple[str, str], float | None] | None = None, **options) -> kpis.Results:
        """values: (code, part) -> value, None = not reported; targets: None = the default target set."""
        frame = pd.DataFrame(
            [{"city": "Testville", "year": 2024, "code": code, "part": part, "value": value,
              "reported": value is not None} for (code, part), value in values.items()]
        )
        return kpis.score(frame, targets=None if targets is None else self.target_file(targets), **options)

    @staticmethod
    def point(results: kpis.Results, code: str, part: str = "") -> pd.Series:
        k = results.kpis
        hit = k[(k["code"] == code) & (k["part"] == part)]
        assert len(hit) == 1, (code, part)
        return hit.iloc[0]

    @staticmethod
    def group(results: kpis.Results, level: str, name: str) -> pd.Series:
        s = results.summary
        hit = s[(s["level"] == level) & (s["group"] == name)]
        assert len(hit) == 1, (level, name)
        return hit.iloc[0]


@pytest.fixture
def scorer(tmp_path) -> Scorer:
    return Scorer(tmp_path)
