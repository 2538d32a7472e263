"""Checks ministack_main.py's patch against MiniStack's own _expire_records: the same
records are kept, on random streams (arrival times in order, some past retention, some
not), run by local/src/emulator.rs's tests with the launcher's source in argv[1]."""

import copy
import random
import sys
import time

from ministack.services import kinesis

original = kinesis._expire_records
launcher = {"__name__": "ministack_check"}
exec(compile(sys.argv[1], "ministack_main.py", "exec"), launcher)
patched = launcher["_expire_records"]

rng = random.Random(7)
now = time.time()
for case in range(500):
    hours = rng.choice([1, 24, 168])
    stream = {"RetentionPeriodHours": hours, "shards": {}}
    for shard in range(rng.randint(0, 3)):
        # Oldest first, as PutRecord(s) appends them; some cases start past retention.
        t = now - hours * 3600 - rng.uniform(-600, 600) * rng.choice([0, 1, 10])
        records = []
        for n in range(rng.randint(0, 40)):
            t += rng.choice([0, 0.001, rng.uniform(0, 120)])
            records.append({"SequenceNumber": f"{n:020d}", "ApproximateArrivalTimestamp": round(t, 3)})
        stream["shards"][f"shardId-{shard:012d}"] = {"records": records}
    expected, got = copy.deepcopy(stream), copy.deepcopy(stream)
    original(expected)
    patched(got)
    if expected != got:
        sys.exit(f"case {case}: MiniStack kept {expected}, the patch kept {got}")
print("ok: 500 streams")
