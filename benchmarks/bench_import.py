"""How long ``import govlink`` takes, next to a bare interpreter start in the same run.

Prints the median of N fresh interpreters for each, the difference (the cost of
importing govlink itself), and as last line one JSON object:
``{"import_s": …, "interpreter_s": …, "govlink_only_s": …, "target_s": 0.3}``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

RUNS = 15
TARGET = 0.3


def _wall(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def _in_process() -> float:
    probe = "import time; t = time.perf_counter(); import govlink; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return float(out.stdout)


def main() -> None:
    _wall("import govlink")  # warm the file cache and .pyc files
    bare = statistics.median(_wall("pass") for _ in range(RUNS))
    full = statistics.median(_wall("import govlink") for _ in range(RUNS))
    inside = statistics.median(_in_process() for _ in range(RUNS))
    print(f"python -c 'pass'           median of {RUNS}: {bare * 1000:7.1f} ms")
    print(f"python -c 'import govlink' median of {RUNS}: {full * 1000:7.1f} ms")
    print(f"import govlink alone (in-process timer):   {inside * 1000:7.1f} ms")
    verdict = "OK" if full < TARGET else "OVER TARGET"
    print(f"target: whole command under {TARGET * 1000:.0f} ms -> {verdict}")
    print(
        json.dumps(
            {
                "import_s": round(full, 4),
                "interpreter_s": round(bare, 4),
                "govlink_only_s": round(inside, 4),
                "target_s": TARGET,
            }
        )
    )


if __name__ == "__main__":
    main()
