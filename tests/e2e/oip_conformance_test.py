#!/usr/bin/python3
"""Open Inference Protocol (KServe V2) conformance, end to end: the real
modelserver binary driven by clients that know nothing of this project.

Usage: oip_conformance_test.py MODELSERVER MODELCTL MODELSERVER_LOCAL DATA_DIR
       [unittest arguments, e.g. -k Rest]

The gRPC client is generated at test time (protoc + grpc_python_plugin, into
a temporary directory) from the *upstream* KServe proto
(tests/e2e/upstream/grpc_predict_v2.proto), and from Debian's grpc-proto
copies of grpc/health/v1/health.proto and
grpc/reflection/v1alpha/reflection.proto. Areas, one class each:

  WireCompatibilityTest  our proto vs the upstream one, descriptor by descriptor
  KServeClientTest       the upstream-generated stub on iris, diabetes and mpg
                         trained through modelctl; outputs equal modelctl's
  InferErrorTest         exact gRPC codes, messages naming the tensor
  HealthTest             grpc.health.v1.Health, and the --drain-seconds window
  ReflectionTest         server reflection; calls built from it alone
  RestTest               the /v2 REST endpoints with urllib

Needs Debian's /usr/bin/python3 with python3-grpcio and python3-protobuf,
protoc (protobuf-compiler), grpc_python_plugin (protobuf-compiler-grpc) and
the grpc-proto package. Servers: the Server class of modelctl_e2e_test.py
(127.0.0.1:0, temporary model directory, SIGTERM -> exit status 0 asserted).
"""
import csv
import importlib
import json
import math
import os
import shutil
import signal
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
import modelctl_e2e_test as e2e  # noqa: E402  (Server, run_ctl; globals set in __main__)

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUR_PROTO_DIR = os.path.join(ROOT, "proto")
OUR_PROTO = "inference/open_inference_grpc.proto"
UPSTREAM_DIR = os.path.join(HERE, "upstream")
UPSTREAM_PROTO = "grpc_predict_v2.proto"
HEALTH_DIR = "/usr/share/grpc-proto/grpc/health/v1"
REFLECTION_DIR = "/usr/share/grpc-proto/grpc/reflection/v1alpha"
GRPC_PLUGIN = "/usr/bin/grpc_python_plugin"

# model name -> (CSV file, target, platform)
MODELS = {
    "iris": ("iris.csv", "species", "modelserver_logistic_regression"),
    "diabetes": ("diabetes.csv", "progression", "modelserver_linear_regression"),
    "mpg": ("mpg.csv", "class", "modelserver_logistic_regression"),
}
MPG_CATEGORICAL = ["manufacturer", "model", "trans", "drv", "fl"]

# ----------------------------------------------------------------- set-up

GEN = None  # temporary directory of the generated stubs
pb = pb_grpc = health_pb2 = health_grpc = refl_pb2 = refl_grpc = None


def protoc(*args):
    proc = subprocess.run(["protoc", *args], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"protoc {' '.join(args)} failed: {proc.stderr}")


def setUpModule():
    global GEN, pb, pb_grpc, health_pb2, health_grpc, refl_pb2, refl_grpc
    GEN = tempfile.mkdtemp(prefix="modelserver-oip-")
    # Each proto from its own directory, so that the modules are top-level
    # (grpc/health/v1/health_pb2 would collide with the grpc package).
    for include, name in ((UPSTREAM_DIR, UPSTREAM_PROTO), (HEALTH_DIR, "health.proto"),
                          (REFLECTION_DIR, "reflection.proto")):
        protoc(f"-I{include}", f"--python_out={GEN}", f"--grpc_out={GEN}",
               f"--plugin=protoc-gen-grpc={GRPC_PLUGIN}", os.path.join(include, name))
    sys.path.insert(0, GEN)
    pb = importlib.import_module("grpc_predict_v2_pb2")
    pb_grpc = importlib.import_module("grpc_predict_v2_pb2_grpc")
    health_pb2 = importlib.import_module("health_pb2")
    health_grpc = importlib.import_module("health_pb2_grpc")
    refl_pb2 = importlib.import_module("reflection_pb2")
    refl_grpc = importlib.import_module("reflection_pb2_grpc")


def tearDownModule():
    if GEN:
        shutil.rmtree(GEN, ignore_errors=True)


def descriptor_set(include, name):
    """The FileDescriptorSet protoc builds for `name` (with source imports)."""
    out = os.path.join(GEN, os.path.basename(name) + ".pb")
    protoc(f"-I{include}", "--include_imports", f"--descriptor_set_out={out}",
           os.path.join(include, name))
    with open(out, "rb") as f:
        return descriptor_pb2.FileDescriptorSet.FromString(f.read())


def message_class(pool, full_name):
    """A message class from a descriptor pool (protobuf 3.21 or later)."""
    desc = pool.FindMessageTypeByName(full_name)
    get = getattr(message_factory, "GetMessageClass", None)
    if get is not None:
        return get(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def pool_of(files):
    """A fresh descriptor pool holding FileDescriptorProtos `files`, added in
    dependency order (reflection sends them in any order)."""
    pool = descriptor_pool.DescriptorPool()
    pending = {f.name: f for f in files}
    added = set()
    while pending:
        ready = [f for f in pending.values() if all(d in added for d in f.dependency)]
        if not ready:
            raise AssertionError(f"unresolvable dependencies among {sorted(pending)}")
        for f in ready:
            pool.Add(f)
            added.add(f.name)
            del pending[f.name]
    return pool


# ----------------------------------------------------------------- data


class Dataset:
    """A CSV file of tests/data: header, rows, and the model's view of it."""

    def __init__(self, name):
        file, self.target, self.platform = MODELS[name]
        self.path = os.path.join(e2e.DATA, file)
        with open(self.path, newline="") as f:
            rows = list(csv.reader(f))
        self.header, self.rows = rows[0], rows[1:]
        self.inputs = [c for c in self.header if c != self.target]
        self.classes = sorted({r[self.header.index(self.target)] for r in self.rows})

    def texts(self, column):
        i = self.header.index(column)
        return [r[i] for r in self.rows]

    def numbers(self, column):
        return [float(v) if v not in ("", "NA") else math.nan for v in self.texts(column)]

    def matrix(self):
        """Row-major numbers of every input column (all-numeric sets)."""
        cols = [self.numbers(c) for c in self.inputs]
        return [cols[j][i] for i in range(len(self.rows)) for j in range(len(cols))]


def pack(datatype, values):
    """Little-endian raw contents of `values` for `datatype`."""
    if datatype == "BYTES":
        out = b""
        for v in values:
            b = v if isinstance(v, bytes) else v.encode()
            out += struct.pack("<I", len(b)) + b
        return out
    fmt = {"FP32": "f", "FP64": "d", "INT32": "i", "INT64": "q"}[datatype]
    return struct.pack(f"<{len(values)}{fmt}", *values)


def unpack(datatype, raw):
    if datatype == "BYTES":
        values, pos = [], 0
        while pos < len(raw):
            (n,) = struct.unpack_from("<I", raw, pos)
            values.append(raw[pos + 4:pos + 4 + n])
            pos += 4 + n
        return values
    fmt, size = {"FP64": ("d", 8), "INT64": ("q", 8), "FP32": ("f", 4)}[datatype]
    assert len(raw) % size == 0, (datatype, len(raw))
    return list(struct.unpack(f"<{len(raw) // size}{fmt}", raw))


def contents_values(datatype, contents):
    field = {"BYTES": "bytes_contents", "FP64": "fp64_contents", "INT64": "int64_contents",
             "FP32": "fp32_contents", "BOOL": "bool_contents",
             "INT32": "int_contents"}[datatype]
    return list(getattr(contents, field))


def decoded(response):
    """{output name: (datatype, shape, values)} from contents or, when the
    response has raw_output_contents, from those (one per output, in order)."""
    result = {}
    raw = list(response.raw_output_contents)
    for i, out in enumerate(response.outputs):
        if raw:
            values = unpack(out.datatype, raw[i])
        else:
            values = contents_values(out.datatype, out.contents)
        result[out.name] = (out.datatype, list(out.shape), values)
    return result


def input_tensor(name, datatype, shape, values=None):
    """An upstream InferInputTensor; `values` (if any) in its contents field."""
    t = pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype, shape=shape)
    if values is not None:
        if datatype == "BYTES":
            values = [v if isinstance(v, bytes) else v.encode() for v in values]
        field = {"BYTES": "bytes_contents", "FP64": "fp64_contents", "FP32": "fp32_contents",
                 "INT64": "int64_contents", "INT32": "int_contents"}[datatype]
        getattr(t.contents, field).extend(values)
    return t


