"""kill -9 during a burst of 200 messages at three points, then restart: lost and duplicated.

.venv/bin/python bench/bench_kill9.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.procharness import burst_kill_restart


async def main() -> None:
    print("patients  killed after  answered at kill  lost  duplicated")
    for kill_after in (30, 90, 150):
        with tempfile.TemporaryDirectory() as tmp:
            r = await burst_kill_restart(Path(tmp), patients=200, kill_after=kill_after)
        print(f"{200:8}  {r.kill_after:12}  {r.answered_at_kill:16}  {r.lost:4}  {r.duplicated:10}")


if __name__ == "__main__":
    asyncio.run(main())
