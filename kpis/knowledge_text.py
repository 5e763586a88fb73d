"""The knowledge base in the report's language: the English base (`knowledge.knowledge_base`) with its texts
(action titles and texts, offices, "collect" notes) replaced by those of `kpis/locale/<lang>/recommendations.yaml`.

That file has the structure of the English one, texts only: `categories: {"<sub_dimension> / <category>": {office,
collect, actions: [{title, text}, ...]}}` and `kpis: {"<code>": {office?, actions: [...]}}`, the actions in the
order of the English entry. Bands, SDG targets, standards and sources stay those of the English base, so the
recommendations fire and rank exactly as in English. A missing file, entry, action or text keeps the English one.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from .i18n import DEFAULT_LANGUAGE, LOCALE_DIR, check_language
from .knowledge import Action, CategoryEntry, Entry, KnowledgeBase, KpiEntry, knowledge_base

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def translation_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "recommendations.yaml"


def read_translation(path: Path) -> dict[str, dict[str, Any]]:
    """A per-language recommendations file as {'categories': {...}, 'kpis': {...}} (empty where absent)."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) if path.is_file() else None
    data = data if isinstance(data, dict) else {}
    out: dict[str, dict[str, Any]] = {}
    for key in ("categories", "kpis"):
        part = data.get(key)
        out[key] = part if isinstance(part, dict) else {}
    return out


def _text(given: object, english: str) -> str:
    return " ".join(given.split()) if isinstance(given, str) and given.strip() else english


def _actions(entry: Entry, given: object) -> list[Action]:
    """The entry's actions with the translated title and text of each (by position)."""
    texts = given if isinstance(given, list) else []
    out = []
    for i, action in enumerate(entry.actions):
        t = texts[i] if i < len(texts) and isinstance(texts[i], dict) else {}
        out.append(action.model_copy(update={"title": _text(t.get("title"), action.title),
                                             "text": _text(t.get("text"), action.text)}))
    return out


def _category(entry: CategoryEntry, given: object) -> CategoryEntry:
    t = given if isinstance(given, dict) else {}
    return entry.model_copy(update={"office": _text(t.get("office"), entry.office),
                                    "collect": _text(t.get("collect"), entry.collect),
                                    "actions": _actions(entry, t.get("actions"))})


def _kpi(entry: KpiEntry, given: object) -> KpiEntry:
    t = given if isinstance(given, dict) else {}
    office = _text(t.get("office"), entry.office) if entry.office else entry.office
    return entry.model_copy(update={"office": office, "actions": _actions(entry, t.get("actions"))})


def translated(kb: KnowledgeBase, texts: dict[str, dict[str, Any]]) -> KnowledgeBase:
    """`kb` with the texts of one language (as `read_translation` gives them) put in place."""
    cats = [_category(c, texts["categories"].get(f"{c.sub_dimension} / {c.category}")) for c in kb.categories]
    kpis = [_kpi(k, texts["kpis"].get(k.code)) for k in kb.kpis]
    out = kb.model_copy(update={"categories": cats, "kpis": kpis})
    for cached in ("_by_category", "_by_code"):  # lookups the English base may have cached: rebuilt from the copy
        out.__dict__.pop(cached, None)
    return out


@functools.cache
def knowledge_base_in(lang: str = DEFAULT_LANGUAGE) -> KnowledgeBase:
    """The bundled knowledge base in `lang`, read once per language (English: the base itself)."""
    lang = check_language(lang)
    if lang == DEFAULT_LANGUAGE:
        return knowledge_base()
    return translated(knowledge_base(), read_translation(translation_path(lang)))
