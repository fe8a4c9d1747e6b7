"""Self-KD benchmark: train every method of a config family on the same data, for several seeds, and compare.

The command line of the package ``benchmarks/selfkd/`` (``--help`` shows it all; the modules: selfkd/__init__.py):

    python benchmarks/selfkd_benchmark.py --family bccd --mode lite        # the evidence study's screen, 3 seeds
    python benchmarks/selfkd_benchmark.py --family bccd --mode lite --merge DIR1 DIR2 --out-dir DIR3
"""

from selfkd.cli import main

if __name__ == '__main__':
    main()
