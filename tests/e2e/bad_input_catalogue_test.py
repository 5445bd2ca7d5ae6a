#!/usr/bin/python3
"""The bad-input catalogue: hostile and broken requests against the real
modelserver binary, each answered with an exact status code and a message
that names the problem, after which the server still answers.

Usage: bad_input_catalogue_test.py MODELSERVER DATA_DIR [unittest arguments]

One server (127.0.0.1:0, temporary --model-dir and --data-dir, small limit
flags so that limit cases are cheap: LIMITS) trains three good models, iris
(classification), diabetes (regression) and mixed (numeric, categorical and
date inputs), labels iris version 1 'stable', and remembers their answers.
Then every case of catalogue() runs as its own test method, named
test_<category>_<case> (categories: csv, train, names, predict, oip, rest):
it sends one request -- gRPC ModelService, gRPC
inference.GRPCInferenceService or REST /v2 -- and asserts the gRPC code (or
HTTP status) and substrings of the message that name the problem (column,
line, row, tensor, limit). After every case the server must still answer:
grpc.health.v1 Check is SERVING, every good model gives its remembered
answer, the model list is unchanged (no refused Train left a model), and the
case took under 10 s.

ArtifactTest writes truncated, corrupted and foreign files (and a FIFO, a
device and a directory) as new version directories of a real model
(<model-dir>/<name>/<version>/model.msm, see core/artifact/model_store.h),
plus a labels file with broken lines. A polling server (--poll-interval)
and one started afterwards on the same directory must each log every broken
file once as skipped (with the load error's code and the path), keep serving
the good version, answer NOT_FOUND for the broken ones on gRPC, ModelInfer
and REST, and still publish new models.

Set CATALOGUE_VERBOSE=1 to print every case's code, time and message.

Stubs are generated at test time (protoc + grpc_python_plugin, into a
temporary directory) from our own proto/ files. Needs Debian's
/usr/bin/python3 with python3-grpcio and python3-protobuf, protoc and
grpc_python_plugin.
"""
import collections
import importlib
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import modelctl_e2e_test as e2e  # noqa: E402  (Server; e2e.MODELSERVER set in __main__)

import grpc  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PROTO_DIR = os.path.join(ROOT, "proto")
GRPC_PLUGIN = "/usr/bin/grpc_python_plugin"
DATA = None  # tests/data, from argv

# Limits the catalogue's server runs with: small, so that exceeding one
# costs little. The message limit leaves room for the 10^6-column CSV
# (about 6.9 MB), which the column limit must refuse.
MAX_MESSAGE_BYTES = 8 << 20
MAX_UPLOAD_BYTES = 1 << 20
LIMITS = {
    "--max-rows": 2000,
    "--max-columns": 100,
    "--max-categorical-levels": 50,
    "--max-hidden-units": 64,
    "--max-hidden-layers": 4,
    "--max-epochs": 1000,
    "--max-predict-rows": 1000,
}

# A third model with a categorical and a date column.
MIXED_CSV = "x,colour,day,y\n" + "".join(
    f"{i},{['red', 'green', 'blue'][i % 3]},2024-{i % 12 + 1:02d}-{i % 28 + 1:02d},"
    f"{2 * i + (i % 3) + (i % 12) / 4}\n" for i in range(60))
IRIS_COLUMNS = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]
DIABETES_COLUMNS = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]

GEN = None  # temporary directory of the generated stubs
ms = ms_grpc = oip = oip_grpc = health_pb2 = health_grpc = None


def protoc(*args):
    proc = subprocess.run(["protoc", *args], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"protoc {' '.join(args)} failed: {proc.stderr}")


def generate_stubs():
    global GEN, ms, ms_grpc, oip, oip_grpc, health_pb2, health_grpc
    GEN = tempfile.mkdtemp(prefix="modelserver-catalogue-")
    # Each proto from its own directory, so that the modules are top-level
    # (grpc/health/v1/health_pb2 would collide with the grpc package).
    for include, name in ((os.path.join(PROTO_DIR, "modelserver", "v1"), "model_service.proto"),
                          (os.path.join(PROTO_DIR, "inference"), "open_inference_grpc.proto"),
                          (os.path.join(PROTO_DIR, "grpc", "health", "v1"), "health.proto")):
        protoc(f"-I{include}", f"--python_out={GEN}", f"--grpc_out={GEN}",
               f"--plugin=protoc-gen-grpc={GRPC_PLUGIN}", os.path.join(include, name))
    sys.path.insert(0, GEN)
    ms = importlib.import_module("model_service_pb2")
    ms_grpc = importlib.import_module("model_service_pb2_grpc")
    oip = importlib.import_module("open_inference_grpc_pb2")
    oip_grpc = importlib.import_module("open_inference_grpc_pb2_grpc")
    health_pb2 = importlib.import_module("health_pb2")
    health_grpc = importlib.import_module("health_pb2_grpc")


def tearDownModule():
    if GEN:
        shutil.rmtree(GEN, ignore_errors=True)


