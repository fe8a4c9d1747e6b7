"""A benchmark's report, as written to results.json: its family, mode, settings, data and per-run numbers."""

from dataclasses import asdict
from typing import Any, Dict, List, Sequence

from .data import PreparedData
from .families import FAMILIES
from .modes import ModeSettings


def make_report(
    family_name: str, mode: str, settings: ModeSettings, data: PreparedData, runs: Sequence[dict]
) -> Dict[str, Any]:
    """The report of ``runs`` (one ``result.json`` dict each, with its ``work_dir``); ``settings`` gives the
    methods and seeds, in table order."""
    return dict(
        family=family_name,
        description=FAMILIES[family_name].description,
        mode=mode,
        settings=asdict(settings),
        data=asdict(data),
        methods=list(settings.methods),
        seeds=list(settings.seeds),
        runs=list(runs),
    )


def runs_by_method(report: Dict[str, Any]) -> Dict[str, List[dict]]:
    """The report's runs grouped by method, in the report's method order."""
    return {method: [run for run in report['runs'] if run['method'] == method] for method in report['methods']}
