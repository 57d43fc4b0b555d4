"""Benchmark: the IRT section of ``mhdq validate`` (``analysis.study.irt.irt_study``) on SYNTHETIC data.

All seven MHDQ leaf scales (6 items, 5 categories each) on 600 and on 20,000 simulated respondents
(``analysis.simulate.cohort.simulate_cohort``, seeded; SYNTHETIC), without DIF. Prints wall-clock
and CPU seconds and the load average: on the shared two-core machine other jobs can multiply the
wall-clock times; CPU seconds are what one idle core would take.

Run: ``.venv/bin/python benchmarks/bench_validate_irt.py``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.simulate.cohort import simulate_cohort  # noqa: E402
from analysis.study.irt import irt_study  # noqa: E402
from instrument.spec import load_instrument  # noqa: E402


def main() -> None:
    spec = load_instrument()
    data = simulate_cohort(spec, n=20000, seed=1).responses  # SYNTHETIC
    codes = data[list(spec.item_ids)].astype(float)
    irt_study(codes.iloc[:300], spec)  # warm-up (imports)
    for n in (600, 20000):
        part = codes.iloc[:n]
        wall, cpu = time.perf_counter(), time.process_time()
        study = irt_study(part, spec)
        print(
            f"n={n}: {len(study.scales)} scales, wall {time.perf_counter() - wall:.2f} s, "
            f"CPU {time.process_time() - cpu:.2f} s, load average {os.getloadavg()[0]:.1f} "
            "(SYNTHETIC data)"
        )


if __name__ == "__main__":
    main()
