"""Flows through boto3, a second AWS client, against the local Glue + Athena service.

Reads a JSON spec on stdin (endpoint, keys, names), runs each flow as a user's
Python code would, and prints one JSON object of what it saw; the jest test
asserts on it. Errors are reported by their AWS code, never raised.
"""

import json
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

spec = json.load(sys.stdin)
retries = Config(retries={"max_attempts": 1})


def client(service, role):
    keys = spec["keys"][role]
    return boto3.client(
        service,
        endpoint_url=spec["endpoint"],
        region_name=spec["region"],
        aws_access_key_id=keys["id"],
        aws_secret_access_key=keys["secret"],
        config=retries,
    )


def code_of(call):
    try:
        call()
    except ClientError as error:
        return {
            "code": error.response["Error"]["Code"],
            "message": error.response["Error"].get("Message", ""),
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
        }
    return {"code": None}


glue = client("glue", "admin")
glue_analyst = client("glue", "analyst")
athena = client("athena", "analyst")
database, table = spec["database"], spec["table"]
report = {}

# --- Glue: a database, a partitioned JSON table, partitions, expressions, paging.
glue.create_database(DatabaseInput={"Name": database, "Description": "made by boto3"})
columns = [
    {"Name": "symbol", "Type": "string"},
    {"Name": "price", "Type": "double"},
    {"Name": "size", "Type": "bigint"},
    {"Name": "side", "Type": "string"},
    {"Name": "ts", "Type": "string"},
    {"Name": "run_id", "Type": "string"},
    {"Name": "seq", "Type": "bigint"},
]


def storage(location):
    return {
        "Columns": columns,
        "Location": location,
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
    }


for name in [table, f"{table}_b", f"{table}_c"]:
    glue.create_table(
        DatabaseName=database,
        TableInput={
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "json"},
            "StorageDescriptor": storage(spec["location"]),
            "PartitionKeys": [{"Name": "dt", "Type": "string"}, {"Name": "hour", "Type": "string"}],
        },
    )
created = glue.batch_create_partition(
    DatabaseName=database,
    TableName=table,
    PartitionInputList=[
        {
            "Values": [p["dt"], p["hour"]],
            "StorageDescriptor": storage(f"{spec['location']}dt={p['dt']}/hour={p['hour']}/"),
        }
        for p in spec["partitions"]
    ],
)
report["partitionErrors"] = created.get("Errors", [])

fetched = glue.get_table(DatabaseName=database, Name=table)["Table"]
report["table"] = {
    "name": fetched["Name"],
    "columns": [c["Name"] for c in fetched["StorageDescriptor"]["Columns"]],
    "partitionKeys": [k["Name"] for k in fetched["PartitionKeys"]],
    "createTimeIsDate": hasattr(fetched.get("CreateTime"), "year"),
}

pages = glue.get_paginator("get_tables").paginate(DatabaseName=database, PaginationConfig={"PageSize": 1})
names_per_page = [[t["Name"] for t in page["TableList"]] for page in pages]
report["tablePages"] = names_per_page
report["tablesMatching"] = sorted(
    t["Name"] for t in glue.get_tables(DatabaseName=database, Expression=f"{table}_[bc]")["TableList"]
)
report["partitionsMatching"] = sorted(
    p["Values"]
    for p in glue.get_partitions(
        DatabaseName=database, TableName=table, Expression=spec["partitionExpression"]
    )["Partitions"]
)
report["missingTable"] = code_of(lambda: glue.get_table(DatabaseName=database, Name="no_such_table"))
report["analystCreatesDatabase"] = code_of(
    lambda: glue_analyst.create_database(DatabaseInput={"Name": f"{database}_denied"})
)

