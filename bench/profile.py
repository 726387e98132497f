"""Optional sampling profile of a worker subprocess with py-spy (`--profile`), summarised as text:
where the worker's CPU goes, by function (self time) and by frame (inclusive time)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from bench.stack import Proc

_LINE = re.compile(r":\d+\)$")


def _frame(raw: str) -> str:
    """`fn (path/to/module.py:123)` → `fn (module.py)`: one entry per function, not per line."""
    raw = _LINE.sub(")", raw.strip())
    name, _, where = raw.partition(" (")
    return f"{name} ({Path(where.rstrip(')')).name})" if where else name


def summarise(path: Path, top: int = 25) -> dict[str, Any]:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += n
        self_time[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)] if total else []

    return {"samples": total, "self_pct": share(self_time), "inclusive_pct": share(inclusive), "raw": str(path)}


class Profiler:
    def __init__(self, popen: subprocess.Popen[bytes], out: Path) -> None:
        self.popen = popen
        self.out = out

    @classmethod
    def start(cls, binary: str | None, target: Proc, out: Path) -> Profiler | None:
        if binary is None:
            return None
        exe = shutil.which(binary) or (binary if Path(binary).exists() else None)
        if exe is None:
            raise RuntimeError(f"--profile: {binary} not found (pip install py-spy, or pass its path)")
        cmd = [exe, "record", "--pid", str(target.pid), "--format", "raw", "--rate", "100", "--output", str(out)]
        popen = subprocess.Popen(
            [*cmd, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        return cls(popen, out)

    def stop(self) -> dict[str, Any]:
        """py-spy writes its file when interrupted."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)
        if not self.out.exists():
            return {"error": f"py-spy wrote no profile (exit code {self.popen.returncode})"}
        return summarise(self.out)
