"""What a benchmark writes into its directory: results.json, table.md and reliability.png."""

import json
import os.path as osp
from typing import Any, Dict

from .reliability import plot_reliability_panels
from .tables import render_table


def write_outputs(report: Dict[str, Any], out_dir: str) -> str:
    """Write ``results.json``, ``table.md`` and ``reliability.png`` into ``out_dir``; return the table."""
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(report, f, indent=2)
    table = render_table(report)
    with open(osp.join(out_dir, 'table.md'), 'w') as f:
        f.write(table)
    plot_reliability_panels(report, out_dir, osp.join(out_dir, 'reliability.png'))
    return table
