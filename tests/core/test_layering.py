"""lesionkit.core sits below every stage: it must import nothing else of lesionkit."""

import subprocess
import sys


def test_core_imports_no_other_lesionkit_module():
    code = (
        "import sys, lesionkit.core; "
        "print(sorted(m for m in sys.modules if m.startswith('lesionkit') and not m.startswith('lesionkit.core')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['lesionkit']"