def column_request(metadata, data, *, raw=False, two_d=False, **fields):
    """A ModelInferRequest built from ModelMetadata: one tensor per input
    column holding every row of `data` (FP64 numbers, BYTES texts)."""
    request = pb.ModelInferRequest(model_name=metadata.name, **fields)
    n = len(data.rows)
    for spec in metadata.inputs:
        values = (data.numbers(spec.name) if spec.datatype == "FP64"
                  else [v.encode() for v in data.texts(spec.name)])
        shape = [n, 1] if two_d else [n]
        if raw:
            request.inputs.append(input_tensor(spec.name, spec.datatype, shape))
            request.raw_input_contents.append(pack(spec.datatype, values))
        else:
            request.inputs.append(input_tensor(spec.name, spec.datatype, shape, values))
    return request


def features_request(name, data, datatype, *, raw=True, **fields):
    """The all-numeric form: one tensor "features" [batch, n]."""
    request = pb.ModelInferRequest(model_name=name, **fields)
    shape = [len(data.rows), len(data.inputs)]
    if raw:
        request.inputs.append(input_tensor("features", datatype, shape))
        request.raw_input_contents.append(pack(datatype, data.matrix()))
    else:
        request.inputs.append(input_tensor("features", datatype, shape, data.matrix()))
    return request


def expected_predictions(address, name, data):
    """modelctl predict --json on the whole CSV: labels or values per row."""
    result = e2e.ctl_json(address, "predict", "--name", name, "--data", data.path)
    return result["predictions"]


def rel_close(a, b, tol):
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


