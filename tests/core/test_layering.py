"""lesionkit.core sits below every stage: it must import nothing else of lesionkit."""

from tests._python import run_python


def test_core_imports_no_other_lesionkit_module():
    code = (
        "import sys, lesionkit.core; "
        "print(sorted(m for m in sys.modules if m.startswith('lesionkit') and not m.startswith('lesionkit.core')))"
    )
    assert run_python(code).strip() == "['lesionkit']"
