"""Count application lines per package (a directory's own .py files; sub-packages apart).

Tests, migrations and bench are left out, as the layering rule counts them.
Usage: python -m bench.linecount
"""

from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"tests", "bench", ".venv", "migrations", "node_modules", "var", "static", "templates"}


def count() -> Counter:
    lines: Counter = Counter()
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if SKIP & set(rel.parts) or len(rel.parts) == 1:
            continue
        lines[str(rel.parent)] += sum(1 for _ in path.open(encoding="utf-8"))
    return lines


if __name__ == "__main__":
    lines = count()
    total = sum(lines.values())
    for package, n in lines.most_common():
        print(f"{package:40} {n:6}  {100 * n / total:5.1f}%")
    print(f"{'total':40} {total:6}")
