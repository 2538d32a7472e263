"""Runs MiniStack 1.5.33 with one performance patch and three Athena fidelity patches; the
local stack starts it this way.

MiniStack's Kinesis drops records past the stream's retention on every PutRecords and
GetRecords by rebuilding every shard's record list: O(records in the stream) per call, so a
sustained run slows down quadratically (55 % of the emulator's time after 40 s at 2,000
records/s). Records are appended in arrival order with their arrival time, so the oldest
record is the first: if it is within retention, none has expired and nothing is rebuilt.
The result is the same list as MiniStack's; only the cost changes.

Athena, where MiniStack is more lenient than AWS, which would let a query pass locally and
fail on AWS (or answer differently):

* A JSON table is read with the columns and types its Glue table declares, as Athena's
  JSON SerDe reads it (other keys are invisible; an object in a `string` column is its JSON
  text). MiniStack infers columns from the data instead.
* `ExecutionParameters` fill the query's `?` placeholders in order, each value a SQL
  literal; a count that differs fails the call. MiniStack ignores them.
* `DataScannedInBytes` is the bytes of the objects the query read (what Athena bills for
  gzip JSON, which it cannot split), and a workgroup's `BytesScannedCutoffPerQuery` cancels
  a query that read more. MiniStack reports the size of the result's text and no limit.
  MiniStack implements no partition projection: a query reads every partition of its table.
"""

import contextvars
import os
import sys
import time

from ministack.services import athena, kinesis


def _expire_records(stream):
    cutoff = time.time() - stream["RetentionPeriodHours"] * 3600
    for shard in stream["shards"].values():
        records = shard["records"]
        if records and records[0]["ApproximateArrivalTimestamp"] < cutoff:
            shard["records"] = [
                r for r in records if r["ApproximateArrivalTimestamp"] >= cutoff
            ]


_HIVE_TO_DUCKDB = {
    "string": "VARCHAR", "varchar": "VARCHAR", "char": "VARCHAR", "bigint": "BIGINT",
    "int": "INTEGER", "integer": "INTEGER", "smallint": "SMALLINT", "tinyint": "TINYINT",
    "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "date": "DATE",
    "timestamp": "TIMESTAMP",
}
_table_relation = athena._table_relation


def _json_relation(table_data, files):
    """The declared columns of a JSON table, typed as declared (a type this patch cannot
    map, a struct say, leaves the table to MiniStack's own reader)."""
    storage = table_data.get("StorageDescriptor") or {}
    declared = storage.get("Columns") or []
    types = [_HIVE_TO_DUCKDB.get(str(c.get("Type", "")).lower()) for c in declared]
    if athena._data_format(table_data) != "json" or not declared or None in types:
        return _table_relation(table_data, files)
    quote = lambda text: "'" + str(text).replace("'", "''") + "'"
    columns = ", ".join(f"{quote(c['Name'])}: {quote(t)}" for c, t in zip(declared, types))
    hive = athena._hive_options(athena._path_partition_keys(table_data, files))
    return (f"read_json({athena._sql_list(files)}, format = 'newline_delimited', "
            f"columns = {{{columns}}}, {hive})")


def _fill_parameters(query, values):
    """`query` with each `?` outside quotes and comments replaced by the next value, or
    None when the counts differ."""
    out, i, n, used = [], 0, len(query), 0
    while i < n:
        ch = query[i]
        if ch in "'\"":
            j = i + 1
            while j < n:
                if query[j] == ch and query.startswith(ch * 2, j):
                    j += 2
                elif query[j] == ch:
                    break
                else:
                    j += 1
            out.append(query[i:j + 1])
            i = j + 1
        elif query.startswith("--", i):
            j = query.find("\n", i)
            j = n if j < 0 else j
            out.append(query[i:j])
            i = j
        elif ch == "?":
            if used == len(values):
                return None
            out.append(str(values[used]))
            used += 1
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out) if used == len(values) else None


_start_query_execution = athena._start_query_execution


def _start_with_parameters(data):
    values = data.get("ExecutionParameters")
    if values:
        query = _fill_parameters(data.get("QueryString", ""), values)
        if query is None:
            return athena.error_response_json(
                "InvalidRequestException",
                f"ExecutionParameters has {len(values)} values, and the query another number "
                "of ? placeholders", 400,
                extra={"AthenaErrorCode": "INVALID_PARAMETER_USAGE"},
            )
        data = {**data, "QueryString": query}
    return _start_query_execution(data)


_scanned = contextvars.ContextVar("scanned")
_materialize = athena._materialize_table_files
_execute_query = athena._execute_query


def _materialize_counted(location, workdirs):
    files = _materialize(location, workdirs)
    counter = _scanned.get(None)
    if counter is not None:
        counter.append(sum(os.path.getsize(f) for f in files))
    return files


async def _execute_counted(query_id, query, database, ddl, catalog=None):
    counter = []
    _scanned.set(counter)
    await _execute_query(query_id, query, database, ddl, catalog)
    execution = athena._executions.get(query_id)
    if not execution or execution["Status"]["State"] != "SUCCEEDED":
        return
    scanned = sum(counter)
    execution["Statistics"]["DataScannedInBytes"] = scanned
    workgroup = athena._workgroups.get(execution.get("WorkGroup"), {})
    limit = (workgroup.get("Configuration") or {}).get("BytesScannedCutoffPerQuery")
    if limit is not None and scanned > int(limit):
        execution["Status"]["State"] = "CANCELLED"
        execution["Status"]["StateChangeReason"] = "Bytes scanned limit was exceeded"
        execution["_results"] = None


def patch():
    """Installs the patches (before MiniStack serves its first request)."""
    kinesis._expire_records = _expire_records
    athena._table_relation = _json_relation
    athena._start_query_execution = _start_with_parameters
    athena._materialize_table_files = _materialize_counted
    athena._execute_query = _execute_counted


if __name__ == "__main__":
    patch()
    from ministack.app import main

    sys.exit(main())
