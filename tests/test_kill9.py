"""kill -9 in the middle of a burst: after a restart every patient is answered, and only the
answers in flight at the kill may come twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import CONCURRENT_UPDATES
from tests.procharness import burst_kill_restart

pytestmark = pytest.mark.e2e


async def test_kill_9_mid_burst_loses_nothing(tmp_path: Path) -> None:
    result = await burst_kill_restart(tmp_path, patients=120, kill_after=40)
    assert result.answered_at_kill >= 40
    assert result.lost == 0
    # In flight at the kill: the updates being handled, those handled and not yet written
    # (written once two slots' worth gather, or after RESULTS_EVERY, 50 ms) and the write
    # under way: a few slots' worth.
    assert result.duplicated <= 3 * CONCURRENT_UPDATES, result
