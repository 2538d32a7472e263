"""Micro-benchmark: the CPU one DynamoDB put_item costs a boto3 client, the same loop and
item as bench-floor/benches/micro_request_floor.rs (sequential: boto3 clients are used so in
the reference handler). Needs AWS_ENDPOINT_URL, credentials and AWS_DEFAULT_REGION.

    .local/reference/bin/python local/reference/request_floor.py
"""

import os
import time

import boto3

CONDITION = "attribute_not_exists(#pk) OR #v < :v"


def put(client, table, i):
    client.put_item(
        TableName=table,
        Item={
            "pk": {"S": f"sensor-{i % 20}"},
            "sk": {"S": f"2026-11-30T10:{i // 20 % 60:02d}:00Z#0"},
            "m": {"M": {f"metric{k}": {"N": f"{i}.{k}"} for k in range(8)}},
            "v": {"N": str(i)},
        },
        ConditionExpression=CONDITION,
        ExpressionAttributeNames={"#pk": "pk", "#v": "v"},
        ExpressionAttributeValues={":v": {"N": str(i + 1_000_000)}},
    )


def main():
    n = int(os.environ.get("REQUESTS", "2000"))
    client = boto3.client("dynamodb")
    table = f"request-floor-py-{os.getpid()}"
    client.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )
    print("| round | boto3: CPU µs per put_item |")
    print("| --- | --- |")
    for round_ in range(1, 4):
        for i in range(100):
            put(client, table, i)
        started = time.process_time()
        for i in range(n):
            put(client, table, i)
        print(f"| {round_} | {(time.process_time() - started) * 1e6 / n:.0f} |")


if __name__ == "__main__":
    main()
