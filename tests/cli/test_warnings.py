import warnings

import pytest

from lesionkit.cli._warnings import reported_warnings


def test_user_warnings_go_to_stderr_one_line_each_and_other_warnings_are_dropped(capsys):
    with reported_warnings("overlap"):
        warnings.warn("3 subjects excluded:\nno mask", UserWarning, stacklevel=1)
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
        print("the work")
    out, err = capsys.readouterr()
    assert out == "the work\n"
    assert err == "lesionkit overlap: warning: 3 subjects excluded: no mask\n"


def test_warnings_are_reported_also_when_the_work_fails(capsys):
    with pytest.raises(RuntimeError, match="boom"), reported_warnings("evaluate"):
        warnings.warn("a case was skipped", UserWarning, stacklevel=1)
        raise RuntimeError("boom")
    assert capsys.readouterr().err == "lesionkit evaluate: warning: a case was skipped\n"
