"""``python -m govlink.demo [--port N]`` (what ``make demo`` runs)."""

from __future__ import annotations

import argparse
import sys

from govlink.demo import run_demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m govlink.demo",
        description="Run govlink end to end against the local mock platforms.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port for the mock server (default: 8700 if free, else any free port; 0: any)",
    )
    args = parser.parse_args(argv)
    try:
        return run_demo(port=args.port)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
