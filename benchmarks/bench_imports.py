"""Benchmark (issue 16): start-up of ``mhdq`` and the import cost inside ``mhdq validate``. Not a test.

Three measurements, each in fresh processes:

(a) ``mhdq --help`` and ``mhdq validate --help``: CPU (user + system of the child) and wall time,
    medians of ``--repeat`` runs (target: ``validate --help`` <= 0.2 s). With ``Rscript`` on the
    PATH, R's start-up beside them, in the same rounds: ``Rscript -e 0`` and loading the packages
    of benchmarks/validate_equivalent.R (data.table, psych, GPArotation, lavaan, semTools,
    jsonlite), the R counterpart of the import cost.
(b) One real ``mhdq validate`` run (``--bootstrap 0``) under ``python -X importtime``: every module
    it imports, with the chain of imports that first brought in each heavy library (scipy.stats,
    scikit-learn, statsmodels, matplotlib, openpyxl, pyarrow, ...), and the top-level imports by
    cumulative time. These are wall times of the run, so they include the machine's load.
(c) The import cost inside validate in CPU time: a fresh process imports, in the same order, the
    top-level modules that run imported and reports ``time.process_time()`` around it (median of
    ``--repeat``; target <= 0.4 s). A fresh ``python -c pass`` is the floor it is measured above.

Bytecode: this script compiles ``analysis/`` and ``instrument/`` to ``__pycache__`` first and runs
its children without ``PYTHONDONTWRITEBYTECODE``, as an installed package runs (pip writes the
.pyc files); with that variable set, every run compiles our ~100 modules again (~1 s CPU).

Data: SYNTHETIC, ``benchmarks/generate.py``'s bench36 design (``--n`` respondents x 36 items,
default 2,000: enough for every step of validate, IRT included, which decides what is imported)
or ``--data FILE --instrument SPEC`` (e.g. ``mhdq simulate`` output on the embedded MHDQ).

Usage::

    .venv/bin/python benchmarks/bench_imports.py [--repeat 5] [--n 2000] [--top 25]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "bench36.yaml"
sys.path.insert(0, str(HERE))

#: Modules whose first import is traced back to the line that caused it.
HEAVY = (
    "scipy.stats",
    "sklearn",
    "statsmodels",
    "factor_analyzer",
    "pingouin",
    "matplotlib",
    "matplotlib.pyplot",
    "openpyxl",
    "pyarrow",
    "PIL",
    "pandas",
    "numpy",
    "scipy.optimize",
    "scipy.linalg",
    "scipy.special",
)

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


@dataclass
class Node:
    """One module's line of ``-X importtime`` (microseconds, wall)."""

    name: str
    self_us: int
    cumulative_us: int
    children: list[Node] = field(default_factory=list)


def parse_importtime(text: str) -> list[Node]:
    """The import tree of ``-X importtime`` output: its top-level imports in order.

    The output is post-order (a module's line follows those of the imports it caused), each level
    indented by two spaces.
    """
    pending: dict[int, list[Node]] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        self_us, cum_us, indent, name = match.groups()
        level = len(indent) // 2
        node = Node(name, int(self_us), int(cum_us), pending.pop(level + 1, []))
        pending.setdefault(level, []).append(node)
    return pending.get(0, [])


def first_import_chains(roots: list[Node], wanted: tuple[str, ...]) -> dict[str, list[Node]]:
    """For each wanted module, the chain of imports (top level first) of its first import."""
    found: dict[str, list[Node]] = {}

    def walk(node: Node, chain: list[Node]) -> None:
        chain = [*chain, node]
        if node.name in wanted and node.name not in found:
            found[node.name] = chain
        for child in node.children:
            walk(child, chain)

    for root in roots:
        walk(root, [])
    return found


#: The children's environment: bytecode cached, as in an installed package.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def child_times(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """CPU seconds (user + system of the child), wall seconds and the finished process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return cpu, wall, done


def mhdq_command() -> list[str]:
    """The installed ``mhdq`` console script beside this Python, else the entry point via -c."""
    script = Path(sys.executable).with_name("mhdq")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from analysis.cli import main; main()"]


#: What benchmarks/validate_equivalent.R loads before it computes anything.
R_LIBRARIES = (
    "suppressPackageStartupMessages({library(data.table); library(psych); library(GPArotation); "
    "library(lavaan); library(semTools); library(jsonlite)})"
)

PROBE = r"""
import importlib, sys, time
names = sys.argv[1:]
cpu, wall = time.process_time(), time.perf_counter()
each = []
for name in names:
    start = time.process_time()
    try:
        importlib.import_module(name)
    except Exception:  # a module the run imported only conditionally; skipped here too
        pass
    each.append(time.process_time() - start)
print(time.process_time() - cpu, time.perf_counter() - wall, *each)
"""


