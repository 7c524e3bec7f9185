import pytest

from lesionkit import __version__
from lesionkit.cli import COMMANDS, main
from tests._python import run_python


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_help_imports_no_heavy_library():
    """`lesionkit --help` must stay instant: building the parser imports neither torch, ants, monai nor matplotlib."""
    code = (
        "import sys; from lesionkit.cli import _get_parser; _get_parser().format_help(); "
        "print(sorted(m for m in ('torch', 'ants', 'monai', 'matplotlib', 'pandas', 'scipy') if m in sys.modules))"
    )
    assert run_python(code).strip() == "[]"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: lesionkit " + command in capsys.readouterr().out