class TrainedServerCase(unittest.TestCase):
    """One server per class with iris, diabetes and mpg trained through
    modelctl, modelctl's predictions for every row, and the upstream stub."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="modelserver-oip-srv-")
        cls.server = e2e.Server(os.path.join(cls.work, "models"))
        cls.data, cls.expected = {}, {}
        for name in MODELS:
            data = Dataset(name)
            e2e.run_ctl(cls.server.address, "train", "--name", name, "--data", data.path,
                        "--target", data.target)
            cls.data[name] = data
            cls.expected[name] = expected_predictions(cls.server.address, name, data)
        cls.channel = grpc.insecure_channel(cls.server.address)
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.server.stop()
        shutil.rmtree(cls.work, ignore_errors=True)
        if code != 0:
            raise AssertionError(f"modelserver exited with {code} on SIGTERM:\n"
                                 + "".join(cls.server.stderr_lines))

    def metadata(self, name, version=""):
        return self.stub.ModelMetadata(pb.ModelMetadataRequest(name=name, version=version),
                                       timeout=10)

    def infer(self, request):
        return self.stub.ModelInfer(request, timeout=30)

    def expected_labels(self, name):
        return [p["label"] for p in self.expected[name]]

    def expected_values(self, name):
        return [p["value"] for p in self.expected[name]]

    def assertRpcError(self, code, call, *substrings):
        """`call()` fails with gRPC status `code` and a message holding each
        of `substrings`; returns the message."""
        with self.assertRaises(grpc.RpcError) as cm:
            call()
        err = cm.exception
        self.assertEqual(err.code(), code, err.details())
        for s in substrings:
            self.assertIn(s, err.details())
        return err.details()


# ------------------------------------------------------- 1. wire compatibility


class WireCompatibilityTest(unittest.TestCase):
    """Our proto against the upstream one, descriptor by descriptor: a client
    generated from either talks to the server the same way."""

    @classmethod
    def setUpClass(cls):
        def by_file(fds, name):
            return next(f for f in fds.file if f.name == name)

        cls.ours = by_file(descriptor_set(OUR_PROTO_DIR, OUR_PROTO), OUR_PROTO)
        cls.upstream = by_file(descriptor_set(UPSTREAM_DIR, UPSTREAM_PROTO), UPSTREAM_PROTO)

    @staticmethod
    def messages(file):
        """{full name: DescriptorProto} of every message, nested included."""
        out = {}

        def walk(prefix, msgs):
            for m in msgs:
                full = f"{prefix}.{m.name}"
                out[full] = m
                walk(full, m.nested_type)

        walk("." + file.package, file.message_type)
        return out

    @staticmethod
    def fields(message):
        """{field name: comparable tuple} (oneof membership by oneof name)."""
        out = {}
        for f in message.field:
            oneof = (message.oneof_decl[f.oneof_index].name if f.HasField("oneof_index")
                     else None)
            out[f.name] = (f.number, f.type, f.label, f.type_name, oneof, f.proto3_optional)
        return out

    def test_same_package_and_syntax(self):
        self.assertEqual(self.ours.package, "inference")
        self.assertEqual(self.ours.package, self.upstream.package)
        self.assertEqual(self.ours.syntax, self.upstream.syntax)
        self.assertEqual(self.ours.syntax, "proto3")

    def test_every_upstream_message_and_field_is_ours_unchanged(self):
        ours, upstream = self.messages(self.ours), self.messages(self.upstream)
        self.assertGreaterEqual(len(upstream), 20)  # the walk found the nested ones
        for full, up in upstream.items():
            with self.subTest(message=full):
                self.assertIn(full, ours)
                mine = ours[full]
                self.assertEqual(mine.options.map_entry, up.options.map_entry)
                up_fields, my_fields = self.fields(up), self.fields(mine)
                for name, shape in up_fields.items():
                    self.assertIn(name, my_fields, f"{full}.{name}")
                    self.assertEqual(my_fields[name], shape, f"{full}.{name}")
                # No field of ours reuses an upstream number under another name.
                up_numbers = {v[0]: k for k, v in up_fields.items()}
                for name, shape in my_fields.items():
                    if shape[0] in up_numbers:
                        self.assertEqual(up_numbers[shape[0]], name, f"{full} #{shape[0]}")
                self.assertEqual([o.name for o in mine.oneof_decl][:len(up.oneof_decl)],
                                 [o.name for o in up.oneof_decl], full)

    def test_only_the_open_inference_protocol_additions(self):
        ours, upstream = self.messages(self.ours), self.messages(self.upstream)
        extra_fields = set()
        for full, mine in ours.items():
            known = self.fields(upstream[full]) if full in upstream else {}
            for name in self.fields(mine):
                if name not in known:
                    extra_fields.add((full, name))
        extra_messages = set(ours) - set(upstream)
        self.assertEqual(extra_messages, {".inference.ModelMetadataResponse.PropertiesEntry"})
        self.assertEqual(extra_fields, {
            (".inference.ModelMetadataResponse", "properties"),
            (".inference.ModelMetadataResponse.PropertiesEntry", "key"),
            (".inference.ModelMetadataResponse.PropertiesEntry", "value"),
            (".inference.InferParameter", "double_param"),
            (".inference.InferParameter", "uint64_param"),
        })
        T = descriptor_pb2.FieldDescriptorProto
        props = self.fields(ours[".inference.ModelMetadataResponse"])["properties"]
        self.assertEqual(props[:4], (6, T.TYPE_MESSAGE, T.LABEL_REPEATED,
                                     ".inference.ModelMetadataResponse.PropertiesEntry"))
        entry = ours[".inference.ModelMetadataResponse.PropertiesEntry"]
        self.assertTrue(entry.options.map_entry)
        self.assertEqual(self.fields(entry), {
            "key": (1, T.TYPE_STRING, T.LABEL_OPTIONAL, "", None, False),
            "value": (2, T.TYPE_STRING, T.LABEL_OPTIONAL, "", None, False)})
        param = self.fields(ours[".inference.InferParameter"])
        self.assertEqual(param["double_param"],
                         (4, T.TYPE_DOUBLE, T.LABEL_OPTIONAL, "", "parameter_choice", False))
        self.assertEqual(param["uint64_param"],
                         (5, T.TYPE_UINT64, T.LABEL_OPTIONAL, "", "parameter_choice", False))

    def test_services_identical(self):
        def methods(file):
            return {s.name: [(m.name, m.input_type, m.output_type, m.client_streaming,
                              m.server_streaming) for m in s.method] for s in file.service}

        self.assertEqual(methods(self.ours), methods(self.upstream))
        self.assertEqual(list(methods(self.upstream)), ["GRPCInferenceService"])
        self.assertEqual([m[0] for m in methods(self.ours)["GRPCInferenceService"]],
                         ["ServerLive", "ServerReady", "ModelReady", "ServerMetadata",
                          "ModelMetadata", "ModelInfer"])

    def test_enums_identical(self):
        self.assertEqual([e.name for e in self.ours.enum_type],
                         [e.name for e in self.upstream.enum_type])


# ------------------------------------------------------- 2. KServe client flow


class KServeClientTest(TrainedServerCase):
    """The upstream-generated stub, as a KServe/Triton client uses it."""

    def test_server_live_ready_and_metadata(self):
        self.assertTrue(self.stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live)
        self.assertTrue(self.stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready)
        meta = self.stub.ServerMetadata(pb.ServerMetadataRequest(), timeout=10)
        self.assertEqual(meta.name, "modelserver")
        self.assertNotEqual(meta.version, "")
        self.assertEqual(list(meta.extensions), [])

    def test_model_ready(self):
        for name in MODELS:
            for version in ("", "1"):
                self.assertTrue(self.stub.ModelReady(
                    pb.ModelReadyRequest(name=name, version=version), timeout=10).ready)

    def test_model_metadata(self):
        for name, data in self.data.items():
            for version in ("", "1"):
                with self.subTest(model=name, version=version):
                    m = self.metadata(name, version)
                    self.assertEqual(m.name, name)
                    self.assertEqual(list(m.versions), ["1"])
                    self.assertEqual(m.platform, data.platform)
                    self.assertEqual([i.name for i in m.inputs], data.inputs)
                    for i in m.inputs:
                        self.assertEqual(list(i.shape), [-1], i.name)
                        self.assertEqual(i.datatype,
                                         "BYTES" if i.name in MPG_CATEGORICAL else "FP64",
                                         i.name)
                    outputs = [(o.name, o.datatype, list(o.shape)) for o in m.outputs]
                    if name == "diabetes":
                        self.assertEqual(outputs, [("predictions", "FP64", [-1])])
                    else:
                        self.assertEqual(outputs, [
                            ("labels", "BYTES", [-1]), ("label_indices", "INT64", [-1]),
                            ("probabilities", "FP64", [-1, len(data.classes)])])

    def test_metadata_properties_through_our_proto(self):
        # The upstream client skips field 6; a client of our proto reads it.
        pool = pool_of(descriptor_set(OUR_PROTO_DIR, OUR_PROTO).file)
        request_cls = message_class(pool, "inference.ModelMetadataRequest")
        response_cls = message_class(pool, "inference.ModelMetadataResponse")
        call = self.channel.unary_unary(
            "/inference.GRPCInferenceService/ModelMetadata",
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString)
        iris = call(request_cls(name="iris"), timeout=10)
        self.assertEqual(dict(iris.properties), {
            "kind": "logistic_regression", "target": "species", "version": "1",
            "input_columns": json.dumps(self.data["iris"].inputs, separators=(",", ":")),
            "class_labels": json.dumps(self.data["iris"].classes, separators=(",", ":")),
            "features_tensor": "features", "features_shape": "[-1, 4]"})
        diabetes = call(request_cls(name="diabetes", version="1"), timeout=10)
        self.assertEqual(dict(diabetes.properties)["features_shape"], "[-1, 10]")
        self.assertNotIn("class_labels", diabetes.properties)
        self.assertEqual(dict(diabetes.properties)["kind"], "linear_regression")
        self.assertEqual(dict(diabetes.properties)["target"], "progression")
        mpg = call(request_cls(name="mpg"), timeout=10)
        self.assertEqual(json.loads(mpg.properties["input_columns"]), self.data["mpg"].inputs)
        self.assertEqual(json.loads(mpg.properties["class_labels"]), self.data["mpg"].classes)
        self.assertNotIn("features_tensor", mpg.properties)  # categorical inputs
        # The upstream stub parses the same bytes, properties skipped.
        reparsed = pb.ModelMetadataResponse.FromString(iris.SerializeToString())
        upstream = self.metadata("iris")
        for m in (reparsed, upstream):
            self.assertEqual((m.name, list(m.versions), m.platform), ("iris", ["1"],
                                                                      iris.platform))
            self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in m.inputs],
                             [(t.name, t.datatype, list(t.shape)) for t in iris.inputs])
        self.assertNotIn("properties", pb.ModelMetadataResponse.DESCRIPTOR.fields_by_name)

    def check_classifier(self, name, response, rows):
        """labels == modelctl's; indices, probabilities consistent."""
        out = decoded(response)
        classes = self.data[name].classes
        self.assertEqual(list(out), ["labels", "label_indices", "probabilities"])
        self.assertEqual(out["labels"][:2], ("BYTES", [rows]))
        self.assertEqual([v.decode() for v in out["labels"][2]], self.expected_labels(name))
        self.assertEqual(out["label_indices"][:2], ("INT64", [rows]))
        self.assertEqual([classes[i] for i in out["label_indices"][2]],
                         self.expected_labels(name))
        self.assertEqual(out["probabilities"][:2], ("FP64", [rows, len(classes)]))
        probs = out["probabilities"][2]
        for r in range(rows):
            row = probs[r * len(classes):(r + 1) * len(classes)]
            self.assertTrue(math.isclose(sum(row), 1.0, rel_tol=1e-9), (r, row))
            self.assertEqual(row.index(max(row)), out["label_indices"][2][r], r)
            for c, p in enumerate(row):  # modelctl's probabilities, per class
                self.assertTrue(rel_close(p, self.expected[name][r]["probabilities"][classes[c]],
                                          1e-9), (r, c))
        params = response.outputs[2].parameters
        self.assertEqual(list(params), ["class_labels"])
        self.assertEqual(json.loads(params["class_labels"].string_param), classes)
        return out

    def test_infer_every_row_contents(self):
        for name in MODELS:
            with self.subTest(model=name):
                m = self.metadata(name)
                response = self.infer(column_request(m, self.data[name], id=f"all-{name}"))
                self.assertEqual(response.model_name, name)
                self.assertEqual(response.model_version, "1")
                self.assertEqual(response.id, f"all-{name}")
                self.assertEqual(list(response.raw_output_contents), [])
                rows = len(self.data[name].rows)
                if name == "diabetes":
                    out = decoded(response)
                    self.assertEqual(list(out), ["predictions"])
                    self.assertEqual(out["predictions"][:2], ("FP64", [rows]))
                    for r, (got, want) in enumerate(zip(out["predictions"][2],
                                                        self.expected_values(name))):
                        self.assertTrue(rel_close(got, want, 1e-9), (r, got, want))
                    self.assertEqual(len(out["predictions"][2]), rows)
                else:
                    self.check_classifier(name, response, rows)

    def test_infer_columns_shaped_batch_by_one(self):
        m = self.metadata("mpg")
        response = self.infer(column_request(m, self.data["mpg"], two_d=True))
        self.check_classifier("mpg", response, len(self.data["mpg"].rows))

    def test_features_tensor_fp32_raw(self):
        iris = self.data["iris"]
        response = self.infer(features_request("iris", iris, "FP32"))
        self.assertEqual(len(response.raw_output_contents), 3)
        out = decoded(response)
        self.assertEqual([v.decode() for v in out["labels"][2]], self.expected_labels("iris"))
        diabetes = self.data["diabetes"]
        out = decoded(self.infer(features_request("diabetes", diabetes, "FP32")))
        self.assertEqual(out["predictions"][:2], ("FP64", [len(diabetes.rows)]))
        for r, (got, want) in enumerate(zip(out["predictions"][2],
                                            self.expected_values("diabetes"))):
            self.assertTrue(rel_close(got, want, 1e-4), (r, got, want))

    def test_features_tensor_fp64_raw_is_exact_and_raw_equals_contents(self):
        for name in ("iris", "diabetes"):
            with self.subTest(model=name):
                data = self.data[name]
                contents = self.infer(column_request(self.metadata(name), data))
                raw = self.infer(features_request(name, data, "FP64"))
                self.assertEqual(len(raw.raw_output_contents), len(raw.outputs))
                for out in raw.outputs:  # values only in raw_output_contents
                    self.assertEqual(out.contents.ByteSize(), 0, out.name)
                self.assertEqual([(o.name, o.datatype, list(o.shape)) for o in raw.outputs],
                                 [(o.name, o.datatype, list(o.shape))
                                  for o in contents.outputs])
                self.assertEqual(decoded(raw), decoded(contents))
                features = self.infer(features_request(name, data, "FP64", raw=False))
                self.assertEqual(list(features.raw_output_contents), [])
                self.assertEqual(decoded(features), decoded(contents))

    def test_column_tensors_raw(self):
        for name in ("diabetes", "mpg"):  # mpg: BYTES length-prefixed
            with self.subTest(model=name):
                m = self.metadata(name)
                raw = self.infer(column_request(m, self.data[name], raw=True))
                contents = self.infer(column_request(m, self.data[name]))
                self.assertEqual(len(raw.raw_output_contents), len(raw.outputs))
                self.assertEqual(decoded(raw), decoded(contents))
        out = decoded(raw)
        self.assertEqual([v.decode() for v in out["labels"][2]], self.expected_labels("mpg"))

    def test_other_numeric_datatypes(self):
        # sex (1/2) as INT32, age as INT64, bp as FP32: the same as FP64.
        diabetes = self.data["diabetes"]
        m = self.metadata("diabetes")
        request = column_request(m, diabetes)
        want = decoded(self.infer(request))
        n = len(diabetes.rows)
        for i, t in enumerate(request.inputs):
            if t.name in ("sex", "age"):
                datatype = "INT32" if t.name == "sex" else "INT64"
                request.inputs[i].CopyFrom(input_tensor(
                    t.name, datatype, [n], [int(v) for v in diabetes.numbers(t.name)]))
        self.assertEqual(decoded(self.infer(request)), want)
        for i, t in enumerate(request.inputs):
            if t.name == "bmi":
                request.inputs[i].CopyFrom(input_tensor(t.name, "FP32", [n],
                                                        diabetes.numbers(t.name)))
        got = decoded(self.infer(request))["predictions"][2]
        for r, (a, b) in enumerate(zip(got, want["predictions"][2])):
            self.assertTrue(rel_close(a, b, 1e-4), (r, a, b))

    def test_numbers_as_text_for_numeric_columns(self):
        # BYTES holding number texts are accepted for numeric columns.
        mpg = self.data["mpg"]
        m = self.metadata("mpg")
        request = column_request(m, mpg)
        want = decoded(self.infer(request))
        for i, t in enumerate(request.inputs):
            if t.datatype == "FP64":
                request.inputs[i].CopyFrom(input_tensor(t.name, "BYTES", [len(mpg.rows)],
                                                        mpg.texts(t.name)))
        self.assertEqual(decoded(self.infer(request)), want)

    def test_requested_outputs_subset_and_order(self):
        iris = self.data["iris"]
        request = features_request("iris", iris, "FP64", raw=False, id="subset-7")
        request.outputs.add(name="probabilities")
        request.outputs.add(name="labels")
        response = self.infer(request)
        self.assertEqual(response.id, "subset-7")
        self.assertEqual([o.name for o in response.outputs], ["probabilities", "labels"])
        self.assertEqual(json.loads(response.outputs[0].parameters["class_labels"].string_param),
                         iris.classes)
        self.assertEqual(list(response.outputs[1].parameters), [])
        out = decoded(response)
        self.assertEqual([v.decode() for v in out["labels"][2]], self.expected_labels("iris"))
        # One output, raw.
        request = features_request("iris", iris, "FP64")
        request.outputs.add(name="label_indices")
        response = self.infer(request)
        self.assertEqual([o.name for o in response.outputs], ["label_indices"])
        self.assertEqual(len(response.raw_output_contents), 1)
        self.assertEqual([iris.classes[i] for i in decoded(response)["label_indices"][2]],
                         self.expected_labels("iris"))

    def test_id_and_version_echoed(self):
        iris = self.data["iris"]
        for version in ("", "1"):
            for request_id in ("", "req-42", "ünïcode id"):
                request = features_request("iris", iris, "FP64", model_version=version,
                                           id=request_id)
                response = self.infer(request)
                self.assertEqual((response.model_name, response.model_version, response.id),
                                 ("iris", "1", request_id))

    def test_a_second_version_is_the_latest_and_labels_pin_the_first(self):
        # Its own model name: the other models of this server keep one version.
        # The server serves the latest version only (--serve-versions
        # latest:1, the default) plus labelled versions.
        iris = self.data["iris"]
        for _ in range(2):
            e2e.run_ctl(self.server.address, "train", "--name", "iris-two", "--data",
                        iris.path, "--target", "species")
        self.assertEqual(list(self.metadata("iris-two").versions), ["2"])
        self.assertRpcError(grpc.StatusCode.NOT_FOUND,
                            lambda: self.metadata("iris-two", "1"), "version 1")
        self.assertFalse(self.stub.ModelReady(
            pb.ModelReadyRequest(name="iris-two", version="1"), timeout=10).ready)
        # A label serves version 1 again and names it.
        e2e.run_ctl(self.server.address, "label", "iris-two", "stable", "1")
        self.assertEqual(list(self.metadata("iris-two").versions), ["1", "2"])
        self.assertEqual(list(self.metadata("iris-two", "stable").versions), ["1"])
        for version, want in (("", "2"), ("1", "1"), ("2", "2"), ("stable", "1")):
            response = self.infer(features_request("iris-two", iris, "FP64",
                                                   model_version=version))
            self.assertEqual(response.model_version, want)
        self.assertTrue(self.stub.ModelReady(
            pb.ModelReadyRequest(name="iris-two", version="stable"), timeout=10).ready)
        self.assertFalse(self.stub.ModelReady(
            pb.ModelReadyRequest(name="iris-two", version="3"), timeout=10).ready)


