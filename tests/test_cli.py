"""The `tao-lab` command: the demo, and one-line errors for every careless flag (issue 11, items 6 and 20)."""

import socket
import subprocess
import sys

import pytest

from tao_lab.cli import _parser, main


def test_demo_prints_a_table_of_a_real_epoch(capsys):
    assert main(["demo", "--epochs", "3", "--validators", "2", "--miners", "3"]) == 0
    out = capsys.readouterr().out
    assert "epoch   2" in out
    lines = [l for l in out.splitlines() if l.strip().split(" ")[0].isdigit() and ("miner" in l or "validator" in l)]
    assert len(lines) == 5
    total = sum(float(l.split()[-1]) for l in lines)
    assert abs(total - 1.0) < 1e-6  # one TAO per epoch is shared out


def test_cli_runs_as_a_module_and_rejects_unknown_commands():
    bad = subprocess.run([sys.executable, "-m", "tao_lab.cli", "frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


# ---------------------------------------------------------------------- careless input (issue 11, items 6 and 20)

TAO_LAB = [sys.executable, "-c", "import sys; from tao_lab.cli import main; sys.exit(main())"]


def tao_lab(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real ``tao-lab`` entry point (`tao_lab.cli:main`, what the console script calls) as a subprocess."""
    return subprocess.run([*TAO_LAB, *args], capture_output=True, text=True, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> str:
    """The run failed with exit code 2 and one line on stderr (no traceback) that holds ``words``."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("tao-lab") and "error: " in lines[0], lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.mark.parametrize("args, words", [
    (["demo", "--miners", "0"], ["--miners", "at least 1"]),
    (["demo", "--epochs", "0"], ["--epochs", "at least 1"]),
    (["demo", "--validators", "-2"], ["--validators", "at least 1"]),
    (["demo", "--tempo", "-1"], ["--tempo", "at least 1"]),
    (["demo", "--seed", "-1"], ["--seed", "at least 0"]),
    (["demo", "--miners", "three"], ["--miners", "whole number"]),
    (["demo", "--liquid-alpha"], ["--liquid-alpha", "--yuma3"]),
    (["devnet", "--port", "70000"], ["--port", "0..65535"]),
    (["devnet", "--port", "-1"], ["--port", "0..65535"]),
    (["devnet", "--instant", "--manual"], ["--manual", "--instant"]),
    (["devnet", "--keep-blocks", "0"], ["--keep-blocks", "at least 1"]),
    (["scenario", "noise", "--epochs", "0"], ["--epochs", "at least 1"]),
    (["sweep", "nb.ipynb", "--grid", "seed=0", "--out", "x", "--workers", "0"], ["--workers", "at least 1"]),
    (["sweep", "nb.ipynb", "--grid", "seed=0", "--out", "x", "--timeout", "nan"], ["--timeout", "above 0"]),
])
def test_careless_flags_get_one_line_naming_the_flag(args, words):
    assert one_line_error(tao_lab(*args), *words).startswith("tao-lab")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "soon"])
def test_devnet_block_time_must_be_finite_and_positive(value):
    assert value in one_line_error(tao_lab("devnet", "--port", "0", f"--block-time={value}"), "--block-time")


def test_devnet_on_an_unknown_host_or_a_busy_port_says_so_in_one_line():
    one_line_error(tao_lab("devnet", "--port", "0", "--host", "no-such-host.invalid"), "no-such-host.invalid")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_line_error(tao_lab("devnet", "--port", str(port)), str(port))
        assert "in use" in line or "busy" in line, line


def test_errors_from_the_node_process_a_devnet_starts_name_the_python_argument(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for args, flag in ((TAO_LAB + ["devnet"], "--data-dir"),
                       ([sys.executable, "-m", "tao_lab.node"], "data_dir=")):
        result = subprocess.run([*args, "--port", "0", "--data-dir", str(tmp_path)], capture_output=True, text=True,
                                timeout=60)
        line = one_line_error(result, "holds no devnet journal", flag)
        assert ("--data-dir" in line) == (flag == "--data-dir")


def test_devnet_keeps_the_state_of_as_many_blocks_as_asked():
    from substrateinterface import SubstrateInterface
    from substrateinterface.exceptions import SubstrateRequestException

    proc = subprocess.Popen([*TAO_LAB, "devnet", "--port", "0", "--manual", "--quiet", "--keep-blocks", "100"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        substrate = SubstrateInterface(url=proc.stdout.readline().strip())
        substrate.rpc_request("dev_newBlock", [1])
        old = substrate.get_block_hash(1)
        substrate.rpc_request("dev_newBlock", [399])  # past 100 kept + a pruning batch of 256
        with pytest.raises(SubstrateRequestException, match="State already discarded"):
            substrate.query("System", "Number", block_hash=old)
        assert substrate.query("System", "Number").value == 400
        substrate.close()
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()


def test_output_into_a_closed_pipe_ends_quietly():
    """``tao-lab demo | head -1``: the reader leaves early; no BrokenPipeError traceback."""
    proc = subprocess.Popen([*TAO_LAB, "demo", "--epochs", "40"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().startswith("Yuma consensus demo")
    proc.stdout.close()  # what `head -1` does after its line
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 141 and "Traceback" not in err and "BrokenPipe" not in err, err


def test_version_and_help_for_every_flag():
    from tao_lab import __version__

    result = tao_lab("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"tao-lab {__version__}"
    parser = _parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps sub-commands here
    assert set(commands) == {"devnet", "demo", "scenario", "sweep"}
    for name, command in [("tao-lab", parser), *commands.items()]:
        for action in command._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help text"
    for name in commands:
        result = tao_lab(name, "--help")
        assert result.returncode == 0 and "usage: tao-lab " + name in result.stdout
