"""The command line as a whole: version, help, exit codes, no tracebacks without --debug."""

import subprocess
import sys

import click
import pytest

from analysis.cli import COMMAND_MODULES, cli, main


def run(*args):
    return subprocess.run(
        [sys.executable, "-c", "from analysis.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_version():
    done = run("--version")
    assert done.returncode == 0 and done.stdout.startswith("mhdq, version ")


def test_help_lists_every_command_with_one_line():
    done = run("--help")
    assert done.returncode == 0
    listed = done.stdout.split("Commands:")[1]
    names = cli.list_commands(click.Context(cli))
    for name in names:
        line = next(
            row
            for row in listed.splitlines()
            if row.strip().startswith(name + " ") or row.strip() == name
        )
        assert not line.rstrip().endswith("..."), f"help line of {name} is cut: {line!r}"
    assert len(names) == len(COMMAND_MODULES)


def test_every_command_module_defines_its_command():
    context = click.Context(cli)
    for module in COMMAND_MODULES:
        command = cli.get_command(context, module.replace("_", "-"))
        assert isinstance(command, click.Command), module
        assert command.name == module.replace("_", "-")
    assert cli.get_command(context, "frobnicate") is None


HEAVY = (
    "pandas",
    "scipy",
    "matplotlib",
    "openpyxl",
    "pyarrow",
    "numpy",
    "statsmodels",
    "sklearn",
    "rich",
)


def test_start_up_imports_no_heavy_library():
    """`mhdq --version` and `mhdq --help` stay fast: neither the package nor any command module
    imports pandas, scipy, matplotlib or openpyxl at module level (they are imported when a
    command runs)."""
    code = (
        "import sys, click\n"
        "from analysis.cli import cli\n"
        f"first = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "ctx = click.Context(cli)\n"
        "[cli.get_command(ctx, name) for name in cli.list_commands(ctx)]\n"
        "cli.get_help(ctx)\n"
        f"after = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(first, after)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] []"


def test_commands_refuse_to_run_without_defusedxml(monkeypatch, tmp_path, capsys):
    import openpyxl.xml

    monkeypatch.setattr(openpyxl.xml, "DEFUSEDXML", False)
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--n", "20", "--seed", "1", "--out", str(tmp_path / "x.csv")])
    assert exit_.value.code == 1
    assert "defusedxml" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_unknown_command_and_option_are_usage_errors():
    done = run("frobnicate")
    assert (
        done.returncode == 2 and "No such command" in done.stderr and "Traceback" not in done.stderr
    )
    done = run("simulate", "--no-such-option")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_bad_specification_is_exit_1_without_traceback(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("metadata: {name: x}\n", encoding="utf-8")
    done = run(
        "simulate",
        "--instrument",
        str(spec),
        "--n",
        "20",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert done.returncode == 1
    assert "bad.yaml" in done.stderr and "languages: is required" in done.stderr
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("metadata: {name: x}\n", encoding="utf-8")
    done = run(
        "--debug",
        "simulate",
        "--instrument",
        str(spec),
        "--n",
        "20",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_defusedxml_is_required(monkeypatch):
    import openpyxl.xml

    from instrument.errors import MHDQError
    from instrument.io.security import assert_defusedxml

    assert_defusedxml()  # installed as a hard dependency
    monkeypatch.setattr(openpyxl.xml, "DEFUSEDXML", False)
    with pytest.raises(MHDQError, match="defusedxml"):
        assert_defusedxml()