# --- Table versions: an update keeps the version before it; the paginator walks them newest first.
glue.update_table(
    DatabaseName=database,
    TableInput={"Name": f"{table}_c", "Description": "second version", "StorageDescriptor": storage(spec["location"])},
)
version_pages = glue.get_paginator("get_table_versions").paginate(
    DatabaseName=database, TableName=f"{table}_c", PaginationConfig={"PageSize": 1}
)
report["tableVersions"] = [
    [[v["VersionId"], v["Table"].get("Description")] for v in page["TableVersions"]] for page in version_pages
]

# --- Athena: the analyst queries the table, polls, pages the results.
query = {
    "QueryString": (
        f"SELECT symbol, count(*) AS trades, sum(size) AS volume, max(price) AS high "
        f'FROM "{database}"."{table}" WHERE dt = \'{spec["partitions"][0]["dt"]}\' GROUP BY symbol ORDER BY symbol'
    ),
    "WorkGroup": spec["workGroup"],
    "ClientRequestToken": spec["token"],
}
query_id = athena.start_query_execution(**query)["QueryExecutionId"]
report["sameTokenSameId"] = athena.start_query_execution(**query)["QueryExecutionId"] == query_id
report["sameTokenOtherQuery"] = code_of(lambda: athena.start_query_execution(**{**query, "QueryString": "SELECT 1"}))

deadline = time.time() + 60
while True:
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    state = execution["Status"]["State"]
    if state in ("SUCCEEDED", "FAILED", "CANCELLED") or time.time() > deadline:
        break
    time.sleep(0.1)
report["query"] = {
    "state": state,
    "reason": execution["Status"].get("StateChangeReason"),
    "scanned": execution["Statistics"].get("DataScannedInBytes", 0),
    "output": execution["ResultConfiguration"]["OutputLocation"],
}

rows, column_info = [], None
for page in athena.get_paginator("get_query_results").paginate(
    QueryExecutionId=query_id, PaginationConfig={"PageSize": 2}
):
    column_info = column_info or page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    rows += [[d.get("VarCharValue") for d in row["Data"]] for row in page["ResultSet"]["Rows"]]
report["rows"] = rows
report["columns"] = [[c["Name"], c["Type"]] for c in column_info]

failed_id = athena.start_query_execution(
    QueryString=f'SELECT * FROM "{database}".no_such_table', WorkGroup=spec["workGroup"]
)["QueryExecutionId"]
while True:
    failed = athena.get_query_execution(QueryExecutionId=failed_id)["QueryExecution"]["Status"]
    if failed["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
        break
    time.sleep(0.1)
report["failedQuery"] = {"state": failed["State"], "reason": failed.get("StateChangeReason")}
listed = client("athena", "admin").list_query_executions(WorkGroup=spec["workGroup"])["QueryExecutionIds"]
report["listed"] = query_id in listed and failed_id in listed
# The analyst's policy grants running queries, not listing everyone's.
report["analystLists"] = code_of(lambda: athena.list_query_executions(WorkGroup=spec["workGroup"]))

report["engineVersion"] = client("athena", "admin").get_work_group(WorkGroup=spec["workGroup"])["WorkGroup"][
    "Configuration"
]["EngineVersion"]

# --- Signatures: a wrong secret and an unknown key are refused as AWS refuses them.
wrong = boto3.client(
    "glue",
    endpoint_url=spec["endpoint"],
    region_name=spec["region"],
    aws_access_key_id=spec["keys"]["analyst"]["id"],
    aws_secret_access_key="not-the-secret",
    config=retries,
)
report["wrongSecret"] = code_of(lambda: wrong.get_databases())
unknown = boto3.client(
    "athena",
    endpoint_url=spec["endpoint"],
    region_name=spec["region"],
    aws_access_key_id="AKIDNOBODY",
    aws_secret_access_key="whatever",
    config=retries,
)
report["unknownKey"] = code_of(lambda: unknown.list_work_groups())

for name in [table, f"{table}_b", f"{table}_c"]:
    glue.delete_table(DatabaseName=database, Name=name)
glue.delete_database(Name=database)
report["afterDelete"] = code_of(lambda: glue.get_database(Name=database))

json.dump(report, sys.stdout)
