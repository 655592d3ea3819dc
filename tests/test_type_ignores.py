"""`make test` runs mypy over the apps with zero errors (issue 21); where the type system cannot say what the code
does, a `# type: ignore` names its error code and says why, after it: `# type: ignore[code]  # why`."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "core", "accounts", "claims", "orders", "sellers", "markets", "integrations", "api")
IGNORE = re.compile(r"#\s*type:\s*ignore")
WITH_REASON = re.compile(r"#\s*type:\s*ignore\[[-a-z, ]+\]  # \S")


def test_every_type_ignore_in_the_apps_names_its_code_and_its_reason():
    bare = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if IGNORE.search(line) and not WITH_REASON.search(line):
                    bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert bare == []
