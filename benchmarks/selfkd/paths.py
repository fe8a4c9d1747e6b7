"""Where the repository and the benchmark's command line are."""

import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The command line; a worker is this script with ``--worker SPEC_JSON``.
ENTRY_POINT = osp.join(REPO, 'benchmarks', 'selfkd_benchmark.py')
