"""CLI habits: global options before or after the command, --version, examples in every command's
--help, and every usage error on one line with exit code 2 (no traceback, no usage dump)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import EXAMPLES, build_parser, main

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize(("argv", "verbose"), [
    (["--home", "{home}", "-v", "status"], True),
    (["status", "--home", "{home}", "-v"], True),
    (["-v", "status", "--home", "{home}"], True),
    (["--home", "/nonexistent/not-this-one", "status", "--home", "{home}"], False),  # the later one wins
])
def test_global_options_before_or_after_the_command(argv: list[str], verbose: bool, tmp_path: Path) -> None:
    args = build_parser().parse_args([a.format(home=tmp_path) for a in argv])
    assert args.command == "status" and args.home == str(tmp_path) and args.verbose is verbose


def test_a_global_option_before_the_command_is_not_reset_by_the_command(tmp_path: Path) -> None:
    args = build_parser().parse_args(["--home", str(tmp_path), "run", "scale-out"])
    assert args.home == str(tmp_path) and args.verbose is False and args.scenario == "scale-out"


def test_home_after_the_command_is_the_one_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--home", str(tmp_path / "h")]) == 3
    assert f"home {tmp_path / 'h'}" in capsys.readouterr().out


def test_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    out = cli("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == f"harness {version('harness')}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_examples_of_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    examples = out.split("examples:\n", 1)
    assert len(examples) == 2, f"`harness {command} --help` has no examples"
    lines = [line for line in examples[1].splitlines() if line.strip()]
    assert lines and lines[0].lstrip().startswith(f"harness {command}")
    assert "--home" in out  # the global options are listed on every command


def test_every_command_has_examples() -> None:
    assert set(COMMANDS) <= set(EXAMPLES), set(COMMANDS) - set(EXAMPLES)


@pytest.mark.parametrize(("argv", "culprit"), [
    (["up", "--bogus"], "unrecognized arguments: --bogus"),
    (["up", "--runtime", "podman"], "argument --runtime: invalid choice: 'podman'"),
    (["up", "--cloud-port", "x"], "argument --cloud-port: invalid int value: 'x'"),
    (["image"], "the following arguments are required: what"),
    ([], "the following arguments are required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_a_usage_error_is_one_line_and_exit_2(argv: list[str], culprit: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    out = capsys.readouterr()
    assert out.out == ""
    lines = out.err.splitlines()
    assert len(lines) == 1 and culprit in lines[0] and lines[0].startswith("harness"), out.err


def test_a_usage_error_from_the_installed_command_has_no_traceback(tmp_path: Path) -> None:
    out = cli("up", "--time-scale", "fast", cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.splitlines() == ["harness up: error: argument --time-scale: invalid float value: 'fast' "
                                       "(see `harness up --help`)"]


def _complete(script: Path, *words: str) -> list[str]:
    """What bash offers for `harness WORDS...` (the last word being typed), from the generated script."""
    line = " ".join(("harness", *words))
    probe = ('source "$1"; shift; fn=$(complete -p harness | sed -E "s/.*-F ([^ ]+) .*/\\1/"); '
             'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; '
             '"$fn" harness "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"; printf "%s\\n" "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", probe, "probe", str(script), *line.split(" ")], capture_output=True,
                         text=True, timeout=30, check=True)
    return out.stdout.split()


def test_bash_completion_completes_commands_options_and_choices(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    script = tmp_path / "harness.bash"
    script.write_text(capsys.readouterr().out)
    assert _complete(script, "ru") == ["run"]
    assert _complete(script, "run", "--time-s") == ["--time-scale"]
    assert _complete(script, "status", "--ho") == ["--home"]  # the global options, after the command too
    assert _complete(script, "completion", "") == ["bash", "zsh"]


def test_zsh_completion_is_a_compdef_of_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "zsh"]) == 0
    script = capsys.readouterr().out
    assert script.startswith("#compdef harness")
    listed = [line.split(":", 1)[0].strip() for line in script.splitlines() if re.match(r"^    [a-z]+:'", line)]
    assert sorted(listed) == COMMANDS