# ------------------------------------------------------------ 3. errors


class InferErrorTest(TrainedServerCase):
    """Exact codes; INVALID_ARGUMENT messages name the tensor."""

    INVALID = grpc.StatusCode.INVALID_ARGUMENT
    NOT_FOUND = grpc.StatusCode.NOT_FOUND

    def iris_request(self, rows=2):
        """Column form for iris, first `rows` rows, FP64 contents."""
        iris = self.data["iris"]
        request = pb.ModelInferRequest(model_name="iris")
        for c in iris.inputs:
            request.inputs.append(input_tensor(c, "FP64", [rows], iris.numbers(c)[:rows]))
        return request

    def fails(self, code, request, *substrings):
        return self.assertRpcError(code, lambda: self.infer(request), *substrings)

    def test_valid_baseline(self):
        out = decoded(self.infer(self.iris_request()))
        self.assertEqual([v.decode() for v in out["labels"][2]],
                         self.expected_labels("iris")[:2])

    def test_element_count_does_not_match_shape(self):
        request = self.iris_request()
        request.inputs[1].shape[:] = [3]
        self.fails(self.INVALID, request, "input 'sepal_width_cm'", "[3]")
        request = self.iris_request()
        request.inputs[0].contents.fp64_contents.append(1.0)
        self.fails(self.INVALID, request, "input 'sepal_length_cm'", "3 values")

    def test_shape_the_model_cannot_take(self):
        request = self.iris_request()
        request.inputs[2].shape[:] = [1, 2]
        self.fails(self.INVALID, request, "input 'petal_length_cm'", "[1, 2]")
        request = self.iris_request()
        for t in request.inputs[2:]:
            del t.contents.fp64_contents[1:]
            t.shape[:] = [1]
        self.fails(self.INVALID, request, "input 'petal_length_cm'", "batch 1")
        features = features_request("iris", self.data["iris"], "FP64")
        features.inputs[0].shape[:] = [300, 2]
        self.fails(self.INVALID, features, "input 'features'", "[300, 2]")
        request = self.iris_request()
        request.inputs[0].ClearField("shape")
        self.fails(self.INVALID, request, "input 'sepal_length_cm'", "shape")

    def test_wrong_contents_field_for_datatype(self):
        request = self.iris_request()
        request.inputs[3].datatype = "FP32"  # values still in fp64_contents
        self.fails(self.INVALID, request, "input 'petal_width_cm'", "fp32_contents",
                   "fp64_contents")
        request = self.iris_request()
        request.inputs[0].ClearField("contents")
        self.fails(self.INVALID, request, "input 'sepal_length_cm'", "no values")
        request = self.iris_request()
        request.inputs[0].datatype = "FP128"
        self.fails(self.INVALID, request, "input 'sepal_length_cm'", "FP128")

    def test_raw_byte_length_mismatch(self):
        request = features_request("iris", self.data["iris"], "FP32")
        request.raw_input_contents[0] = request.raw_input_contents[0][:-1]
        self.fails(self.INVALID, request, "input 'features'", "2399")
        m = self.metadata("mpg")
        request = column_request(m, self.data["mpg"], raw=True)
        request.raw_input_contents[0] += b"\x09\x00\x00\x00abc"  # length 9, 3 bytes
        self.fails(self.INVALID, request, "input 'manufacturer'")
        request = column_request(m, self.data["mpg"], raw=True)
        request.raw_input_contents[0] += pack("BYTES", ["extra"])
        self.fails(self.INVALID, request, "input 'manufacturer'")
        request = features_request("iris", self.data["iris"], "FP64")
        request.raw_input_contents.append(b"")
        self.fails(self.INVALID, request, "raw_input_contents")

    def test_values_in_contents_and_raw(self):
        request = features_request("iris", self.data["iris"], "FP64")
        request.inputs[0].contents.fp64_contents.append(1.0)
        self.fails(self.INVALID, request, "input 'features'")

    def test_unknown_and_missing_input(self):
        request = self.iris_request()
        request.inputs.append(input_tensor("petal_colour", "FP64", [2], [1, 2]))
        self.fails(self.INVALID, request, "input 'petal_colour'")
        request = self.iris_request()
        del request.inputs[3]
        self.fails(self.INVALID, request, "petal_width_cm")
        request = self.iris_request()
        request.inputs.append(request.inputs[0])
        self.fails(self.INVALID, request, "input 'sepal_length_cm'", "twice")
        self.fails(self.INVALID, pb.ModelInferRequest(model_name="iris"), "inputs")
        # mpg has categorical inputs: no "features" form.
        mpg = pb.ModelInferRequest(model_name="mpg")
        mpg.inputs.append(input_tensor("features", "FP64", [1, 10], [1.0] * 10))
        self.fails(self.INVALID, mpg, "input 'features'")

    def test_unknown_output(self):
        request = self.iris_request()
        request.outputs.add(name="scores")
        self.fails(self.INVALID, request, "output 'scores'")
        request = self.iris_request()
        request.outputs.add(name="labels")
        request.outputs.add(name="labels")
        self.fails(self.INVALID, request, "output 'labels'")
        request = features_request("diabetes", self.data["diabetes"], "FP64")
        request.outputs.add(name="probabilities")
        self.fails(self.INVALID, request, "output 'probabilities'")

    def test_unknown_model_and_versions(self):
        request = self.iris_request()
        request.model_name = "no-such-model"
        self.fails(self.NOT_FOUND, request, "no-such-model")
        request = self.iris_request()
        request.model_version = "1x"  # neither a number nor a label
        self.fails(self.INVALID, request, "1x")
        request.model_version = "abc"  # a label the model does not have
        self.fails(self.NOT_FOUND, request, "no label 'abc'")
        for bad in ("0", "-1", "1.0", " 1"):
            request.model_version = bad
            self.fails(self.INVALID, request, "model_version")
        request.model_version = "9"
        self.fails(self.NOT_FOUND, request)
        self.assertRpcError(self.NOT_FOUND, lambda: self.metadata("no-such-model"),
                            "no-such-model")
        self.assertRpcError(self.INVALID, lambda: self.metadata("iris", "1x"), "1x")
        self.assertRpcError(self.NOT_FOUND, lambda: self.metadata("iris", "abc"), "abc")
        self.assertRpcError(self.NOT_FOUND, lambda: self.metadata("iris", "9"))

    def test_model_ready_for_what_is_not_there(self):
        for name, version in (("no-such-model", ""), ("no-such-model", "1"), ("iris", "9")):
            self.assertFalse(self.stub.ModelReady(
                pb.ModelReadyRequest(name=name, version=version), timeout=10).ready,
                (name, version))
        self.assertFalse(self.stub.ModelReady(
            pb.ModelReadyRequest(name="iris", version="abc"), timeout=10).ready)
        self.assertRpcError(self.INVALID, lambda: self.stub.ModelReady(
            pb.ModelReadyRequest(name="iris", version="1x"), timeout=10), "1x")

    def test_zzz_server_still_answers_after_the_errors(self):  # runs last
        for test in (self.test_element_count_does_not_match_shape,
                     self.test_raw_byte_length_mismatch, self.test_unknown_and_missing_input,
                     self.test_unknown_model_and_versions):
            test()
        self.assertTrue(self.stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live)
        self.assertTrue(self.stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready)
        self.test_valid_baseline()
        self.assertIsNone(self.server.proc.poll())


