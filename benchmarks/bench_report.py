"""Benchmark: writing the three outputs of ``mhdq validate`` (report.html, tables.xlsx, results.json).

Target (issue 16): writing report.html + tables.xlsx + results.json for the 20,000 × 36 run with
``--bootstrap 0`` in at most 0.5 s. Only the writing is timed, separately from the analyses: the
analyses run once (``analysis.study.validate.validate`` on the CSV read as ``mhdq validate`` reads
it, ``n_boot=0``) and their results are pickled; each round then starts a fresh Python process that
loads the pickle (not timed) and writes the outputs twice:

- **cold**: the first writing in the process, as in ``mhdq validate`` (it pays for importing
  matplotlib and openpyxl and for loading matplotlib's font cache);
- **warm**: a second writing in the same process (the drawing and encoding alone).

Each writing is broken down into results.json (``to_dict`` + ``write_json``), tables.xlsx (the
tables, ``paper_table``, ``write_tables_xlsx``), each report section (figures are drawn inside
their section) and, within the sections, the encoding of each kind of figure; "html other" is the
rest (verdicts, the HTML text and writing the file). Wall and CPU (user + system of the process,
all threads) are printed; on a shared machine the CPU figure is the one to read.

The data are SYNTHETIC (benchmarks/generate.py: three correlated factors of twelve five-point
items, 3% missing at random).

Run: ``.venv/bin/python benchmarks/bench_report.py [--n 20000] [--rounds 5] [--profile FILE]``.
``--results FILE`` keeps the pickled analyses between invocations (made if missing);
``--profile FILE`` writes a cProfile of one warm writing (read with ``python -m pstats FILE``);
``--source DIR`` times the ``analysis`` package of another checkout (e.g. ``git archive`` of the
commit before a change), with the same pickled results.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if "--source" in sys.argv:  # a child timing another checkout (e.g. the commit before a change)
    sys.path.insert(0, sys.argv[sys.argv.index("--source") + 1])
else:
    sys.path.insert(0, str(HERE.parent))

from generate import SPEC, write_benchmark_csv  # noqa: E402


def _clock() -> tuple[float, float]:
    t = os.times()
    return time.perf_counter(), t.user + t.system


def _analyse(n: int, seed: int, results: Path) -> None:
    """Run the analyses once (as mhdq validate --bootstrap 0 does) and pickle the results."""
    from analysis.study.validate import validate
    from instrument.read import read_responses
    from instrument.spec import load_instrument

    work = Path(tempfile.mkdtemp(prefix="mhdq-bench-report-"))
    data = write_benchmark_csv(work / f"bench36_{n}.csv", n, seed=seed)
    spec = load_instrument(SPEC)
    wall, cpu = _clock()
    res = validate([read_responses(data, spec)], spec, n_boot=0)
    wall2, cpu2 = _clock()
    print(
        f"analyses (once, not part of the writing): wall {wall2 - wall:.1f} s, CPU {cpu2 - cpu:.1f} s"
    )
    results.write_bytes(pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL))


def _timed_write(res, out: Path) -> dict[str, tuple[float, float]]:
    """write_validation_outputs step by step, with a (wall, CPU) pair per part."""
    from analysis.report.html import HtmlReport, write_json, write_tables_xlsx
    from analysis.report.validation import SECTIONS, _sheet_notes, paper_table, verdicts

    parts: dict[str, list[float]] = {}

    def add(name: str, start: tuple[float, float]) -> None:
        wall, cpu = _clock()
        total = parts.setdefault(name, [0.0, 0.0])
        total[0] += wall - start[0]
        total[1] += cpu - start[1]

    class TimedReport(HtmlReport):
        def figure(self, fig, caption: str = "", alt: str = "") -> None:  # type: ignore[override]
            start = _clock()
            super().figure(fig, caption=caption, alt=alt)
            kind = (alt or caption).split(" of ")[0].split(" by ")[0].split(" for ")[0]
            add(f"  encode: {kind[:40]}", start)

        def svg_figure(self, svg: str, caption: str = "", alt: str = "") -> None:
            start = _clock()
            super().svg_figure(svg, caption=caption, alt=alt)
            add("  embed SVG figures", start)

    begin = _clock()
    out.mkdir(parents=True, exist_ok=True)
    start = _clock()
    write_json(res.to_dict(), out / "results.json")
    add("results.json", start)
    start = _clock()
    tables = res.tables()
    notes = _sheet_notes(res)
    if res.data.synthetic:
        notes = {name: "SYNTHETIC DATA. " + notes.get(name, "") for name in tables}
    write_tables_xlsx(
        {name: paper_table(t) for name, t in tables.items()}, out / "tables.xlsx", notes=notes
    )
    add("tables.xlsx", start)
    start = _clock()
    report = TimedReport("Validation report", subtitle="SYNTHETIC DATA")
    all_verdicts = verdicts(res)
    add("html other", start)
    for render in SECTIONS:
        start = _clock()
        render(report, res, all_verdicts, None)
        add(f"section {render.__name__.strip('_')}", start)
    start = _clock()
    report.write(out / "report.html")
    add("html other", start)
    add("total", begin)
    return {k: (v[0], v[1]) for k, v in parts.items()}


def _child(results: Path, profile: str | None) -> None:
    """One round in a fresh process: a cold and a warm writing; prints the parts as JSON."""
    res = pickle.loads(results.read_bytes())
    out = Path(tempfile.mkdtemp(prefix="mhdq-bench-report-out-"))
    cold = _timed_write(res, out / "cold")
    warm = _timed_write(res, out / "warm")
    if profile:
        import cProfile

        from analysis.report.validation import write_validation_outputs

        cProfile.runctx(
            "write_validation_outputs(res, out / 'profiled')",
            globals(),
            {"write_validation_outputs": write_validation_outputs, "res": res, "out": out},
            profile,
        )
    sizes = {p.name: p.stat().st_size for p in (out / "warm").iterdir()}
    print(json.dumps({"cold": cold, "warm": warm, "sizes": sizes, "out": str(out / "warm")}))


def _table(rounds: list[dict], which: str) -> None:
    names = list(rounds[0][which])
    print(f"\n{which} writing (medians of {len(rounds)} fresh processes): part, wall s, CPU s")
    for name in names:
        wall = statistics.median(r[which][name][0] for r in rounds)
        cpu = statistics.median(r[which][name][1] for r in rounds)
        print(f"  {name:<46} {wall:7.3f} {cpu:7.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument("--profile", default=None)
    parser.add_argument(
        "--source", default=None, help="time the analysis package of another checkout (a folder)"
    )
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        _child(args.child, args.profile)
        return 0
    results = args.results or Path(tempfile.mkdtemp(prefix="mhdq-bench-report-")) / "res.pickle"
    if not results.exists():
        _analyse(args.n, args.seed, results)
    print(
        f"Writing report.html + tables.xlsx + results.json of mhdq validate --bootstrap 0, "
        f"{args.n:,} SYNTHETIC respondents x 36 items; {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the start"
    )
    rounds = []
    for k in range(args.rounds):
        cmd = [sys.executable, __file__, "--child", str(results)]
        if args.profile and k == 0:
            cmd += ["--profile", args.profile]
        if args.source:
            cmd += ["--source", args.source]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"round {k} failed: {done.stderr[-3000:]}")
        rounds.append(json.loads(done.stdout.strip().splitlines()[-1]))
        r = rounds[-1]
        print(
            f"round {k + 1}: cold wall {r['cold']['total'][0]:.2f} s CPU {r['cold']['total'][1]:.2f} s;"
            f" warm wall {r['warm']['total'][0]:.2f} s CPU {r['warm']['total'][1]:.2f} s"
        )
    _table(rounds, "cold")
    _table(rounds, "warm")
    print(
        "\nfile sizes (bytes): " + ", ".join(f"{k} {v:,}" for k, v in rounds[-1]["sizes"].items())
    )
    print(f"outputs of the last round: {rounds[-1]['out']}")
    cold = statistics.median(r["cold"]["total"][1] for r in rounds)
    verdict = "meets" if cold <= 0.5 else "misses"
    print(
        f"target 0.5 s (cold writing, CPU median {cold:.2f} s): {verdict}; load average now "
        f"{os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
