"""Telegram layer of the LDN bot: wiring, handlers, rendering, the sender, config, CLI."""

import os

# PTB gives durations (RetryAfter.retry_after) as timedelta only when asked; otherwise it warns.
os.environ.setdefault("PTB_TIMEDELTA", "true")