# ------------------------------------------------------------- 4. health


class HealthTest(unittest.TestCase):
    SERVICES = ("", "modelserver.v1.ModelService", "inference.GRPCInferenceService")

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="modelserver-oip-health-")
        self.server = None
        self.channel = None

    def tearDown(self):
        if self.channel is not None:
            self.channel.close()
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def start(self, extra=()):
        self.server = e2e.Server(os.path.join(self.work, "models"), extra=extra)
        self.channel = grpc.insecure_channel(self.server.address)
        return health_grpc.HealthStub(self.channel)

    def test_check(self):
        health = self.start()
        for service in self.SERVICES:
            status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            self.assertEqual(status.status, health_pb2.HealthCheckResponse.SERVING, service)
        with self.assertRaises(grpc.RpcError) as cm:
            health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(self.server.stop(), 0)

    def test_drain_reports_not_serving_then_exits_zero(self):
        health = self.start(extra=["--drain-seconds", "3"])
        iris = Dataset("iris")
        e2e.run_ctl(self.server.address, "train", "--name", "iris", "--data", iris.path,
                    "--target", "species")
        stub = pb_grpc.GRPCInferenceServiceStub(self.channel)
        http = self.server.http_address
        self.assertEqual(rest(http, "GET", "/v2/health/ready")[0], 200)
        self.assertEqual(rest(http, "GET", "/v2/models/iris/ready")[0], 200)
        self.assertTrue(stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready)
        self.assertTrue(stub.ModelReady(pb.ModelReadyRequest(name="iris"), timeout=10).ready)
        # Watch("") streams the transitions; it must see NOT_SERVING.
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
        self.assertEqual(next(watch).status, health_pb2.HealthCheckResponse.SERVING)

        sigterm = time.monotonic()
        self.server.proc.send_signal(signal.SIGTERM)
        NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
        while True:  # the signal reaches the server asynchronously
            status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
            if status == NOT_SERVING or time.monotonic() - sigterm > 2:
                break
            time.sleep(0.05)
        self.assertEqual(status, NOT_SERVING)
        self.assertEqual(next(watch).status, NOT_SERVING)
        watch.cancel()
        for service in self.SERVICES[1:]:
            self.assertEqual(health.Check(health_pb2.HealthCheckRequest(service=service),
                                          timeout=5).status, NOT_SERVING, service)
        self.assertFalse(stub.ServerReady(pb.ServerReadyRequest(), timeout=5).ready)
        self.assertFalse(stub.ModelReady(pb.ModelReadyRequest(name="iris"), timeout=5).ready)
        self.assertTrue(stub.ServerLive(pb.ServerLiveRequest(), timeout=5).live)
        self.assertEqual(rest(http, "GET", "/v2/health/ready")[:3:2], (400, b""))
        self.assertEqual(rest(http, "GET", "/v2/models/iris/ready")[:3:2], (400, b""))
        self.assertEqual(rest(http, "GET", "/v2/health/live")[:3:2], (200, b""))
        # Still serving while it drains: requests in flight at a load
        # balancer's switch-over are answered.
        response = stub.ModelInfer(features_request("iris", iris, "FP64"), timeout=5)
        self.assertEqual(len(decoded(response)["labels"][2]), len(iris.rows))
        # All of the above inside the drain window.
        self.assertLess(time.monotonic() - sigterm, 2.9)
        code = self.server.proc.wait(timeout=30)
        self.assertEqual(code, 0, "".join(self.server.stderr_lines))
        self.assertGreaterEqual(time.monotonic() - sigterm, 2.9)  # it did drain


