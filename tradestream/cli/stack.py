"""``tradestream stack up|down|status``: a thin front to ``scripts/stack.sh``."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path

SERVICES = ("kafka", "clickhouse", "postgres", "redis")
BASH = shutil.which("bash") or "/bin/bash"


def project_root() -> Path:
    """Find the checkout that holds ``scripts/stack.sh`` (cwd first, then the package's)."""
    candidates = [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[2]]
    env_home = os.environ.get("TRADESTREAM_HOME")
    if env_home:
        candidates.insert(0, Path(env_home))
    for candidate in candidates:
        if (candidate / "scripts" / "stack.sh").is_file():
            return candidate
    raise SystemExit(
        "tradestream stack: scripts/stack.sh not found; run from a tradestream checkout "
        "or set TRADESTREAM_HOME"
    )


def run_stack(action: str, services: list[str] | None = None, *, quiet: bool = False) -> int:
    """Run the stack script and return its exit code."""
    script = project_root() / "scripts" / "stack.sh"
    return subprocess.call(  # noqa: S603 - our own script, no shell
        [BASH, str(script), action, *(services or [])],
        stdout=subprocess.DEVNULL if quiet else None,
    )


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the stack command's arguments."""
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument(
        "services",
        nargs="*",
        choices=(*SERVICES, []),
        metavar="SERVICE",
        help=f"any of {', '.join(SERVICES)} (default: all)",
    )


def run(args: argparse.Namespace) -> int:
    """Bring the local stack up or down, or report on it."""
    return run_stack(args.action, list(args.services))
