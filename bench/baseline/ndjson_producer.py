"""The python-shell baseline: small JSON records printed as NDJSON on a buffered stdout.

It announces itself with one line, then answers each request line read from
stdin (`{"count": N}`) with N records, so that the benchmark times warm runs
and not the interpreter's start. Exits at end of stdin.
"""

from __future__ import annotations

import json
import sys

from workload_data import encode_json_text, small_record


def main() -> None:
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        count = int(json.loads(line)["count"])
        for seq in range(count):
            print(encode_json_text(small_record(seq)))
        # Buffered while producing, as python-shell users print; flushed so the run ends.
        sys.stdout.flush()


if __name__ == "__main__":
    main()