# ---------------------------------------------------------- 5. reflection


class ReflectionTest(TrainedServerCase):
    """A tool with no proto files: reflection, then dynamic calls."""

    def reflect(self, **request):
        stub = refl_grpc.ServerReflectionStub(self.channel)
        responses = list(stub.ServerReflectionInfo(
            iter([refl_pb2.ServerReflectionRequest(**request)]), timeout=10))
        self.assertEqual(len(responses), 1)
        response = responses[0]
        self.assertNotEqual(response.WhichOneof("message_response"), "error_response",
                            response.error_response.error_message)
        return response

    def pool_for(self, symbol):
        response = self.reflect(file_containing_symbol=symbol)
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in response.file_descriptor_response.file_descriptor_proto]
        return pool_of(files)

    def dynamic(self, pool, service, method):
        """(request class, callable) for `method` of `service` in `pool`."""
        desc = pool.FindServiceByName(service).FindMethodByName(method)
        request_cls = message_class(pool, desc.input_type.full_name)
        response_cls = message_class(pool, desc.output_type.full_name)
        call = self.channel.unary_unary(f"/{service}/{method}",
                                        request_serializer=request_cls.SerializeToString,
                                        response_deserializer=response_cls.FromString)
        return request_cls, call

    def test_list_services(self):
        services = {s.name for s in self.reflect(list_services="").list_services_response.service}
        self.assertTrue({"grpc.health.v1.Health", "inference.GRPCInferenceService",
                         "modelserver.v1.ModelService",
                         "grpc.reflection.v1alpha.ServerReflection"} <= services, services)

    def test_unknown_symbol(self):
        stub = refl_grpc.ServerReflectionStub(self.channel)
        (response,) = stub.ServerReflectionInfo(iter([refl_pb2.ServerReflectionRequest(
            file_containing_symbol="no.such.Symbol")]), timeout=10)
        self.assertEqual(response.error_response.error_code, grpc.StatusCode.NOT_FOUND.value[0])

    def test_model_infer_without_proto_files(self):
        pool = self.pool_for("inference.GRPCInferenceService")
        service = pool.FindServiceByName("inference.GRPCInferenceService")
        self.assertEqual([m.name for m in service.methods],
                         ["ServerLive", "ServerReady", "ModelReady", "ServerMetadata",
                          "ModelMetadata", "ModelInfer"])
        request_cls, infer = self.dynamic(pool, "inference.GRPCInferenceService", "ModelInfer")
        diabetes = self.data["diabetes"]
        request = request_cls(model_name="diabetes", id="reflected")
        for c in diabetes.inputs:
            t = request.inputs.add(name=c, datatype="FP64", shape=[len(diabetes.rows)])
            t.contents.fp64_contents.extend(diabetes.numbers(c))
        response = infer(request, timeout=30)
        self.assertEqual((response.model_name, response.model_version, response.id),
                         ("diabetes", "1", "reflected"))
        self.assertEqual([(o.name, o.datatype, list(o.shape)) for o in response.outputs],
                         [("predictions", "FP64", [len(diabetes.rows)])])
        for r, (got, want) in enumerate(zip(response.outputs[0].contents.fp64_contents,
                                            self.expected_values("diabetes"))):
            self.assertTrue(rel_close(got, want, 1e-9), (r, got, want))
        # The reflected ModelMetadataResponse knows field 6.
        request_cls, metadata = self.dynamic(pool, "inference.GRPCInferenceService",
                                             "ModelMetadata")
        m = metadata(request_cls(name="diabetes"), timeout=10)
        self.assertEqual(m.properties["target"], "progression")

    def test_list_models_without_proto_files(self):
        pool = self.pool_for("modelserver.v1.ModelService")
        request_cls, list_models = self.dynamic(pool, "modelserver.v1.ModelService",
                                                "ListModels")
        response = list_models(request_cls(), timeout=10)
        self.assertEqual(sorted((m.name, m.latest_version, m.num_versions, m.target)
                                for m in response.models),
                         [("diabetes", 1, 1, "progression"), ("iris", 1, 1, "species"),
                          ("mpg", 1, 1, "class")])