def read_text(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read()


# ----------------------------------------------------------------- calls
# Every call returns (code, message): the gRPC status code's name ("OK",
# "INVALID_ARGUMENT", ...) and its details, or for REST the HTTP status and
# the body.

# Sanitizer builds run slower: scripts/sanitize.sh exports the factor.
TIME_SCALE = float(os.environ.get("MODELSERVER_TEST_TIME_SCALE", "1"))
TIMEOUT = 20 * TIME_SCALE  # seconds; a case that hangs fails instead of stalling CI


def grpc_call(fn, request):
    try:
        fn(request, timeout=TIMEOUT)
        return "OK", ""
    except grpc.RpcError as e:
        return e.code().name, e.details() or ""


class Client:
    """Stubs of one server."""

    def __init__(self, server, max_message=64 << 20):
        options = [("grpc.max_send_message_length", max_message),
                   ("grpc.max_receive_message_length", max_message)]
        self.channel = grpc.insecure_channel(server.address, options=options)
        self.models = ms_grpc.ModelServiceStub(self.channel)
        self.infer = oip_grpc.GRPCInferenceServiceStub(self.channel)
        self.health = health_grpc.HealthStub(self.channel)
        self.http = "http://" + server.http_address
        self.data_dir = getattr(server, "data_dir", None)

    def close(self):
        self.channel.close()

    def train(self, request):
        """Runs Train to its end: the stream's final status, and the result
        event (or None)."""
        result = None
        try:
            for event in self.models.Train(request, timeout=60):
                if event.HasField("result"):
                    result = event.result
            return ("OK", ""), result
        except grpc.RpcError as e:
            return (e.code().name, e.details() or ""), result

    def upload(self, chunks):
        try:
            r = self.models.UploadDataset(iter([ms.UploadChunk(data=c) for c in chunks]),
                                          timeout=TIMEOUT)
            return ("OK", ""), r.upload_id
        except grpc.RpcError as e:
            return (e.code().name, e.details() or ""), None

    def rest(self, method, path, body=None, headers=None):
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.http + path, data=data, method=method,
                                     headers=headers or {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


# ----------------------------------------------------------------- requests


def csv_train(name, csv_text, target="y", column_types=None, **options):
    data = ms.Dataset(csv=csv_text.encode() if isinstance(csv_text, str) else csv_text)
    for column, t in (column_types or {}).items():
        data.column_types[column] = t
    return ms.TrainRequest(name=name, data=data, options=ms.TrainOptions(target=target, **options))


def iris_train(name="scratch", **options):
    options.setdefault("target", "species")
    return ms.TrainRequest(name=name, data=ms.Dataset(csv=read_text("iris.csv").encode()),
                           options=ms.TrainOptions(**options))


def rows_message(columns, rows):
    out = ms.InlineRows(columns=columns)
    for row in rows:
        r = out.rows.add()
        for v in row:
            if v is None:
                r.values.add()
            elif isinstance(v, str):
                r.values.add(text=v)
            else:
                r.values.add(number=v)
    return out


def iris_rows(n=1, **override):
    """n rows of the four iris features; override replaces columns by name
    (value None drops the column)."""
    values = dict(zip(IRIS_COLUMNS, [5.1, 3.5, 1.4, 0.2]))
    values.update(override)
    columns = [c for c, v in values.items() if v is not None]
    return rows_message(columns, [[values[c] for c in columns]] * n)


def infer_request(inputs, raw=None, model="iris", version="", outputs=()):
    req = oip.ModelInferRequest(model_name=model, model_version=version)
    for name, datatype, shape, field, values in inputs:
        t = req.inputs.add(name=name, datatype=datatype, shape=shape)
        if field is not None:
            getattr(t.contents, field).extend(values)
    for r in raw or ():
        req.raw_input_contents.append(r)
    for o in outputs:
        req.outputs.add(name=o)
    return req


def iris_tensors(n=1, drop=(), **override):
    """Per-column FP64 tensors of n iris rows: (name, datatype, shape, field,
    values) tuples for infer_request."""
    tensors = {c: (c, "FP64", [n], "fp64_contents", [v] * n)
               for c, v in zip(IRIS_COLUMNS, [5.1, 3.5, 1.4, 0.2])}
    tensors.update(override)
    return [t for c, t in tensors.items() if c not in drop]


def rest_body(inputs):
    return json.dumps({"inputs": inputs})


def rest_iris_inputs(n=1, **override):
    inputs = {c: {"name": c, "datatype": "FP64", "shape": [n], "data": [v] * n}
              for c, v in zip(IRIS_COLUMNS, [5.1, 3.5, 1.4, 0.2])}
    inputs.update(override)
    return [v for v in inputs.values() if v is not None]


def wide_header(columns):
    return ",".join(f"c{i}" for i in range(columns))


def write_data(client, name, content):
    """Writes a file into the server's --data-dir; returns its relative path."""
    path = os.path.join(client.data_dir, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content.encode() if isinstance(content, str) else content)
    return name


def train_from_path(client, relative, target="y"):
    return client.train(ms.TrainRequest(name="scratch", data=ms.Dataset(path=relative),
                                        options=ms.TrainOptions(target=target)))[0]


def train_from_upload(client, chunks, target="y"):
    status, upload_id = client.upload(chunks)
    if status[0] != "OK":
        return status
    return client.train(ms.TrainRequest(name="scratch", data=ms.Dataset(upload_id=upload_id),
                                        options=ms.TrainOptions(target=target)))[0]


# ----------------------------------------------------------------- the catalogue

Case = collections.namedtuple("Case", "category name call code contains")


def train_case(request):
    return lambda c: c.train(request)[0]


def predict_case(**fields):
    return lambda c: grpc_call(c.models.Predict, ms.PredictRequest(**fields))


def infer_case(*args, **kwargs):
    return lambda c: grpc_call(c.infer.ModelInfer, infer_request(*args, **kwargs))


def rest_case(method, path, body=None):
    return lambda c: c.rest(method, path, body)


def max_epochs_case(request):
    """Trains; the message is "max_epochs=N" from the first epoch event."""
    def call(c):
        max_epochs = None
        try:
            for event in c.models.Train(request, timeout=60):
                if event.HasField("epoch") and max_epochs is None:
                    max_epochs = event.epoch.max_epochs
            return "OK", f"max_epochs={max_epochs}"
        except grpc.RpcError as e:
            return e.code().name, e.details() or ""
    return call


CSV = "csv"
TRAIN = "train"
PREDICT = "predict"
OIP = "oip"
REST = "rest"
NAMES = "names"

random.seed(8)
GARBAGE = bytes(random.getrandbits(8) for _ in range(4096))

def catalogue():
    """Every case (built after the stubs are generated)."""
    return [
        # ------------------------------------------------------------- CSV
        Case(CSV, "ragged_row_short", train_case(csv_train("scratch", "a,b,y\n1,2,3\n4,5\n")),
             "INVALID_ARGUMENT", ["line 3"]),
        Case(CSV, "ragged_row_long", train_case(csv_train("scratch", "a,b,y\n1,2,3\n4,5,6,7\n")),
             "INVALID_ARGUMENT", ["line 3"]),
        Case(CSV, "unterminated_quote",
             train_case(csv_train("scratch", 'a,b,y\n1,2,3\n"4,5,6\n7,8,9\n')),
             "INVALID_ARGUMENT", ["line 3", "quote"]),
        Case(CSV, "text_after_closing_quote",
             train_case(csv_train("scratch", 'a,b,y\n1,2,3\n"4"x,5,6\n')),
             "INVALID_ARGUMENT", ["line 3"]),
        Case(CSV, "binary_garbage", train_case(csv_train("scratch", GARBAGE)),
             "INVALID_ARGUMENT", ["line 1"]),
        Case(CSV, "nul_byte_in_field",
             train_case(csv_train("scratch", "a,b,y\n1,2,3\n4,\x005,6\n")),
             "INVALID_ARGUMENT", ["line 3", "NUL"]),
        Case(CSV, "invalid_utf8_header", train_case(csv_train("scratch", b"a,\xff\xfe,y\n1,2,3\n")),
             "INVALID_ARGUMENT", ["UTF-8"]),
        Case(CSV, "empty_inline_csv", train_case(csv_train("scratch", "")),
             "INVALID_ARGUMENT", ["data.csv is empty"]),
        Case(CSV, "empty_file", lambda c: train_from_path(c, write_data(c, "empty.csv", "")),
             "INVALID_ARGUMENT", ["header"]),
        Case(CSV, "blank_lines_only", train_case(csv_train("scratch", "\n\n\r\n")),
             "INVALID_ARGUMENT", ["header"]),
        Case(CSV, "header_only", train_case(csv_train("scratch", "a,b,y\n")),
             "INVALID_ARGUMENT", ["no rows"]),
        Case(CSV, "duplicate_column_names", train_case(csv_train("scratch", "a,b,a,y\n1,2,3,4\n")),
             "INVALID_ARGUMENT", ["duplicate", "'a'"]),
        Case(CSV, "empty_column_name", train_case(csv_train("scratch", "a,,y\n1,2,3\n")),
             "INVALID_ARGUMENT", ["column 2"]),
        Case(CSV, "infinity_in_numeric_column",
             train_case(csv_train("scratch", "a,b,y\n1,2,3\n2,inf,4\n3,4,5\n",
                                  column_types={"b": ms.COLUMN_TYPE_NUMERIC})),
             "INVALID_ARGUMENT", ["line 3", "'b'"]),
        Case(CSV, "nan_target_only", train_case(csv_train("scratch", "a,y\n1,NaN\n2,NaN\n3,NaN\n")),
             "INVALID_ARGUMENT", ["y"]),
        Case(CSV, "number_that_overflows",
             train_case(csv_train("scratch", "a,b,y\n1,2,3\n2,1e999,4\n3,4,5\n",
                                  column_types={"b": ms.COLUMN_TYPE_NUMERIC})),
             "INVALID_ARGUMENT", ["line 3", "'b'"]),
        Case(CSV, "text_in_forced_numeric_column",
             train_case(csv_train("scratch", "a,b,y\n1,2,3\n2,wide,4\n",
                                  column_types={"b": ms.COLUMN_TYPE_NUMERIC})),
             "INVALID_ARGUMENT", ["line 3", "'b'", "wide"]),
        Case(CSV, "bad_date_in_forced_date_column",
             train_case(csv_train("scratch", "a,d,y\n1,2024-01-01,3\n2,2024-13-45,4\n",
                                  column_types={"d": ms.COLUMN_TYPE_DATE})),
             "INVALID_ARGUMENT", ["line 3", "'d'"]),
        Case(CSV, "bare_carriage_return", train_case(csv_train("scratch", "a,b,y\n1,2\r3,4\n")),
             "INVALID_ARGUMENT", ["line 2"]),
        Case(CSV, "field_over_1MiB",
             lambda c: train_from_path(c, write_data(c, "big-field.csv",
                                                     "a,y\n" + "x" * ((1 << 20) + 1) + ",1\n")),
             "RESOURCE_EXHAUSTED", ["field"]),
        Case(CSV, "million_columns_inline",
             train_case(csv_train("scratch", wide_header(1_000_000) + "\n" + "1," * 10 + "\n",
                                  target="c0")),
             "RESOURCE_EXHAUSTED", ["columns", "100"]),
        Case(CSV, "million_columns_file",
             lambda c: train_from_path(c, write_data(c, "wide.csv",
                                                     wide_header(1_000_000) + "\n"), target="c0"),
             "RESOURCE_EXHAUSTED", ["columns", "100"]),
        Case(CSV, "rows_over_max_rows",
             train_case(csv_train("scratch", "a,y\n" + "".join(f"{i},{i % 7}\n"
                                                                 for i in range(2001)))),
             "RESOURCE_EXHAUSTED", ["rows", "2000"]),
        Case(CSV, "categorical_levels_over_max",
             train_case(csv_train("scratch", "a,y\n" + "".join(f"level{i},{i}\n"
                                                                 for i in range(51)))),
             "RESOURCE_EXHAUSTED", ["'a'", "50"]),
        Case(CSV, "upload_over_max_upload_bytes",
             lambda c: c.upload([b"a,y\n" + b"1,2\n" * (MAX_UPLOAD_BYTES // 4 + 1)])[0],
             "RESOURCE_EXHAUSTED", ["--max-upload-bytes"]),
        Case(CSV, "uploaded_ragged_rows",
             lambda c: train_from_upload(c, [b"a,b,y\n1,2,3\n", b"4,5\n"]),
             "INVALID_ARGUMENT", ["line 3"]),
        Case(CSV, "malformed_upload_id",
             lambda c: c.train(ms.TrainRequest(name="scratch", data=ms.Dataset(upload_id="up-nope"),
                                               options=ms.TrainOptions(target="y")))[0],
             "INVALID_ARGUMENT", ["up-nope"]),
        Case(CSV, "unknown_upload_id",
             lambda c: c.train(ms.TrainRequest(name="scratch",
                                               data=ms.Dataset(upload_id="0" * 32),
                                               options=ms.TrainOptions(target="y")))[0],
             "NOT_FOUND", ["0" * 32]),
        Case(CSV, "path_traversal",
             lambda c: train_from_path(c, "../../etc/passwd"),
             "INVALID_ARGUMENT", ["'..'"]),
        Case(CSV, "absolute_path", lambda c: train_from_path(c, "/etc/passwd"),
             "INVALID_ARGUMENT", ["absolute"]),
        Case(CSV, "symlink_out_of_data_dir",
             lambda c: (os.path.lexists(os.path.join(c.data_dir, "escape.csv"))
                        or os.symlink("/etc/passwd", os.path.join(c.data_dir, "escape.csv")),
                        train_from_path(c, "escape.csv"))[1],
             "PERMISSION_DENIED", ["outside"]),
        Case(CSV, "missing_file", lambda c: train_from_path(c, "nope.csv"),
             "NOT_FOUND", ["nope.csv"]),
        Case(CSV, "directory_as_file",
             lambda c: (os.makedirs(os.path.join(c.data_dir, "dir.csv"), exist_ok=True),
                        train_from_path(c, "dir.csv"))[1],
             "INVALID_ARGUMENT", ["not a regular file"]),
        Case(CSV, "no_data_source",
             lambda c: c.train(ms.TrainRequest(name="scratch",
                                               options=ms.TrainOptions(target="y")))[0],
             "INVALID_ARGUMENT", ["data"]),
        Case(CSV, "unknown_column_type_enum",
             train_case(csv_train("scratch", "a,y\n1,2\n", column_types={"a": 77})),
             "INVALID_ARGUMENT", ["'a'"]),

        Case(CSV, "inline_rows_ragged",
             lambda c: c.train(ms.TrainRequest(name="scratch", data=ms.Dataset(
                 rows=rows_message(["a", "y"], [[1.0, 2.0], [3.0]])),
                 options=ms.TrainOptions(target="y")))[0],
             "INVALID_ARGUMENT", ["row 1"]),
        Case(CSV, "inline_rows_duplicate_column",
             lambda c: c.train(ms.TrainRequest(name="scratch", data=ms.Dataset(
                 rows=rows_message(["a", "a", "y"], [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]])),
                 options=ms.TrainOptions(target="y")))[0],
             "INVALID_ARGUMENT", ["'a'"]),
        Case(CSV, "inline_rows_without_columns",
             lambda c: c.train(ms.TrainRequest(name="scratch", data=ms.Dataset(
                 rows=ms.InlineRows(rows=[ms.Row()])), options=ms.TrainOptions(target="y")))[0],
             "INVALID_ARGUMENT", ["no columns"]),
        Case(CSV, "empty_upload", lambda c: train_from_upload(c, []),
             "INVALID_ARGUMENT", ["upload is empty"]),
        Case(CSV, "target_forced_to_date",
             train_case(csv_train("scratch", "a,y\n1,2\n2,3\n3,4\n",
                                  column_types={"y": ms.COLUMN_TYPE_DATE})),
             "INVALID_ARGUMENT", ["'y'"]),

        # ------------------------------------------------------------- Train options
        Case(TRAIN, "negative_learning_rate", train_case(iris_train(learning_rate=-0.1)),
             "INVALID_ARGUMENT", ["learning_rate"]),
        Case(TRAIN, "nan_learning_rate", train_case(iris_train(learning_rate=math.nan)),
             "INVALID_ARGUMENT", ["learning_rate"]),
        # Zero is "unset" in proto3: the documented default (200 for SGD).
        Case(TRAIN, "zero_epochs_means_default",
             max_epochs_case(iris_train(optimizer=ms.OPTIMIZER_SGD, epochs=0)),
             "OK", ["max_epochs=200"]),
        Case(TRAIN, "negative_epochs", train_case(iris_train(epochs=-3)),
             "INVALID_ARGUMENT", ["epochs"]),
        Case(TRAIN, "epochs_over_max", train_case(iris_train(epochs=1001)),
             "INVALID_ARGUMENT", ["epochs", "1000"]),
        Case(TRAIN, "epochs_int32_max", train_case(iris_train(epochs=2**31 - 1)),
             "INVALID_ARGUMENT", ["epochs"]),
        Case(TRAIN, "hidden_units_over_max",
             train_case(iris_train(model=ms.MODEL_TYPE_MLP, hidden_layers=[65])),
             "INVALID_ARGUMENT", ["hidden", "64"]),
        Case(TRAIN, "absurd_hidden_layer",
             train_case(iris_train(model=ms.MODEL_TYPE_MLP, hidden_layers=[2**31 - 1, 2**31 - 1])),
             "INVALID_ARGUMENT", ["hidden"]),
        Case(TRAIN, "zero_hidden_units",
             train_case(iris_train(model=ms.MODEL_TYPE_MLP, hidden_layers=[0])),
             "INVALID_ARGUMENT", ["hidden"]),
        Case(TRAIN, "negative_batch_size", train_case(iris_train(batch_size=-1)),
             "INVALID_ARGUMENT", ["batch_size"]),
        Case(TRAIN, "validation_split_over_one", train_case(iris_train(validation_split=1.5)),
             "INVALID_ARGUMENT", ["validation_split"]),
        Case(TRAIN, "negative_l2", train_case(iris_train(l2=-1)),
             "INVALID_ARGUMENT", ["l2"]),
        Case(TRAIN, "unknown_model_kind", train_case(iris_train(model=42)),
             "INVALID_ARGUMENT", ["model"]),
        Case(TRAIN, "unknown_optimizer", train_case(iris_train(optimizer=42)),
             "INVALID_ARGUMENT", ["optimizer"]),
        Case(TRAIN, "unknown_activation",
             train_case(iris_train(model=ms.MODEL_TYPE_MLP, activation=42)),
             "INVALID_ARGUMENT", ["activation"]),
        Case(TRAIN, "linear_model_for_classes", train_case(iris_train(model=ms.MODEL_TYPE_LINEAR)),
             "INVALID_ARGUMENT", ["linear"]),
        Case(TRAIN, "exact_optimizer_for_mlp",
             train_case(iris_train(model=ms.MODEL_TYPE_MLP, optimizer=ms.OPTIMIZER_EXACT)),
             "INVALID_ARGUMENT", ["exact"]),
        Case(TRAIN, "unknown_scaling",
             train_case(iris_train(preprocessing=ms.Preprocessing(scaling="cube"))),
             "INVALID_ARGUMENT", ["cube"]),
        Case(TRAIN, "target_empty", train_case(iris_train(target="")),
             "INVALID_ARGUMENT", ["target"]),
        Case(TRAIN, "target_missing", train_case(iris_train(target="price")),
             "INVALID_ARGUMENT", ["price"]),
        Case(TRAIN, "constant_class_target",
             train_case(csv_train("scratch", "a,y\n1,x\n2,x\n3,x\n4,x\n")),
             "INVALID_ARGUMENT", ["y"]),
        Case(TRAIN, "constant_numeric_target_classification",
             train_case(csv_train("scratch", "a,y\n1,5\n2,5\n3,5\n4,5\n",
                                  task=ms.TASK_CLASSIFICATION)),
             "INVALID_ARGUMENT", ["y"]),
        Case(TRAIN, "unknown_feature",
             train_case(iris_train(features=["sepal_length_cm", "colour"])),
             "INVALID_ARGUMENT", ["colour"]),
        Case(TRAIN, "target_among_features",
             train_case(iris_train(features=["sepal_length_cm", "species"])),
             "INVALID_ARGUMENT", ["species"]),

        Case(TRAIN, "negative_l1", train_case(iris_train(l1=-0.5)),
             "INVALID_ARGUMENT", ["l1"]),
        Case(TRAIN, "infinite_learning_rate", train_case(iris_train(learning_rate=math.inf)),
             "INVALID_ARGUMENT", ["learning_rate"]),
        Case(TRAIN, "momentum_over_one",
             train_case(iris_train(optimizer=ms.OPTIMIZER_SGD, momentum=1.5)),
             "INVALID_ARGUMENT", ["momentum"]),
        Case(TRAIN, "negative_validation_split", train_case(iris_train(validation_split=-0.1)),
             "INVALID_ARGUMENT", ["validation_split"]),
        Case(TRAIN, "negative_patience", train_case(iris_train(early_stopping_patience=-1)),
             "INVALID_ARGUMENT", ["early_stopping_patience"]),
        Case(TRAIN, "absurd_batch_size",
             train_case(iris_train(optimizer=ms.OPTIMIZER_SGD, batch_size=2**31 - 1)),
             "INVALID_ARGUMENT", ["batch_size"]),
        Case(TRAIN, "hidden_layers_over_max",
             train_case(iris_train(model=ms.MODEL_TYPE_MLP, hidden_layers=[2] * 5)),
             "INVALID_ARGUMENT", ["hidden", "4"]),
        Case(TRAIN, "thousand_hidden_layers",
             train_case(iris_train(model=ms.MODEL_TYPE_MLP, hidden_layers=[1] * 1000)),
             "INVALID_ARGUMENT", ["hidden", "1000"]),
        Case(TRAIN, "unknown_task", train_case(iris_train(task=42)),
             "INVALID_ARGUMENT", ["task"]),
        Case(TRAIN, "negative_max_levels",
             train_case(iris_train(preprocessing=ms.Preprocessing(max_levels=-1))),
             "INVALID_ARGUMENT", ["max_levels"]),
        Case(TRAIN, "unknown_impute",
             train_case(iris_train(preprocessing=ms.Preprocessing(numeric_impute="magic"))),
             "INVALID_ARGUMENT", ["magic"]),
        Case(TRAIN, "empty_feature_name", train_case(iris_train(features=[""])),
             "INVALID_ARGUMENT", ["features[0]"]),
        Case(TRAIN, "feature_listed_twice",
             train_case(iris_train(features=["sepal_length_cm", "sepal_length_cm"])),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),
        Case(TRAIN, "constant_numeric_target",
             train_case(csv_train("scratch", "a,y\n1,5\n2,5\n3,5\n4,5\n")),
             "INVALID_ARGUMENT", ["'y' is constant"]),
        Case(TRAIN, "only_the_target_column",
             train_case(csv_train("scratch", "y\n1\n2\n3\n")),
             "INVALID_ARGUMENT", ["besides the target"]),
        Case(TRAIN, "evaluate_unseen_class",
             lambda c: grpc_call(c.models.Evaluate, ms.EvaluateRequest(name="iris", data=ms.Dataset(
                 csv=(",".join(IRIS_COLUMNS) + ",species\n5.1,3.5,1.4,0.2,unicorn\n").encode()))),
             "INVALID_ARGUMENT", ["unicorn"]),
        Case(TRAIN, "evaluate_ragged_csv",
             lambda c: grpc_call(c.models.Evaluate, ms.EvaluateRequest(name="iris", data=ms.Dataset(
                 csv=(",".join(IRIS_COLUMNS) + ",species\n5.1,3.5\n").encode()))),
             "INVALID_ARGUMENT", ["line 2"]),

        # ------------------------------------------------------------- names
        Case(NAMES, "empty_model_name", train_case(iris_train(name="")),
             "INVALID_ARGUMENT", ["name"]),
        Case(NAMES, "path_traversal_name", train_case(iris_train(name="../escape")),
             "INVALID_ARGUMENT", ["name"]),
        Case(NAMES, "dot_name", train_case(iris_train(name=".hidden")),
             "INVALID_ARGUMENT", ["name"]),
        Case(NAMES, "name_of_129_chars", train_case(iris_train(name="a" * 129)),
             "INVALID_ARGUMENT", ["name"]),
        Case(NAMES, "slash_in_predict_name", predict_case(name="iris/1", rows=iris_rows()),
             "INVALID_ARGUMENT", ["name"]),
        Case(NAMES, "nul_in_get_model_name",
             lambda c: grpc_call(c.models.GetModel, ms.GetModelRequest(name="iris\x00x")),
             "INVALID_ARGUMENT", ["name"]),
        Case(NAMES, "unknown_model_predict", predict_case(name="nope", rows=iris_rows()),
             "NOT_FOUND", ["nope"]),
        Case(NAMES, "unknown_version_predict",
             predict_case(name="iris", version=99, rows=iris_rows()),
             "NOT_FOUND", ["99"]),
        Case(NAMES, "negative_version_delete",
             lambda c: grpc_call(c.models.DeleteModel,
                                 ms.DeleteModelRequest(name="iris", version=-1)),
             "INVALID_ARGUMENT", ["version"]),
        Case(NAMES, "delete_unknown_version",
             lambda c: grpc_call(c.models.DeleteModel,
                                 ms.DeleteModelRequest(name="iris", version=77)),
             "NOT_FOUND", ["77"]),
        Case(NAMES, "label_starting_with_digit",
             lambda c: grpc_call(c.models.SetLabel,
                                 ms.SetLabelRequest(name="iris", label="1st", version=1)),
             "INVALID_ARGUMENT", ["1st"]),
        Case(NAMES, "label_on_missing_version",
             lambda c: grpc_call(c.models.SetLabel,
                                 ms.SetLabelRequest(name="iris", label="stable", version=42)),
             "NOT_FOUND", ["42"]),
        Case(NAMES, "unknown_label_predict",
             predict_case(name="iris", version_label="canary", rows=iris_rows()),
             "NOT_FOUND", ["canary"]),
        Case(NAMES, "version_and_label_predict",
             predict_case(name="iris", version=1, version_label="canary", rows=iris_rows()),
             "INVALID_ARGUMENT", ["version_label"]),

        Case(NAMES, "unicode_name", train_case(iris_train(name="mod\u00e8le")),
             "INVALID_ARGUMENT", ["name"]),
        Case(NAMES, "get_unknown_model",
             lambda c: grpc_call(c.models.GetModel, ms.GetModelRequest(name="nope")),
             "NOT_FOUND", ["nope"]),
        Case(NAMES, "delete_empty_name",
             lambda c: grpc_call(c.models.DeleteModel, ms.DeleteModelRequest(name="")),
             "INVALID_ARGUMENT", ["name"]),
        Case(NAMES, "remove_unknown_label",
             lambda c: grpc_call(c.models.RemoveLabel, ms.RemoveLabelRequest(name="iris",
                                                                             label="ghost")),
             "NOT_FOUND", ["ghost"]),
        Case(NAMES, "label_version_zero",
             lambda c: grpc_call(c.models.SetLabel,
                                 ms.SetLabelRequest(name="iris", label="zero", version=0)),
             "INVALID_ARGUMENT", ["version"]),
        Case(NAMES, "delete_labelled_version",
             lambda c: grpc_call(c.models.DeleteModel, ms.DeleteModelRequest(name="iris",
                                                                             version=1)),
             "FAILED_PRECONDITION", ["stable"]),
        Case(NAMES, "unknown_job",
             lambda c: grpc_call(c.models.GetJob, ms.GetJobRequest(job_id="job-999999")),
             "NOT_FOUND", ["job-999999"]),
        Case(NAMES, "cancel_empty_job_id",
             lambda c: grpc_call(c.models.CancelJob, ms.CancelJobRequest(job_id="")),
             "INVALID_ARGUMENT", ["job_id"]),

        # ------------------------------------------------------------- Predict
        Case(PREDICT, "missing_column",
             predict_case(name="iris", rows=iris_rows(petal_width_cm=None)),
             "INVALID_ARGUMENT", ["petal_width_cm"]),
        Case(PREDICT, "text_in_numeric_column",
             predict_case(name="iris", rows=iris_rows(sepal_width_cm="wide")),
             "INVALID_ARGUMENT", ["sepal_width_cm", "wide"]),
        Case(PREDICT, "infinity_in_numeric_column",
             predict_case(name="iris", rows=iris_rows(sepal_width_cm=math.inf)),
             "INVALID_ARGUMENT", ["sepal_width_cm"]),
        Case(PREDICT, "duplicate_column",
             predict_case(name="iris", rows=rows_message(IRIS_COLUMNS + ["sepal_length_cm"],
                                                         [[5.1, 3.5, 1.4, 0.2, 5.0]])),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),
        Case(PREDICT, "empty_row",
             predict_case(name="iris", rows=rows_message(IRIS_COLUMNS, [[5.1, 3.5, 1.4, 0.2], []])),
             "INVALID_ARGUMENT", ["row 1"]),
        Case(PREDICT, "row_longer_than_columns",
             predict_case(name="iris",
                          rows=rows_message(IRIS_COLUMNS, [[5.1, 3.5, 1.4, 0.2, 9.9]])),
             "INVALID_ARGUMENT", ["row 0"]),
        Case(PREDICT, "zero_rows", predict_case(name="iris", rows=rows_message(IRIS_COLUMNS, [])),
             "INVALID_ARGUMENT", ["no rows"]),
        Case(PREDICT, "no_input", predict_case(name="iris"),
             "INVALID_ARGUMENT", ["input"]),
        Case(PREDICT, "csv_header_only",
             predict_case(name="iris", csv=(",".join(IRIS_COLUMNS) + "\n").encode()),
             "INVALID_ARGUMENT", ["no rows"]),
        Case(PREDICT, "csv_garbage", predict_case(name="iris", csv=GARBAGE),
             "INVALID_ARGUMENT", ["line 1"]),
        Case(PREDICT, "columns_of_unequal_length",
             predict_case(name="iris", columns=ms.ColumnarRows(columns=[
                 ms.ColumnarRows.Column(name=c, numbers=[1.0] * (2 if i else 3))
                 for i, c in enumerate(IRIS_COLUMNS)])),
             "INVALID_ARGUMENT", ["sepal_width_cm"]),
        Case(PREDICT, "column_with_numbers_and_texts",
             predict_case(name="iris", columns=ms.ColumnarRows(columns=[
                 ms.ColumnarRows.Column(name=c, numbers=[1.0], texts=["1"] if i == 0 else [])
                 for i, c in enumerate(IRIS_COLUMNS)])),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),
        Case(PREDICT, "batch_over_max_predict_rows",
             predict_case(name="iris", rows=iris_rows(1001)),
             "RESOURCE_EXHAUSTED", ["1001", "1000"]),
        Case(PREDICT, "columnar_batch_over_max_predict_rows",
             predict_case(name="iris", columns=ms.ColumnarRows(columns=[
                 ms.ColumnarRows.Column(name=c, numbers=[1.0] * 1001) for c in IRIS_COLUMNS])),
             "RESOURCE_EXHAUSTED", ["1001", "1000"]),
        Case(PREDICT, "columns_over_max_columns",
             predict_case(name="iris",
                          rows=rows_message(IRIS_COLUMNS + [f"x{i}" for i in range(97)],
                                            [[1.0] * 101])),
             "RESOURCE_EXHAUSTED", ["101", "100"]),
        Case(PREDICT, "message_over_max_message_bytes",
             predict_case(name="iris", csv=b"x" * (MAX_MESSAGE_BYTES + 1)),
             "RESOURCE_EXHAUSTED", ["larger than max"]),
        Case(PREDICT, "evaluate_without_target",
             lambda c: grpc_call(c.models.Evaluate, ms.EvaluateRequest(
                 name="iris", data=ms.Dataset(rows=iris_rows(3)))),
             "INVALID_ARGUMENT", ["species"]),

        Case(PREDICT, "csv_ragged_rows",
             predict_case(name="iris", csv=(",".join(IRIS_COLUMNS) + "\n1,2,3,4\n1,2\n").encode()),
             "INVALID_ARGUMENT", ["line 3"]),
        Case(PREDICT, "columnar_zero_rows",
             predict_case(name="iris", columns=ms.ColumnarRows(columns=[
                 ms.ColumnarRows.Column(name=c) for c in IRIS_COLUMNS])),
             "INVALID_ARGUMENT", ["no rows"]),
        Case(PREDICT, "columnar_texts_for_numeric",
             predict_case(name="iris", columns=ms.ColumnarRows(columns=[
                 ms.ColumnarRows.Column(name=c, texts=["wide"]) if i == 1 else
                 ms.ColumnarRows.Column(name=c, numbers=[1.0])
                 for i, c in enumerate(IRIS_COLUMNS)])),
             "INVALID_ARGUMENT", ["sepal_width_cm", "wide"]),
        Case(PREDICT, "columnar_infinity",
             predict_case(name="iris", columns=ms.ColumnarRows(columns=[
                 ms.ColumnarRows.Column(name=c, numbers=[-math.inf if i == 2 else 1.0])
                 for i, c in enumerate(IRIS_COLUMNS)])),
             "INVALID_ARGUMENT", ["petal_length_cm"]),
        Case(PREDICT, "csv_overflowing_number",
             predict_case(name="iris", csv=(",".join(IRIS_COLUMNS) + "\n1,2,1e999,4\n").encode()),
             "INVALID_ARGUMENT", ["petal_length_cm"]),
        Case(PREDICT, "negative_version", predict_case(name="iris", version=-2, rows=iris_rows()),
             "INVALID_ARGUMENT", ["version"]),

        # Documented (docs/api.md): columns the model does not take are ignored.
        Case(PREDICT, "extra_column_is_ignored",
             lambda c: (lambda r: ("OK", f"{r.version}:{r.predictions[0].label}"))(
                 c.models.Predict(ms.PredictRequest(name="iris", rows=iris_rows(colour="red")),
                                  timeout=TIMEOUT)),
             "OK", ["1:setosa"]),
        Case(PREDICT, "watch_unknown_job",
             lambda c: (lambda it: grpc_call(lambda r, timeout: list(it), None))(
                 c.models.WatchJob(ms.WatchJobRequest(job_id="job-424242"), timeout=TIMEOUT)),
             "NOT_FOUND", ["job-424242"]),
        Case(PREDICT, "model_metadata_unknown",
             lambda c: grpc_call(c.infer.ModelMetadata, oip.ModelMetadataRequest(name="nope")),
             "NOT_FOUND", ["nope"]),

        Case(PREDICT, "bad_date",
             predict_case(name="mixed", rows=rows_message(["x", "colour", "day"],
                                                          [[1.0, "red", "2024-02-30"]])),
             "INVALID_ARGUMENT", ["day", "2024-02-30"]),
        Case(PREDICT, "number_for_date",
             predict_case(name="mixed", rows=rows_message(["x", "colour", "day"],
                                                          [[1.0, "red", 20240101.0]])),
             "INVALID_ARGUMENT", ["day"]),
        # Documented (docs/preprocessing.md): an unseen level encodes as zeros.
        Case(PREDICT, "unseen_category",
             lambda c: (lambda r: ("OK", f"{len(r.predictions)}"))(
                 c.models.Predict(ms.PredictRequest(name="mixed", rows=rows_message(
                     ["x", "colour", "day"], [[1.0, "mauve", "2024-01-01"]])), timeout=TIMEOUT)),
             "OK", ["1"]),
        Case(PREDICT, "invalid_utf8_category",
             predict_case(name="mixed", csv=b"x,colour,day\n1,\xff\xfe,2024-01-01\n"),
             "INVALID_ARGUMENT", ["colour", "UTF-8"]),
        Case(OIP, "bad_date_tensor",
             infer_case([("x", "FP64", [1], "fp64_contents", [1.0]),
                         ("colour", "BYTES", [1], "bytes_contents", [b"red"]),
                         ("day", "BYTES", [1], "bytes_contents", [b"yesterday"])], model="mixed"),
             "INVALID_ARGUMENT", ["day", "yesterday"]),
        # Documented (docs/inference-protocol.md): numbers given for a
        # categorical column become their text.
        Case(OIP, "fp64_for_categorical",
             infer_case([("x", "FP64", [1], "fp64_contents", [1.0]),
                         ("colour", "FP64", [1], "fp64_contents", [2.0]),
                         ("day", "BYTES", [1], "bytes_contents", [b"2024-01-01"])], model="mixed"),
             "OK", []),

        # ------------------------------------------------------------- OIP (gRPC ModelInfer)
        Case(OIP, "shape_does_not_match_values",
             infer_case(iris_tensors(sepal_length_cm=("sepal_length_cm", "FP64", [2],
                                                      "fp64_contents", [5.1]))),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),
        Case(OIP, "unknown_datatype",
             infer_case(iris_tensors(sepal_length_cm=("sepal_length_cm", "FP128", [1],
                                                      "fp64_contents", [5.1]))),
             "INVALID_ARGUMENT", ["FP128"]),
        Case(OIP, "bytes_for_numeric_column",
             infer_case(iris_tensors(sepal_length_cm=("sepal_length_cm", "BYTES", [1],
                                                      "bytes_contents", [b"wide"]))),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),
        Case(OIP, "contents_in_wrong_field",
             infer_case(iris_tensors(sepal_length_cm=("sepal_length_cm", "FP64", [1],
                                                      "fp32_contents", [5.1]))),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),
        Case(OIP, "raw_byte_length_mismatch",
             infer_case([(c, "FP64", [1], None, None) for c in IRIS_COLUMNS],
                        raw=[struct.pack("<d", 1.0)] * 3 + [b"\x00" * 7]),
             "INVALID_ARGUMENT", ["petal_width_cm"]),
        Case(OIP, "raw_count_differs_from_inputs",
             infer_case([(c, "FP64", [1], None, None) for c in IRIS_COLUMNS],
                        raw=[struct.pack("<d", 1.0)] * 3),
             "INVALID_ARGUMENT", ["raw_input_contents"]),
        Case(OIP, "raw_bytes_truncated_length_prefix",
             infer_case([("features", "BYTES", [1, 4], None, None)],
                        raw=[struct.pack("<I", 100) + b"abc"]),
             "INVALID_ARGUMENT", ["features"]),
        Case(OIP, "negative_shape",
             infer_case(iris_tensors(sepal_length_cm=("sepal_length_cm", "FP64", [-1],
                                                      "fp64_contents", [5.1]))),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),
        Case(OIP, "shape_product_overflows",
             infer_case(iris_tensors(sepal_length_cm=("sepal_length_cm", "FP64", [2**62, 2**62],
                                                      "fp64_contents", [5.1]))),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),
        Case(OIP, "unknown_input_tensor",
             infer_case(iris_tensors() + [("colour", "FP64", [1], "fp64_contents", [1.0])]),
             "INVALID_ARGUMENT", ["colour"]),
        Case(OIP, "missing_input_tensor", infer_case(iris_tensors(drop=("petal_length_cm",))),
             "INVALID_ARGUMENT", ["petal_length_cm"]),
        Case(OIP, "features_matrix_wrong_width",
             infer_case([("features", "FP64", [1, 3], "fp64_contents", [1.0, 2.0, 3.0])]),
             "INVALID_ARGUMENT", ["features"]),
        Case(OIP, "unknown_requested_output", infer_case(iris_tensors(), outputs=["logits"]),
             "INVALID_ARGUMENT", ["logits"]),
        # A version that is not a number is a label (none is called so).
        Case(OIP, "unknown_version_label", infer_case(iris_tensors(), version="latest"),
             "NOT_FOUND", ["label 'latest'"]),
        Case(OIP, "unknown_model", infer_case(iris_tensors(), model="nope"),
             "NOT_FOUND", ["nope"]),
        Case(OIP, "batch_over_max_predict_rows", infer_case(iris_tensors(1001)),
             "RESOURCE_EXHAUSTED", ["1001", "1000"]),
        Case(OIP, "twenty_thousand_inputs",
             infer_case([(f"c{i}", "FP64", [1], "fp64_contents", [1.0]) for i in range(20_000)]),
             "RESOURCE_EXHAUSTED", ["20000 columns", "--max-columns=100"]),
        Case(OIP, "no_inputs", infer_case([]),
             "INVALID_ARGUMENT", ["input"]),

        Case(OIP, "negative_version", infer_case(iris_tensors(), version="-1"),
             "INVALID_ARGUMENT", ["-1"]),
        Case(OIP, "version_overflows_int64",
             infer_case(iris_tensors(), version="99999999999999999999"),
             "INVALID_ARGUMENT", ["99999999999999999999"]),
        Case(OIP, "infinity_value",
             infer_case(iris_tensors(sepal_length_cm=("sepal_length_cm", "FP64", [1],
                                                      "fp64_contents", [math.inf]))),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),
        Case(OIP, "duplicate_input_tensor",
             infer_case(iris_tensors() + [("sepal_length_cm", "FP64", [1], "fp64_contents",
                                           [5.0])]),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),
        Case(OIP, "contents_and_raw",
             infer_case(iris_tensors(), raw=[struct.pack("<d", 1.0)] * 4),
             "INVALID_ARGUMENT", ["raw_input_contents"]),
        Case(OIP, "scalar_shape",
             infer_case(iris_tensors(sepal_length_cm=("sepal_length_cm", "FP64", [],
                                                      "fp64_contents", [5.1]))),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),
        Case(OIP, "fp16_odd_raw_length",
             infer_case([(c, "FP16", [1], None, None) for c in IRIS_COLUMNS],
                        raw=[b"\x00\x3c"] * 3 + [b"\x00"]),
             "INVALID_ARGUMENT", ["petal_width_cm"]),
        Case(OIP, "batches_of_different_sizes",
             infer_case(iris_tensors(sepal_length_cm=("sepal_length_cm", "FP64", [2],
                                                      "fp64_contents", [5.1, 5.2]))),
             "INVALID_ARGUMENT", ["sepal_length_cm"]),

        # ------------------------------------------------------------- REST /v2
        Case(REST, "malformed_json", rest_case("POST", "/v2/models/iris/infer", '{"inputs": [')
             , 400, ["JSON"]),
        Case(REST, "inputs_not_an_array",
             rest_case("POST", "/v2/models/iris/infer", '{"inputs": {"a": 1}}'), 400, ["inputs"]),
        Case(REST, "data_count_mismatch",
             rest_case("POST", "/v2/models/iris/infer", rest_body(rest_iris_inputs(
                 petal_width_cm={"name": "petal_width_cm", "datatype": "FP64", "shape": [2],
                                 "data": [0.2]}))), 400, ["petal_width_cm", "needs 2"]),
        Case(REST, "string_for_fp64",
             rest_case("POST", "/v2/models/iris/infer", rest_body(rest_iris_inputs(
                 petal_width_cm={"name": "petal_width_cm", "datatype": "FP64", "shape": [1],
                                 "data": ["wide"]}))), 400, ["petal_width_cm", "string"]),
        Case(REST, "deep_nesting",
             rest_case("POST", "/v2/models/iris/infer",
                       '{"inputs": [{"name": "sepal_length_cm", "datatype": "FP64", "shape": [1], '
                       '"data": ' + "[" * 100000 + "]" * 100000 + "}]}"), 400, []),
        Case(REST, "unknown_model", rest_case("POST", "/v2/models/nope/infer",
                                              rest_body(rest_iris_inputs())), 404, ["nope"]),
        Case(REST, "body_over_max_message_bytes",
             rest_case("POST", "/v2/models/iris/infer", "x" * (MAX_MESSAGE_BYTES + 1)),
             413, ["--max-message-bytes"]),
        Case(REST, "wrong_method", rest_case("GET", "/v2/models/iris/infer"), 405, ["POST"]),
        Case(REST, "unknown_path", rest_case("GET", "/v2/nothing/here"), 404, ["/v2/nothing/here"]),
        Case(REST, "unknown_version_label_in_path",
             rest_case("GET", "/v2/models/iris/versions/x1"), 404, ["label 'x1'"]),
        Case(REST, "unknown_requested_output",
             rest_case("POST", "/v2/models/iris/infer", json.dumps(
                 {"inputs": rest_iris_inputs(), "outputs": [{"name": "logits"}]})),
             400, ["logits"]),
        Case(REST, "bytes_for_numeric",
             rest_case("POST", "/v2/models/iris/infer", rest_body(rest_iris_inputs(
                 petal_width_cm={"name": "petal_width_cm", "datatype": "BYTES", "shape": [1],
                                 "data": ["wide"]}))), 400, ["petal_width_cm", "wide"]),
        Case(REST, "shape_not_integers",
             rest_case("POST", "/v2/models/iris/infer", rest_body(rest_iris_inputs(
                 petal_width_cm={"name": "petal_width_cm", "datatype": "FP64", "shape": [1.5],
                                 "data": [0.2]}))), 400, ["petal_width_cm", "shape"]),
        # 10^5 tensors in a 6 MB body (under the message limit): refused by
        # the column limit at once, not after comparing names pairwise.
        Case(REST, "hundred_thousand_inputs",
             rest_case("POST", "/v2/models/iris/infer", json.dumps({"inputs": [
                 {"name": f"c{i}", "datatype": "FP64", "shape": [1], "data": [1.0]}
                 for i in range(100_000)]})),
             429, ["100000 columns", "--max-columns=100"]),
        Case(REST, "empty_body", rest_case("POST", "/v2/models/iris/infer", ""), 400, ["JSON"]),
        Case(REST, "empty_inputs", rest_case("POST", "/v2/models/iris/infer", '{"inputs": []}'),
             400, ["inputs"]),
        Case(REST, "missing_datatype",
             rest_case("POST", "/v2/models/iris/infer", rest_body(rest_iris_inputs(
                 petal_width_cm={"name": "petal_width_cm", "shape": [1], "data": [0.2]}))),
             400, ["petal_width_cm", "datatype"]),
        Case(REST, "batch_over_max_predict_rows",
             rest_case("POST", "/v2/models/iris/infer", rest_body(rest_iris_inputs(1001))),
             429, ["1001", "1000"]),
        Case(REST, "negative_version_in_path",
             rest_case("POST", "/v2/models/iris/versions/-1/infer", rest_body(rest_iris_inputs())),
             400, ["-1"]),
        Case(REST, "float_for_int64",
             rest_case("POST", "/v2/models/iris/infer", rest_body(rest_iris_inputs(
                 petal_width_cm={"name": "petal_width_cm", "datatype": "INT64", "shape": [1],
                                 "data": [0.5]}))), 400, ["petal_width_cm", "integers"]),
        # The protocol answers "not ready" with a 4xx status and no body.
        Case(REST, "model_ready_unknown", rest_case("GET", "/v2/models/nope/ready"), 400, []),
    ]


# ----------------------------------------------------------------- the test


def known_answers(client):
    """The good models' answers to fixed requests, and the served versions."""
    iris = client.models.Predict(ms.PredictRequest(name="iris", rows=iris_rows(1)),
                                 timeout=TIMEOUT)
    diabetes = client.models.Predict(ms.PredictRequest(name="diabetes", rows=rows_message(
        DIABETES_COLUMNS, [[59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]])),
        timeout=TIMEOUT)
    models = client.models.ListModels(ms.ListModelsRequest(), timeout=TIMEOUT)
    return {
        "iris": (iris.version, [p.label for p in iris.predictions],
                 [list(p.probabilities) for p in iris.predictions]),
        "diabetes": (diabetes.version, [p.value for p in diabetes.predictions]),
        "mixed": [p.value for p in client.models.Predict(ms.PredictRequest(
            name="mixed", rows=rows_message(["x", "colour", "day"], [[3.0, "red", "2024-04-04"]])),
            timeout=TIMEOUT).predictions],
        "models": sorted((m.name, m.latest_version, m.num_versions) for m in models.models),
    }


def supported_limit_flags():
    """The limit flags this modelserver build knows (from --help)."""
    text = subprocess.run([e2e.MODELSERVER, "--help"], capture_output=True, text=True).stdout
    return [f for f in LIMITS if f in text]


class CatalogueTest(unittest.TestCase):
    """One test method per case of catalogue() (add_case_methods)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="modelserver-catalogue-")
        data_dir = os.path.join(cls.tmp, "data")
        os.makedirs(data_dir)
        flags = ["--max-message-bytes", str(MAX_MESSAGE_BYTES),
                 "--max-upload-bytes", str(MAX_UPLOAD_BYTES), "--poll-interval", "0"]
        cls.missing_flags = [f for f in LIMITS if f not in supported_limit_flags()]
        for flag in LIMITS:
            if flag not in cls.missing_flags:
                flags += [flag, str(LIMITS[flag])]
        cls.server = e2e.Server(os.path.join(cls.tmp, "models"), data_dir, extra=flags)
        cls.server.data_dir = data_dir
        cls.client = Client(cls.server)
        for request in (iris_train("iris"),
                        ms.TrainRequest(name="mixed", data=ms.Dataset(csv=MIXED_CSV.encode()),
                                        options=ms.TrainOptions(target="y")),
                        ms.TrainRequest(name="diabetes",
                                        data=ms.Dataset(csv=read_text("diabetes.csv").encode()),
                                        options=ms.TrainOptions(target="progression"))):
            status, result = cls.client.train(request)
            if status[0] != "OK":
                raise AssertionError(f"training {request.name} failed: {status}")
        # A labelled version cannot be deleted alone (a case tries).
        cls.client.models.SetLabel(ms.SetLabelRequest(name="iris", label="stable", version=1),
                                   timeout=TIMEOUT)
        cls.answers = known_answers(cls.client)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        code = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if code != 0:
            raise AssertionError(f"modelserver exited with {code} on SIGTERM:\n"
                                 + "".join(cls.server.stderr_lines))

    def run_case(self, case):
        self.addCleanup(self.delete_scratch)
        start = time.monotonic()
        code, message = case.call(self.client)
        seconds = time.monotonic() - start
        if os.environ.get("CATALOGUE_VERBOSE"):
            print(f"\n{case.category}/{case.name}: {code} {seconds:.2f}s {message[:300]!r}",
                  file=sys.stderr)
        where = f"{case.category}/{case.name}: got {code} {message[:300]!r}"
        self.assertEqual(code, case.code, where)
        for piece in case.contains:
            self.assertIn(piece, message, where)
        self.assertLess(seconds, 10 * TIME_SCALE, where)
        # A case that trains (expected OK) leaves no model behind.
        if case.code == "OK":
            self.delete_scratch()
        # The server still answers, with the same answers.
        self.assertIsNone(self.server.proc.poll(), f"{where}: the server exited")
        check = self.client.health.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT)
        self.assertEqual(check.status, health_pb2.HealthCheckResponse.SERVING, where)
        self.assertEqual(known_answers(self.client), self.answers, where)
        # Nothing was published under the scratch name by a refused request.
        names = [m.name for m in self.client.models.ListModels(ms.ListModelsRequest(),
                                                               timeout=TIMEOUT).models]
        self.assertEqual(sorted(names), ["diabetes", "iris", "mixed"], where)


    def delete_scratch(self):
        """Removes a model that a wrongly accepted case trained, so that one
        failure does not fail every case after it."""
        try:
            self.client.models.DeleteModel(ms.DeleteModelRequest(name="scratch"),
                                           timeout=TIMEOUT)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                raise


def add_case_methods():
    seen = set()
    for case in catalogue():
        method = f"test_{case.category}_{case.name}"
        assert method not in seen, method
        seen.add(method)
        setattr(CatalogueTest, method, lambda self, case=case: self.run_case(case))


# ----------------------------------------------------------------- artifacts on disk


def crc32c(data):
    """CRC-32C (Castagnoli), as core/util/crc32c.h computes it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def with_crc(body):
    """`body` (an artifact without its trailer) with a valid checksum."""
    return body + struct.pack("<I", crc32c(body))


# The artifact layout (docs/artifact-format.md): 8 magic bytes, u32 format
# version, u64 payload length, the payload (sections: u32 tag, u64 length,
# bytes), u32 CRC-32C of everything before it.
HEADER = 20


def flip_bit(good, offset):
    out = bytearray(good)
    out[offset] ^= 0x10
    return bytes(out)


def bytes_writer(make):
    """A writer of model.msm holding make(good bytes)."""
    def write(path, good):
        with open(path, "wb") as f:
            f.write(make(good))
    return write


# name -> (version directory, writer(path of model.msm, good bytes), the
# load error the server logs: "CODE: <path>: ..." and a substring).
# Version numbers are fixed so that each case knows its own.
BROKEN = collections.OrderedDict([
    ("truncated_half", (2, bytes_writer(lambda g: g[:len(g) // 2]), "DATA_LOSS", "truncated")),
    ("truncated_to_10_bytes", (3, bytes_writer(lambda g: g[:10]), "DATA_LOSS",
                               "shorter than the smallest artifact")),
    ("empty_file", (4, bytes_writer(lambda g: b""), "DATA_LOSS",
                    "shorter than the smallest artifact")),
    ("bit_flipped_payload", (5, bytes_writer(lambda g: flip_bit(g, len(g) // 2)), "DATA_LOSS",
                             "checksum mismatch")),
    ("bit_flipped_checksum", (6, bytes_writer(lambda g: flip_bit(g, len(g) - 2)), "DATA_LOSS",
                              "checksum mismatch")),
    ("bad_magic", (7, bytes_writer(lambda g: b"PK\x03\x04" + g[4:]), "DATA_LOSS", "bad magic")),
    ("future_format_version",
     (8, bytes_writer(lambda g: with_crc(g[:8] + struct.pack("<I", 2) + g[12:-4])),
      "FAILED_PRECONDITION", "format version 2 is not supported")),
    ("trailing_bytes", (9, bytes_writer(lambda g: g + b"\n"), "DATA_LOSS", "trailing bytes")),
    # Checksum valid, contents not: the decoder itself must refuse them.
    ("huge_section_length",
     (10, bytes_writer(lambda g: with_crc(g[:HEADER + 4] + struct.pack("<Q", 2**63)
                                          + g[HEADER + 12:-4])), "DATA_LOSS", "section")),
    ("payload_scrambled_valid_checksum",
     (11, bytes_writer(lambda g: with_crc(g[:HEADER + 12]
                                          + bytes(b ^ 0x5A for b in g[HEADER + 12:-4]))),
      "DATA_LOSS", "metadata")),
    ("random_garbage", (12, bytes_writer(lambda g: bytes(random.Random(12).getrandbits(8)
                                                         for _ in range(len(g)))),
                        "DATA_LOSS", "bad magic")),
    # Not files at all: a FIFO would block open() (and the registry's
    # re-scan with it); a device is refused as such (/dev/null, so that a
    # regression fails the case instead of reading /dev/zero forever).
    ("fifo", (13, lambda path, good: os.mkfifo(path), "FAILED_PRECONDITION",
              "is not a regular file")),
    ("symlink_to_device", (14, lambda path, good: os.symlink("/dev/null", path),
                             "FAILED_PRECONDITION", "is not a regular file")),
    ("directory", (15, lambda path, good: os.mkdir(path), "FAILED_PRECONDITION",
                   "is not a regular file")),
])
# The labels file of 'art': one good line, two broken ones (each reported).
LABELS = "stable=1\n\x00\xff garbage\nbeta=notanumber\n"
BROKEN_LABEL_LINES = 2
ALL_BROKEN_VERSIONS = [v for v, _, _, _ in BROKEN.values()]


class ArtifactTest(unittest.TestCase):
    """Broken version directories next to a good version 1 of 'art': a
    polling server (it trained version 1, then finds the files on a re-scan)
    and a server started afterwards on the same directory (finds them at
    start-up) both log each broken version once, keep serving version 1 and
    answer NOT_FOUND for the broken ones."""

    POLL = 0.2

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="modelserver-artifacts-")
        cls.models = os.path.join(cls.tmp, "models")
        cls.servers = []
        polling = e2e.Server(cls.models, extra=["--poll-interval", str(cls.POLL)])
        cls.servers.append(polling)
        client = Client(polling)
        status, result = client.train(iris_train("art"))
        if status[0] != "OK" or result.version != 1:
            raise AssertionError(f"training art failed: {status}")
        cls.answer = cls.predict(client)
        client.close()
        with open(os.path.join(cls.models, "art", "1", "model.msm"), "rb") as f:
            good = f.read()
        # Each version directory is made aside and renamed into place, so
        # that the polling server never sees a file half-written by the test.
        staging = os.path.join(cls.tmp, "staging")
        for version, write, _, _ in BROKEN.values():
            os.makedirs(os.path.join(staging, str(version)))
            write(os.path.join(staging, str(version), "model.msm"), good)
            os.rename(os.path.join(staging, str(version)),
                      os.path.join(cls.models, "art", str(version)))
        with open(os.path.join(staging, "labels"), "w") as f:
            f.write(LABELS)
        os.rename(os.path.join(staging, "labels"), os.path.join(cls.models, "art", "labels"))
        cls.wait_for_reports(polling)
        restarted = e2e.Server(cls.models, extra=["--poll-interval", "0"])
        cls.servers.append(restarted)
        cls.wait_for_reports(restarted)
        cls.clients = [Client(s) for s in cls.servers]

    @classmethod
    def tearDownClass(cls):
        codes = []
        for client in getattr(cls, "clients", []):
            client.close()
        for server in cls.servers:
            codes.append(server.stop())
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if any(codes):
            raise AssertionError(f"exit statuses on SIGTERM: {codes}")

    @staticmethod
    def predict(client, version=0):
        r = client.models.Predict(ms.PredictRequest(name="art", version=version,
                                                    rows=iris_rows(2)), timeout=TIMEOUT)
        return r.version, [p.label for p in r.predictions], [list(p.probabilities)
                                                             for p in r.predictions]

    @staticmethod
    def skipped(server):
        """The 'cannot be loaded' warnings a server logged, parsed."""
        return [json.loads(line) for line in list(server.stderr_lines)
                if "skipped a model version that cannot be loaded" in line]

    @classmethod
    def wait_for_reports(cls, server, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(cls.skipped(server)) >= len(BROKEN) + BROKEN_LABEL_LINES:
                time.sleep(5 * cls.POLL)  # a few more polls: nothing is reported twice
                return
            time.sleep(0.05)

    def check_broken(self, case):
        version, _, load_code, logged = BROKEN[case]
        path = os.path.join(self.models, "art", str(version), "model.msm")
        for server, client, how in zip(self.servers, self.clients, ("polling", "restarted")):
            with self.subTest(server=how):
                # Logged once, as a warning naming the file and the problem.
                warnings = [w for w in self.skipped(server) if path in w["error"]]
                self.assertEqual(len(warnings), 1, [w["error"] for w in self.skipped(server)])
                self.assertEqual(warnings[0]["level"], "warning")
                self.assertTrue(warnings[0]["error"].startswith(f"{load_code}: "),
                                warnings[0]["error"])
                self.assertIn(logged, warnings[0]["error"])
                # Not served, on every protocol; the message says why.
                code, message = grpc_call(client.models.Predict, ms.PredictRequest(
                    name="art", version=version, rows=iris_rows()))
                self.assertEqual((code, f"version {version} is in the model directory but "
                                        "not served" in message), ("NOT_FOUND", True), message)
                code, message = grpc_call(client.infer.ModelInfer, infer_request(
                    iris_tensors(), model="art", version=str(version)))
                self.assertEqual(code, "NOT_FOUND", message)
                status, body = client.rest("POST", f"/v2/models/art/versions/{version}/infer",
                                           rest_body(rest_iris_inputs()))
                self.assertEqual(status, 404, body)
                # The good version is still served, with the same answer.
                self.assertEqual(self.predict(client), self.answer)
                self.assertEqual(self.predict(client, version=1), self.answer)
                check = client.health.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT)
                self.assertEqual(check.status, health_pb2.HealthCheckResponse.SERVING)

    def test_artifact_every_broken_version_is_stored_none_served(self):
        for server, client in zip(self.servers, self.clients):
            info = client.models.GetModel(ms.GetModelRequest(name="art"), timeout=TIMEOUT)
            self.assertEqual([v.version for v in info.versions], [1])
            self.assertEqual(list(info.stored_versions), [1] + ALL_BROKEN_VERSIONS)
            self.assertEqual(len(self.skipped(server)), len(BROKEN) + BROKEN_LABEL_LINES,
                             [w["error"] for w in self.skipped(server)])

    def test_artifact_labels_file_with_broken_lines(self):
        path = os.path.join(self.models, "art", "labels")
        for server, client in zip(self.servers, self.clients):
            errors = sorted(w["error"] for w in self.skipped(server) if path in w["error"])
            self.assertEqual(errors, [
                f"DATA_LOSS: {path}:2: expected label=version, got '\x00\xff garbage'",
                f"DATA_LOSS: {path}:3: expected label=version, got 'beta=notanumber'"])
            info = client.models.GetModel(ms.GetModelRequest(name="art"), timeout=TIMEOUT)
            self.assertEqual(dict(info.labels), {"stable": 1})
            r = client.models.Predict(ms.PredictRequest(name="art", version_label="stable",
                                                        rows=iris_rows(2)), timeout=TIMEOUT)
            self.assertEqual(r.version, 1)

    def test_artifact_training_still_publishes(self):
        # The polling server's re-scans (and Publish, which re-scans) are
        # not stuck on any of the files above.
        status, result = self.clients[0].train(iris_train("fresh"))
        self.assertEqual(status, ("OK", ""))
        self.assertEqual(result.version, 1)


def add_artifact_methods():
    for case in BROKEN:
        setattr(ArtifactTest, f"test_artifact_{case}",
                lambda self, case=case: self.check_broken(case))


if __name__ == "__main__":
    e2e.MODELSERVER = sys.argv[1]
    DATA = sys.argv[2]
    generate_stubs()
    add_case_methods()
    add_artifact_methods()
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
