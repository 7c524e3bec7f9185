"""Print the installed distributions that a lock file does not name (scripts/_venv.sh uninstalls them).

Usage: python scripts/_lock_sync.py LOCK_FILE [--keep-tree-of NAME]
Run with the venv's own interpreter. lesionkit itself is kept (installed editable after the lock);
``--keep-tree-of torch`` also keeps what the installed torch requires (a GPU build's CUDA libraries).
"""

import re
import sys
from importlib import metadata


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_names(lock_path: str) -> set[str]:
    """The project names pinned (``name==version``) in a pip requirements/lock file."""
    pin = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==")
    with open(lock_path, encoding="utf-8") as fh:
        return {_norm(m.group(1)) for line in fh if (m := pin.match(line))}


def requirement_tree(root: str) -> set[str]:
    """``root`` and every installed distribution it requires, recursively (environment markers honoured)."""
    seen: set[str] = set()
    todo = [_norm(root)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for spec in requires:
            req_name, _, marker = spec.partition(";")
            if "extra" in marker:  # optional extras of torch are not installed by the spec
                continue
            todo.append(_norm(re.split(r"[\s<>=!~\[(]", req_name.strip(), maxsplit=1)[0]))
    return seen


def main(argv: list[str]) -> int:
    keep = locked_names(argv[1]) | {"lesionkit"}
    if len(argv) == 4 and argv[2] == "--keep-tree-of":
        keep |= requirement_tree(argv[3])
    installed = {_norm(d.metadata["Name"]) for d in metadata.distributions() if d.metadata["Name"]}
    for name in sorted(installed - keep):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