def median_pair(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--n", type=int, default=2_000, help="synthetic respondents (bench36)")
    parser.add_argument("--data", type=Path, default=None, help="a responses file instead")
    parser.add_argument("--instrument", default=None, help="its specification (with --data)")
    parser.add_argument("--top", type=int, default=25, help="top-level imports listed")
    parser.add_argument(
        "--importtime",
        type=Path,
        default=None,
        help="reuse the -X importtime output of an earlier run (saved with --save-importtime) "
        "instead of running validate",
    )
    parser.add_argument("--save-importtime", type=Path, default=None)
    args = parser.parse_args(argv)
    mhdq = mhdq_command()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(f"date {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")

    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            str(ROOT / "analysis"),
            str(ROOT / "instrument"),
        ],
        check=True,
        env=ENV,
    )

    # (a) start-up
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "mhdq --help": [*mhdq, "--help"],
        "mhdq validate --help": [*mhdq, "validate", "--help"],
    }
    rscript = shutil.which("Rscript")
    if rscript is not None:
        commands["Rscript -e 0"] = [rscript, "-e", "0"]
        commands["R: validate_equivalent.R's library() calls"] = [rscript, "-e", R_LIBRARIES]
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for _ in range(args.repeat):  # rounds alternate the commands
        for label, command in commands.items():
            runs[label].append(child_times(command)[:2])
    print(f"\n(a) fresh processes, medians of {args.repeat}: CPU s (wall s)")
    for label, times in runs.items():
        cpu, wall = median_pair(times)
        print(f"  {label:<44} {cpu:.3f} ({wall:.3f})")

    # (b) one validate run under -X importtime
    tmp = Path(tempfile.mkdtemp(prefix="bench_imports_"))
    try:
        if args.importtime is not None:
            data, spec = Path("-"), None
        elif args.data is None:
            from generate import write_benchmark_csv

            data = write_benchmark_csv(tmp / "bench36.csv", args.n)
            spec = str(SPEC)
        else:
            data, spec = args.data, args.instrument
        cmd = [sys.executable, "-X", "importtime", "-c", "from analysis.cli import main; main()"]
        cmd += ["validate", str(data), "--out", str(tmp / "out"), "--bootstrap", "0", "-q"]
        if spec is not None:
            cmd += ["--instrument", spec]
        if args.importtime is None:
            cpu, wall, done = child_times(cmd)
            importtime = done.stderr
            print(
                f"\n(b) mhdq validate {data.name} --bootstrap 0: {cpu:.2f} s CPU ({wall:.2f} s wall)"
            )
        else:
            importtime = args.importtime.read_text()
            print(f"\n(b) the validate run of {args.importtime}")
        if args.save_importtime is not None:
            args.save_importtime.write_text(importtime)
        roots = parse_importtime(importtime)
        total = sum(r.cumulative_us for r in roots) / 1e6
        print(f"  {sum(1 for _ in roots)} top-level imports, {total:.2f} s wall in imports")
        print("  first import of each heavy library (wall ms, cumulative) and what imported it:")
        for name, chain in first_import_chains(roots, HEAVY).items():
            path = " -> ".join(n.name for n in chain)
            print(f"    {name:<18} {chain[-1].cumulative_us / 1e3:8.1f}  {path}")
        print(f"  top-level imports by cumulative wall time (top {args.top}):")
        for root in sorted(roots, key=lambda r: -r.cumulative_us)[: args.top]:
            print(f"    {root.cumulative_us / 1e3:8.1f} ms  {root.name}")

        # (c) the same imports, in order, in a fresh process: CPU time
        names = [r.name for r in roots if not r.name.startswith(("encodings", "_"))]
        probe: list[tuple[float, float]] = []
        per_module: list[list[float]] = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, "-c", PROBE, *names],
                capture_output=True,
                text=True,
                check=True,
                env=ENV,
            )
            c, w, *each = (float(x) for x in out.stdout.split())
            probe.append((c, w))
            per_module.append(each)
        cpu, wall = median_pair(probe)
        print(
            f"\n(c) import cost inside validate (fresh process importing the run's "
            f"{len(names)} top-level modules in order), median of {args.repeat}: "
            f"{cpu:.3f} s CPU ({wall:.3f} s wall)"
        )
        print("  CPU ms of each top-level import in that order (median; what it adds):")
        for i, name in sorted(
            enumerate(names), key=lambda x: -statistics.median(r[x[0]] for r in per_module)
        )[: args.top]:
            ms = statistics.median(r[i] for r in per_module) * 1e3
            if ms >= 1:
                print(f"    {ms:8.1f} ms  {name}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
