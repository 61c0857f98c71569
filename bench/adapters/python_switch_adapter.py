"""The bench adapter in a worker run at Python's own GIL switch interval (5 ms) rather than the worker's (1 ms).

Loaded after the worker sets its interval, so its own setting holds: bench/micro/busy-tool-latency.ts
compares the two.
"""

from __future__ import annotations

import sys

from bench_adapter import BenchAdapter

PYTHON_DEFAULT_SWITCH_INTERVAL = 0.005
sys.setswitchinterval(PYTHON_DEFAULT_SWITCH_INTERVAL)


class PythonSwitchAdapter(BenchAdapter):
    pass
