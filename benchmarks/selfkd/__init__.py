"""The self-KD benchmark, one concern per module; its command line is ``benchmarks/selfkd_benchmark.py``.

Modules, in the order a benchmark uses them:

    paths        where the repository and the command line are
    modes        run sizes (ModeSettings) of every family and mode, the evidence study's arms
    data         each family's data, prepared under the benchmark's directory (PreparedData)
    families     model and dataset families: configs per method, data preparation, modes
    run_config   the config of one (method, seed) run
    worker       one run in its own process: train, test, write result.json
    posthoc      LaECE_0 and post-hoc calibrated D-ECE / LaECE_0 from a run's held-out detections
    report       the report of a benchmark's runs, as results.json holds it
    benchmark    every (seed, method) run of a benchmark, into one report
    merge        the finished runs of earlier benchmark directories: one report of them (--merge), or the
                 runs a benchmark takes from them (--reuse)
    step_times   step-time references: each run against the same seed's baseline
    statistics   mean ± sample std, paired differences and their Student-t confidence intervals
    markdown     Markdown tables
    tables       table.md: the caption, the per-method table, the post-hoc note
    paired       table.md's paired differences to the baseline, with 95 % intervals
    per_seed     table.md's per-seed table
    reliability  reliability.png: one reliability diagram per method, pooled over seeds
    outputs      results.json, table.md and reliability.png of a report
    cli          the command line

It lives beside the repository's other benchmarks, not in the library (``mmdet_selfkd``), because it is this
repository's experiment harness: its families name the repository's configs by their path in the checkout and
the datasets by where the checkout keeps them, its workers re-run ``benchmarks/selfkd_benchmark.py``, and it
writes to ``<repo>/work_dirs``; none of that exists in an installed wheel. What a library user needs from it is
in the library: the dataset converters (``mmdet_selfkd.datasets.converters``), the shapes method table
(``mmdet_selfkd.configs.METHOD_CONFIGS``), the metric's dumps (``DetectionCalibrationMetric(pairs_file=...,
dets_file=...)``) and post-hoc calibration (``mmdet_selfkd.calibration``).
"""
