"""run_tool: a wrong invocation or a UserError is one ``error:`` line and exit status 1, --debug adds the
traceback, Ctrl-C is 130, the work's integer result is the exit status."""

import pytest

from slowfast.config.cli import ToolParser, run_tool
from slowfast.utils.errors import INTERRUPTED_EXIT, USER_ERROR_EXIT, RunInterrupted, UserError


def _parser():
    parser = ToolParser("t")
    parser.add_argument("--count", type=int, required=True)
    return parser


def _raise(error):
    def work(args):
        raise error

    return work


def test_work_result_is_the_exit_status(capsys):
    assert run_tool(_parser(), lambda args: args.count, ["--count", "3"]) == 3
    assert run_tool(_parser(), lambda args: None, ["--count", "3"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "the following arguments are required: --count"),
        (["--count", "x"], "argument --count: invalid int value: 'x'"),
        (["--count", "1", "--colour"], "unrecognized arguments: --colour"),
    ],
)
def test_wrong_invocation_is_one_error_line(capsys, argv, message):
    parser = _parser()
    assert run_tool(parser, lambda args: 0, argv) == USER_ERROR_EXIT
    assert capsys.readouterr().err.splitlines() == [f"error: {message} (see {parser.prog} --help)"]


def test_user_error_is_one_line_and_debug_adds_its_traceback(capsys):
    mistake = _raise(UserError("config file not found: a.yaml: check the --cfg path"))
    assert run_tool(_parser(), mistake, ["--count", "1"]) == USER_ERROR_EXIT
    assert capsys.readouterr().err.splitlines() == ["error: config file not found: a.yaml: check the --cfg path"]
    assert run_tool(_parser(), mistake, ["--count", "1", "--debug"]) == USER_ERROR_EXIT
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "error: config file not found: a.yaml: check the --cfg path"


def test_a_bug_keeps_its_traceback():
    with pytest.raises(ZeroDivisionError):
        run_tool(_parser(), lambda args: 1 / 0, ["--count", "1"])


@pytest.mark.parametrize(
    "interrupt, line",
    [
        (KeyboardInterrupt(), "interrupted"),
        (RunInterrupted(2), "interrupted after epoch 2; rerun the same command to resume"),
    ],
)
def test_ctrl_c_is_one_line_and_130(capsys, interrupt, line):
    assert run_tool(_parser(), _raise(interrupt), ["--count", "1"]) == INTERRUPTED_EXIT
    assert capsys.readouterr().err.splitlines() == [line]
