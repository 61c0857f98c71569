"""The python-shell baseline: small JSON records printed as NDJSON.

It announces itself with one line, then answers each request line read from
stdin (`{"count": N}`) with N records, so that the benchmark times warm runs
and not the interpreter's start. Exits at end of stdin.

By default stdout is Python's own: block-buffered, as python-shell's users get
it (the benchmark removes PYTHONUNBUFFERED from the environment). With
`--flush-each-line`, each record is flushed as it is printed, as a producer
must for a reader to see records as they come.
"""

from __future__ import annotations

import argparse
import json
import sys

from workload_data import encode_json_text, small_record


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flush-each-line", action="store_true")
    flush_each_line = parser.parse_args().flush_each_line
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        count = int(json.loads(line)["count"])
        for seq in range(count):
            print(encode_json_text(small_record(seq)), flush=flush_each_line)
        # Flushed so that the run ends.
        sys.stdout.flush()


if __name__ == "__main__":
    main()
