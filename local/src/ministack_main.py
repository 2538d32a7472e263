"""Runs MiniStack 1.5.33 with one performance patch; the local stack starts it this way.

MiniStack's Kinesis drops records past the stream's retention on every PutRecords and
GetRecords by rebuilding every shard's record list: O(records in the stream) per call, so a
sustained run slows down quadratically (55 % of the emulator's time after 40 s at 2,000
records/s). Records are appended in arrival order with their arrival time, so the oldest
record is the first: if it is within retention, none has expired and nothing is rebuilt.
The result is the same list as MiniStack's; only the cost changes.
"""

import sys
import time

from ministack.services import kinesis


def _expire_records(stream):
    cutoff = time.time() - stream["RetentionPeriodHours"] * 3600
    for shard in stream["shards"].values():
        records = shard["records"]
        if records and records[0]["ApproximateArrivalTimestamp"] < cutoff:
            shard["records"] = [
                r for r in records if r["ApproximateArrivalTimestamp"] >= cutoff
            ]


def patch():
    """Installs the patch (before MiniStack serves its first request)."""
    kinesis._expire_records = _expire_records


if __name__ == "__main__":
    patch()
    from ministack.app import main

    sys.exit(main())