# ------------------------------------------------------------- 6. REST


def rest(address, method, path, body=None, timeout=10):
    """curl-style: (status, headers, body bytes); error statuses included."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(f"http://{address}{path}", data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


class RestTest(TrainedServerCase):
    def call(self, method, path, body=None):
        return rest(self.server.http_address, method, path, body)

    def get_json(self, path, status=200):
        code, headers, body = self.call("GET", path)
        self.assertEqual(code, status, body)
        self.assertEqual(headers.get("Content-Type"), "application/json")
        return json.loads(body)

    def post_infer(self, path, payload, status=200):
        body = payload if isinstance(payload, str) else json.dumps(payload)
        code, headers, text = self.call("POST", path, body)
        self.assertEqual(code, status, text)
        self.assertEqual(headers.get("Content-Type"), "application/json")
        return json.loads(text)

    def error(self, method, path, status, body=None):
        """Asserts an error reply: `status`, JSON {"error": message}."""
        code, headers, text = self.call(method, path, body)
        self.assertEqual(code, status, text)
        self.assertEqual(headers.get("Content-Type"), "application/json")
        reply = json.loads(text)
        self.assertEqual(list(reply), ["error"])
        self.assertIsInstance(reply["error"], str)
        self.assertNotEqual(reply["error"], "")
        return reply["error"], headers

    def grpc_outputs(self, request):
        return decoded(self.infer(request))

    def test_health_and_server_metadata(self):
        for path in ("/v2/health/live", "/v2/health/ready"):
            code, _, body = self.call("GET", path)
            self.assertEqual((code, body), (200, b""), path)
        meta = self.get_json("/v2")
        grpc_meta = self.stub.ServerMetadata(pb.ServerMetadataRequest(), timeout=10)
        self.assertEqual(meta, {"name": "modelserver", "version": grpc_meta.version,
                                "extensions": []})

    def test_model_metadata(self):
        for name in MODELS:
            for path in (f"/v2/models/{name}", f"/v2/models/{name}/versions/1"):
                with self.subTest(path=path):
                    got = self.get_json(path)
                    m = self.metadata(name)
                    self.assertEqual(set(got), {"name", "versions", "platform", "inputs",
                                                "outputs", "properties"})
                    self.assertEqual(got["name"], name)
                    self.assertEqual(got["versions"], ["1"])
                    self.assertEqual(got["platform"], self.data[name].platform)
                    for key in ("inputs", "outputs"):
                        self.assertEqual(got[key], [
                            {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)}
                            for t in getattr(m, key)])
                    props = got["properties"]
                    self.assertEqual(props["target"], self.data[name].target)
                    self.assertEqual(props["version"], "1")
                    self.assertEqual(json.loads(props["input_columns"]),
                                     self.data[name].inputs)
        self.assertEqual(json.loads(self.get_json("/v2/models/iris")["properties"]
                                    ["class_labels"]), self.data["iris"].classes)

    def test_model_ready(self):
        for path, status in (("/v2/models/iris/ready", 200),
                             ("/v2/models/iris/versions/1/ready", 200),
                             ("/v2/models/iris/versions/9/ready", 400),
                             ("/v2/models/no-such-model/ready", 400)):
            code, _, body = self.call("GET", path)
            self.assertEqual((code, body), (status, b""), path)
        message, _ = self.error("GET", "/v2/models/iris/versions/1x/ready", 400)
        self.assertIn("1x", message)
        code, _, body = self.call("GET", "/v2/models/iris/versions/abc/ready")
        self.assertEqual((code, body), (400, b""))  # no such label: not ready

    def test_metadata_errors(self):
        message, _ = self.error("GET", "/v2/models/no-such-model", 404)
        self.assertIn("no-such-model", message)
        self.error("GET", "/v2/models/iris/versions/9", 404)
        message, _ = self.error("GET", "/v2/models/iris/versions/1x", 400)
        self.assertIn("1x", message)
        message, _ = self.error("GET", "/v2/models/iris/versions/abc", 404)
        self.assertIn("no label 'abc'", message)

    def features_payload(self, name, nested, **extra):
        data = self.data[name]
        flat = data.matrix()
        n = len(data.inputs)
        values = [flat[i:i + n] for i in range(0, len(flat), n)] if nested else flat
        return {"inputs": [{"name": "features", "datatype": "FP64",
                            "shape": [len(data.rows), n], "data": values}], **extra}

    def columns_payload(self, name, nested):
        data = self.data[name]
        inputs = []
        for m in self.metadata(name).inputs:
            values = (data.numbers(m.name) if m.datatype == "FP64" else data.texts(m.name))
            inputs.append({"name": m.name, "datatype": m.datatype,
                           "shape": [len(values), 1] if nested else [len(values)],
                           "data": [[v] for v in values] if nested else values})
        return {"inputs": inputs}

    def assert_outputs_equal_grpc(self, reply, grpc_out):
        self.assertEqual([o["name"] for o in reply["outputs"]], list(grpc_out))
        for o in reply["outputs"]:
            datatype, shape, values = grpc_out[o["name"]]
            self.assertEqual((o["datatype"], o["shape"]), (datatype, shape), o["name"])
            if datatype == "BYTES":
                values = [v.decode() for v in values]
            self.assertEqual(o["data"], values, o["name"])  # JSON doubles round-trip

    def test_infer_flat_and_nested_equal_grpc(self):
        for name in ("iris", "diabetes"):
            with self.subTest(model=name):
                flat = self.post_infer(f"/v2/models/{name}/infer",
                                       self.features_payload(name, nested=False, id="r-1"))
                nested = self.post_infer(f"/v2/models/{name}/versions/1/infer",
                                         self.features_payload(name, nested=True, id="r-1"))
                self.assertEqual(flat, nested)
                self.assertEqual((flat["model_name"], flat["model_version"], flat["id"]),
                                 (name, "1", "r-1"))
                self.assert_outputs_equal_grpc(flat, self.grpc_outputs(
                    features_request(name, self.data[name], "FP64", raw=False)))
                columns = self.post_infer(f"/v2/models/{name}/infer",
                                          self.columns_payload(name, nested=True))
                self.assertEqual(columns["outputs"], flat["outputs"])
                self.assertNotIn("id", columns)
        flat = self.post_infer("/v2/models/iris/infer",
                               self.features_payload("iris", nested=False))
        probabilities = [o for o in flat["outputs"] if o["name"] == "probabilities"][0]
        self.assertEqual(json.loads(probabilities["parameters"]["class_labels"]),
                         self.data["iris"].classes)
        self.assertEqual([o["name"] for o in flat["outputs"]],
                         ["labels", "label_indices", "probabilities"])
        labels = [o for o in flat["outputs"] if o["name"] == "labels"][0]
        self.assertEqual(labels["data"], self.expected_labels("iris"))

    def test_infer_bytes_columns(self):
        reply = self.post_infer("/v2/models/mpg/infer",
                                self.columns_payload("mpg", nested=False))
        labels = [o for o in reply["outputs"] if o["name"] == "labels"][0]
        self.assertEqual(labels["data"], self.expected_labels("mpg"))
        self.assert_outputs_equal_grpc(reply, self.grpc_outputs(
            column_request(self.metadata("mpg"), self.data["mpg"])))

    def test_requested_outputs(self):
        payload = self.features_payload("iris", nested=False)
        payload["outputs"] = [{"name": "label_indices"}, {"name": "labels"}]
        reply = self.post_infer("/v2/models/iris/infer", payload)
        self.assertEqual([o["name"] for o in reply["outputs"]], ["label_indices", "labels"])
        self.assertNotIn("parameters", reply["outputs"][0])
        payload["outputs"] = [{"name": "scores"}]
        code, _, text = self.call("POST", "/v2/models/iris/infer", json.dumps(payload))
        self.assertEqual(code, 400, text)
        self.assertIn("output 'scores'", json.loads(text)["error"])

    def test_null_is_a_missing_number(self):
        payload = {"inputs": [
            {"name": "sepal_length_cm", "datatype": "FP64", "shape": [2], "data": [None, 6.3]},
            {"name": "sepal_width_cm", "datatype": "FP64", "shape": [2], "data": [3.5, 3.3]},
            {"name": "petal_length_cm", "datatype": "FP64", "shape": [2], "data": [1.4, None]},
            {"name": "petal_width_cm", "datatype": "FP64", "shape": [2], "data": [0.2, 2.5]}]}
        reply = self.post_infer("/v2/models/iris/infer", payload)
        request = pb.ModelInferRequest(model_name="iris")
        for t in payload["inputs"]:
            request.inputs.append(input_tensor(
                t["name"], "FP64", [2], [math.nan if v is None else v for v in t["data"]]))
        self.assert_outputs_equal_grpc(reply, self.grpc_outputs(request))
        self.assertEqual(reply["outputs"][0]["shape"], [2])

    def test_error_statuses(self):
        payload = self.features_payload("iris", nested=False)
        payload["inputs"][0]["shape"] = [7, 4]
        message, _ = self.error("POST", "/v2/models/iris/infer", 400, json.dumps(payload))
        self.assertIn("input 'features'", message)
        payload = self.features_payload("iris", nested=False)
        payload["inputs"][0]["name"] = "petals"
        message, _ = self.error("POST", "/v2/models/iris/infer", 400, json.dumps(payload))
        self.assertIn("input 'petals'", message)
        message, _ = self.error("POST", "/v2/models/no-such-model/infer", 404,
                                json.dumps(self.features_payload("iris", nested=False)))
        self.assertIn("no-such-model", message)
        self.error("POST", "/v2/models/iris/versions/9/infer", 404,
                   json.dumps(self.features_payload("iris", nested=False)))
        message, _ = self.error("POST", "/v2/models/iris/infer", 400, "{\"inputs\": [")
        self.assertIn("JSON", message)
        message, _ = self.error("POST", "/v2/models/iris/infer", 400, "[1, 2]")
        bad_type = {"inputs": [{"name": "features", "datatype": "FP64", "shape": [1, 4],
                                "data": ["a", "b", "c", "d"]}]}
        message, _ = self.error("POST", "/v2/models/iris/infer", 400, json.dumps(bad_type))
        self.assertIn("input 'features'", message)
        for path in ("/v2/nothing", "/v3", "/v2/models", "/v2/models/iris/explain",
                     "/v2/models/iris/versions/1/extra/infer"):
            message, _ = self.error("GET", path, 404)
            self.assertIn(path, message)

    def test_wrong_method(self):
        for method, path, allow in (("GET", "/v2/models/iris/infer", "POST"),
                                    ("PUT", "/v2/models/iris/versions/1/infer", "POST"),
                                    ("POST", "/v2/health/live", "GET"),
                                    ("POST", "/v2/health/ready", "GET"),
                                    ("DELETE", "/v2/models/iris", "GET"),
                                    ("POST", "/v2/models/iris/ready", "GET"),
                                    ("POST", "/v2", "GET")):
            with self.subTest(method=method, path=path):
                _, headers = self.error(method, path, 405,
                                        "{}" if method in ("POST", "PUT") else None)
                self.assertEqual(headers.get("Allow"), allow)

    def test_head_is_get_without_body_and_options_lists_methods(self):
        # HEAD is answered like GET without the body (RFC 9110 9.3.2), and
        # refused with 405 + Allow where GET is; OPTIONS is 204 + Allow.
        _, _, get_body = self.call("GET", "/v2/models/iris")
        for path, status in (("/v2/health/live", 200), ("/v2/health/ready", 200),
                             ("/v2/models/iris", 200), ("/v2", 200)):
            with self.subTest(path=path):
                code, headers, body = self.call("HEAD", path)
                self.assertEqual(code, status)
                self.assertEqual(body, b"")
        code, headers, _ = self.call("HEAD", "/v2/models/iris")
        self.assertEqual(int(headers.get("Content-Length")), len(get_body))
        code, headers, body = self.call("HEAD", "/v2/models/iris/infer")
        self.assertEqual(code, 405)
        self.assertEqual(headers.get("Allow"), "POST")
        self.assertEqual(body, b"")
        for path, allow in (("/v2/health/ready", "GET, HEAD, OPTIONS"),
                            ("/v2/models/iris", "GET, HEAD, OPTIONS"),
                            ("/v2/models/iris/infer", "POST, OPTIONS")):
            with self.subTest(path=path):
                code, headers, body = self.call("OPTIONS", path)
                self.assertEqual(code, 204)
                self.assertEqual(headers.get("Allow"), allow)
                self.assertEqual(body, b"")
        code, _, _ = self.call("OPTIONS", "/v2/nowhere")
        self.assertEqual(code, 404)

    def test_body_over_the_limit_is_413(self):
        work = tempfile.mkdtemp(prefix="modelserver-oip-413-")
        server = e2e.Server(os.path.join(work, "models"), extra=["--max-message-bytes", "1024"])
        try:
            # A training set small enough for a 1 KiB gRPC message.
            iris = self.data["iris"]
            small_csv = os.path.join(work, "iris-small.csv")
            with open(small_csv, "w", newline="") as f:
                csv.writer(f).writerows([iris.header] + iris.rows[::15])
            e2e.run_ctl(server.address, "train", "--name", "iris", "--data", small_csv,
                        "--target", "species")
            small = json.dumps({"inputs": [{"name": "features", "datatype": "FP64",
                                            "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}]})
            code, _, body = rest(server.http_address, "POST", "/v2/models/iris/infer", small)
            self.assertEqual(code, 200, body)
            big = json.dumps({"inputs": [{"name": "features", "datatype": "FP64",
                                          "shape": [100, 4],
                                          "data": [5.1, 3.5, 1.4, 0.2] * 100}]})
            self.assertGreater(len(big), 2048)
            code, headers, body = rest(server.http_address, "POST", "/v2/models/iris/infer",
                                       big)
            self.assertEqual(code, 413, body)
            self.assertEqual(headers.get("Content-Type"), "application/json")
            self.assertIn("1024", json.loads(body)["error"])
            # Still serving afterwards.
            self.assertEqual(rest(server.http_address, "GET", "/v2/health/live")[0], 200)
        finally:
            code = server.stop()
            shutil.rmtree(work, ignore_errors=True)
        self.assertEqual(code, 0)


if __name__ == "__main__":
    e2e.MODELSERVER, e2e.MODELCTL, e2e.LOCAL, e2e.DATA = sys.argv[1:5]
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
