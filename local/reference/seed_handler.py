"""The seed's handler, written from its description, as the process-level benchmark's reference.

`cargo run -p local -- bench-process` runs it side by side with the packaged `bootstrap`,
behind the same local Lambda Runtime API, against the same emulator and workload. It does
what the original design's handler describes (decode base64, parse JSON, extract metrics,
aggregate by entity and minute, archive raw data to S3 under a timestamp prefix, store the
aggregates in DynamoDB) the way a Python 3.11 Lambda would: boto3 clients built at import,
one `put_object` of the raw batch, one `update_item` per (entity, minute) aggregate. It has
none of the production path's guarantees (no exactly-once, no quarantine, no limits).

The loop at the bottom is the Lambda Runtime API client a Python runtime provides.
"""

import base64
import json
import os
import urllib.request
from datetime import datetime, timezone

import boto3

s3 = boto3.client("s3")
dynamodb = boto3.client("dynamodb")
BUCKET = os.environ["ARCHIVE_BUCKET"]
TABLE = os.environ["METRICS_TABLE"]
ID_FIELDS = ("sensorId", "deviceId", "userId")


def minute_of(doc, arrival):
    """The record's minute, from its `timestamp` (ISO 8601 or epoch seconds) or arrival."""
    ts = doc.get("timestamp")
    try:
        if isinstance(ts, (int, float)) and not isinstance(ts, bool):
            t = datetime.fromtimestamp(ts, timezone.utc)
        else:
            t = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except (TypeError, ValueError, OverflowError):
        t = datetime.fromtimestamp(arrival, timezone.utc)
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:00Z")


def handler(event, _context=None):
    records = event["Records"]
    raw = []
    aggregates = {}
    for r in records:
        k = r["kinesis"]
        data = base64.b64decode(k["data"])
        raw.append(data.decode("utf-8", "replace"))
        try:
            doc = json.loads(data)
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        entity = next((doc[f] for f in ID_FIELDS if doc.get(f)), k["partitionKey"])
        agg = aggregates.setdefault((str(entity), minute_of(doc, k["approximateArrivalTimestamp"])), {})
        agg["count"] = agg.get("count", 0) + 1
        for name, value in doc.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and name != "timestamp":
                agg[f"{name}_sum"] = agg.get(f"{name}_sum", 0) + value
                agg[f"{name}_count"] = agg.get(f"{name}_count", 0) + 1
            elif name == "event" and isinstance(value, str):
                agg[f"event_{value}"] = agg.get(f"event_{value}", 0) + 1
    now = datetime.now(timezone.utc)
    first = records[0]["kinesis"]["sequenceNumber"] if records else "empty"
    s3.put_object(
        Bucket=BUCKET,
        Key=f"raw/{now:%Y/%m/%d/%H}/{first}.ndjson",
        Body="\n".join(raw).encode(),
    )
    for (entity, minute), agg in aggregates.items():
        names = {f"#a{i}": n for i, n in enumerate(agg)}
        values = {f":v{i}": {"N": repr(v)} for i, v in enumerate(agg.values())}
        dynamodb.update_item(
            TableName=TABLE,
            Key={"partition_key": {"S": entity}, "timestamp": {"S": minute}},
            UpdateExpression="ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(agg))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    print(json.dumps({"message": "batch processed", "records": len(records),
                      "put_object": 1, "update_item": len(aggregates)}), flush=True)
    return {"batchItemFailures": []}


def main():
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
    while True:
        with urllib.request.urlopen(api + "/invocation/next") as r:
            request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(r.read())
        try:
            path, body = "response", handler(event)
        except Exception as e:  # noqa: BLE001 - reported to the Runtime API like Lambda does
            path, body = "error", {"errorMessage": str(e), "errorType": type(e).__name__}
        req = urllib.request.Request(
            f"{api}/invocation/{request_id}/{path}", data=json.dumps(body).encode(), method="POST"
        )
        urllib.request.urlopen(req).read()


if __name__ == "__main__":
    main()
