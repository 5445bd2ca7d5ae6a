#!/usr/bin/python3
"""Cancelled RPCs, deadlines, slow and vanished clients leak no jobs, threads
or memory: the real modelserver binary, end to end.

Usage: cancel_leak_test.py MODELSERVER DATA_DIR [unittest arguments]

One server (metrics and REST on) for the whole run. setUpClass runs every
scenario once with few iterations (the warm-up: thread pools, arenas and
caches reach their working size), then records the baseline thread count and
resident memory. Each test runs one scenario in full and then checks that the
server is idle again: every modelserver_grpc_requests_in_flight gauge 0,
modelserver_training_jobs 0, no job queued or running (ListJobs), threads
back to the baseline (within THREAD_SLACK), and that it still answers. The
last test bounds the growth of anonymous resident memory (RssAnon: heap and
stacks) over all scenarios.

Scenarios:
  contract    docs/api.md: "If the client goes away the job continues." A
              Train stream cancelled after two epochs: the RPC ends
              CANCELLED (counted so by the server), the job runs on and
              publishes its version; then Train streams cancelled at once or
              right after JobAccepted, in a loop: every job succeeds, one
              version each.
  vanished    client processes killed (SIGKILL) while they read a Train
              stream, and while 16 large Predict and ModelInfer replies are
              on their way to them.
  slow        a Train stream not read until its job ended (which it did,
              and every event then arrives), 16 WatchJob streams on a queued
              job (16 in flight), half dropped, half never read.
  deadlines   Predict and ModelInfer with 1 ms deadlines (1 and 4,096 rows),
              Train with 1 ms deadlines.
  rest        REST clients that close mid-headers, mid-body, right after
              connecting, and without reading a large reply.
  uploads     UploadDataset streams cancelled midway leave no file.
  cancel_jobs CancelJob on queued and running jobs whose streams are gone.

Needs Debian's /usr/bin/python3 with python3-grpcio and python3-protobuf,
protoc (protobuf-compiler) and grpc_python_plugin (protobuf-compiler-grpc).
"""
import asyncio
import collections
import importlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from server_process import sanitizer_of  # noqa: E402
GRPC_PLUGIN = "/usr/bin/grpc_python_plugin"

import grpc  # noqa: E402

MODELSERVER = DATA = None
GEN = None
pb = pb_grpc = ipb = None

# Threads the server may hold above the baseline once idle (gRPC's executor
# and the sync server's pollers come and go), and how long the server may
# take to get back there and to finish its queued jobs (generous: a loaded
# CI machine, sanitizers).
THREAD_SLACK = 4
SETTLE_SECONDS = 180
# Anonymous resident memory (RssAnon: heap, stacks) growth allowed from the
# end of the warm-up to the end of the run (MiB; measured: see
# docs/reliability.md). Sanitizer builds keep
# more (shadow memory, quarantine, history): times SANITIZER_FACTOR.
RSS_GROWTH_MIB = 24
SANITIZER_FACTOR = {"asan": 4, "tsan": 8}
# Sanitized servers run 5-20x slower: the long scenarios' iteration counts
# are divided by the same factor there (LSan and TSan check every iteration
# themselves; the peaks of the warm-up stay the same).
# Train streams cancelled before the queue is left to drain.
BATCH = 25


def stubs():
    global GEN, pb, pb_grpc, ipb
    GEN = tempfile.mkdtemp(prefix="modelserver-leak-gen-")
    for proto in ("modelserver/v1/model_service.proto", "inference/open_inference_grpc.proto"):
        subprocess.run(["protoc", "-I", os.path.join(ROOT, "proto"), f"--python_out={GEN}",
                        f"--grpc_out={GEN}", f"--plugin=protoc-gen-grpc={GRPC_PLUGIN}",
                        os.path.join(ROOT, "proto", proto)], check=True)
    sys.path.insert(0, GEN)
    pb = importlib.import_module("modelserver.v1.model_service_pb2")
    pb_grpc = importlib.import_module("modelserver.v1.model_service_pb2_grpc")
    ipb = importlib.import_module("inference.open_inference_grpc_pb2")


def proc_status(pid):
    """(RssAnon in bytes: heap and stacks, not mapped files; threads)."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def read_csv(name, target):
    """(input columns, rows of floats without the target, file bytes)."""
    with open(os.path.join(DATA, name), "rb") as f:
        content = f.read()
    lines = content.decode().strip().splitlines()
    header = lines[0].split(",")
    t = header.index(target)
    rows = [[float(v) for i, v in enumerate(line.split(",")) if i != t] for line in lines[1:]]
    return [h for i, h in enumerate(header) if i != t], rows, content


# ----------------------------------------------------------------- requests


def train_request(name, kind="linear", epochs=0):
    """linear: exact solver on diabetes (one event); mlp: Adam on diabetes,
    one event per epoch, exactly `epochs` of them (early stopping off; 442
    rows: no validation split)."""
    _, _, content = read_csv("diabetes.csv", "progression")
    options = pb.TrainOptions(target="progression")
    if kind == "mlp":
        options.model = pb.MODEL_TYPE_MLP
        options.hidden_layers.extend([64, 64])
        options.epochs = epochs
        options.early_stopping_patience = 0
    return pb.TrainRequest(name=name, data=pb.Dataset(csv=content), options=options)


def big_predict(rows=4096):
    """Predict on the iris classifier, `rows` rows as columns: the reply holds
    rows x 3 probabilities."""
    cols, vals, _ = read_csv("iris.csv", "species")
    return pb.PredictRequest(name="iris", columns=pb.ColumnarRows(columns=[
        pb.ColumnarRows.Column(name=c, numbers=[vals[i % len(vals)][j] for i in range(rows)])
        for j, c in enumerate(cols)]))


def big_infer(rows=4096):
    cols, vals, _ = read_csv("iris.csv", "species")
    req = ipb.ModelInferRequest(model_name="iris")
    req.inputs.add(name="features", datatype="FP64", shape=[rows, len(cols)])
    flat = [vals[i % len(vals)][j] for i in range(rows) for j in range(len(cols))]
    req.raw_input_contents.append(struct.pack(f"<{len(flat)}d", *flat))
    return req


def small_predict():
    cols, vals, _ = read_csv("diabetes.csv", "progression")
    return pb.PredictRequest(name="diabetes", rows=pb.InlineRows(
        columns=cols, rows=[pb.Row(values=[pb.Value(number=x) for x in vals[0]])]))


def rest_body(rows):
    cols, vals, _ = read_csv("iris.csv", "species")
    data = [vals[i % len(vals)] for i in range(rows)]
    return json.dumps({"inputs": [{"name": "features", "datatype": "FP64",
                                   "shape": [rows, len(cols)], "data": data}]}).encode()


# ----------------------------------------------------------------- child clients

CHILD = r"""
import os, sys, time
sys.path.insert(0, {gen!r})
sys.path.insert(0, {here!r})
import grpc
import cancel_leak_test as t
t.DATA = {data!r}
t.pb = __import__("modelserver.v1.model_service_pb2", fromlist=["x"])
t.ipb = __import__("inference.open_inference_grpc_pb2", fromlist=["x"])
channel = grpc.insecure_channel({address!r}, options=[("grpc.max_receive_message_length", 1 << 28)])
mode = {mode!r}
if mode == "train":
    stream = channel.unary_stream("/modelserver.v1.ModelService/Train",
        request_serializer=t.pb.TrainRequest.SerializeToString,
        response_deserializer=t.pb.TrainEvent.FromString)(
        t.train_request("vanished", "mlp", {epochs}))
    first = next(stream)
    next(stream)  # one epoch
    print(first.job_id, flush=True)
else:
    predict = channel.unary_unary("/modelserver.v1.ModelService/Predict",
        request_serializer=t.pb.PredictRequest.SerializeToString,
        response_deserializer=t.pb.PredictResponse.FromString)
    infer = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer",
        request_serializer=t.ipb.ModelInferRequest.SerializeToString,
        response_deserializer=t.ipb.ModelInferResponse.FromString)
    p, i = t.big_predict(), t.big_infer()
    calls = [predict.future(p) for _ in range(16)] + [infer.future(i) for _ in range(16)]
    print("sent", flush=True)
time.sleep(600)  # killed by the parent
"""


def child(address, mode, epochs=0):
    """A client process running CHILD; returns (process, its first line)."""
    code = CHILD.format(gen=GEN, here=HERE, data=DATA, address=address, mode=mode,
                        epochs=epochs)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    proc.stdout.close()
    return proc, line


# ----------------------------------------------------------------- the server


class Server:
    def __init__(self, model_dir, extra=()):
        args = [MODELSERVER, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                "--http-listen", "127.0.0.1:0", "--model-dir", model_dir, *extra]
        self.lines = []
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        record = None
        for line in self.proc.stderr:
            self.lines.append(line)
            if '"grpc_address"' in line:
                record = json.loads(line)
                break
        if record is None:
            raise RuntimeError("modelserver did not start: " + "".join(self.lines))
        self.address, self.metrics, self.http = (record["grpc_address"],
                                                 record["metrics_address"],
                                                 record["http_address"])
        self.drain = threading.Thread(target=lambda: self.lines.extend(self.proc.stderr),
                                      daemon=True)
        self.drain.start()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "killed after 60 s"


def scrape(address):
    """/metrics as {(name, frozenset of (label, value)): value}."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=30) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if m:
            out[(m.group(1), frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))] = \
                float(m.group(3))
    return out


def rpc_count(metrics, method, code):
    return metrics.get(("modelserver_grpc_requests_total",
                        frozenset({("method", method), ("code", code)})), 0)


def rpc_in_flight(metrics, method):
    return metrics.get(("modelserver_grpc_requests_in_flight",
                        frozenset({("method", method)})), 0)


def http_post(address, path, body, timeout=30):
    req = urllib.request.Request(f"http://{address}{path}", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


# ----------------------------------------------------------------- the tests


class CancelLeakTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        stubs()
        cls.tmp = tempfile.mkdtemp(prefix="modelserver-leak-")
        cls.model_dir = os.path.join(cls.tmp, "models")
        cls.sanitizer = sanitizer_of(MODELSERVER)
        cls.server = Server(cls.model_dir, ["--max-queued-trainings", "256"])
        cls.pid = cls.server.proc.pid
        cls.channel = grpc.insecure_channel(
            cls.server.address, options=[("grpc.max_receive_message_length", 1 << 28)])
        cls.stub = pb_grpc.ModelServiceStub(cls.channel)
        for name, csv, target in (("diabetes", "diabetes.csv", "progression"),
                                  ("iris", "iris.csv", "species")):
            req = pb.TrainRequest(name=name, data=pb.Dataset(csv=read_csv(csv, target)[2]),
                                  options=pb.TrainOptions(target=target))
            events = list(cls.stub.Train(req, timeout=120))
            assert events[-1].HasField("result"), events[-1]
        try:
            t = cls("test_contract")
            # The warm-up: every scenario once, with fewer iterations but the
            # same peak (requests in flight, jobs queued, streams open).
            t.cancelled_train_streams(BATCH)
            t.vanished_clients(1, 3)
            t.slow_readers(16)
            t.deadlines(1000)
            t.rest_disconnects(40)
            t.cancelled_uploads(5)
            t.cancel_jobs(20)
            t.wait_idle()
            cls.threads0 = t.settled_threads(None)
            cls.rss0 = proc_status(cls.pid)[0]
        except BaseException:
            cls.channel.close()
            cls.server.stop()
            raise
        print(f"\nbaseline after warm-up: {cls.threads0} threads, "
              f"anonymous RSS {cls.rss0 / 2**20:.1f} MiB ({cls.sanitizer or 'no sanitizer'})",
              file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        shutil.rmtree(GEN, ignore_errors=True)
        if code != 0:
            raise AssertionError(f"modelserver exited with {code} on SIGTERM:\n"
                                 + "".join(cls.server.lines[-50:]))

    # ---- helpers

    def wait_idle(self):
        """Waits (up to SETTLE_SECONDS) until no RPC is in flight and no job
        is queued or running; fails naming what is left."""
        deadline = time.time() + SETTLE_SECONDS
        while True:
            metrics = scrape(self.server.metrics)
            busy = {f"{n}{dict(labels)}": v for (n, labels), v in metrics.items()
                    if n in ("modelserver_grpc_requests_in_flight",
                             "modelserver_training_jobs") and v != 0}
            jobs = self.stub.ListJobs(pb.ListJobsRequest(), timeout=30).jobs
            active = [j.job_id for j in jobs
                      if j.state in (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING)]
            if not busy and not active:
                return metrics
            if time.time() > deadline:
                self.fail(f"not idle after {SETTLE_SECONDS} s: gauges {busy}, jobs {active}")
            time.sleep(0.2)

    def settled_threads(self, limit):
        """The server's thread count once it is at most `limit` (or stops
        falling, when `limit` is None); fails after SETTLE_SECONDS."""
        deadline = time.time() + SETTLE_SECONDS
        last = None
        while True:
            threads = proc_status(self.pid)[1]
            if (limit is not None and threads <= limit) or (limit is None and threads == last):
                return threads
            if time.time() > deadline:
                self.fail(f"{threads} server threads {SETTLE_SECONDS} s after the scenario; "
                          f"limit {limit}")
            last = threads
            time.sleep(0.5)

    def assert_clean(self):
        """Idle, threads back to the baseline, and still answering."""
        self.wait_idle()
        threads = self.settled_threads(self.threads0 + THREAD_SLACK)
        print(f"\n  after {self._testMethodName}: {threads} threads, anonymous RSS "
              f"{proc_status(self.pid)[0] / 2**20:.1f} MiB", file=sys.stderr)
        reply = self.stub.Predict(small_predict(), timeout=30)
        self.assertEqual(len(reply.predictions), 1)
        status, _ = http_post(self.server.http, "/v2/models/iris/infer", rest_body(2))
        self.assertEqual(status, 200)

    def job(self, job_id):
        return self.stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=30)

    def wait_job(self, job_id, timeout=120):
        deadline = time.time() + timeout
        while True:
            j = self.job(job_id)
            if j.state not in (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING):
                return j
            if time.time() > deadline:
                self.fail(f"job {job_id} still {pb.JobState.Name(j.state)} after {timeout} s")
            time.sleep(0.05)

    def stored_versions(self, name):
        try:
            return list(self.stub.GetModel(pb.GetModelRequest(name=name),
                                           timeout=30).stored_versions)
        except grpc.RpcError as e:
            self.assertEqual(e.code(), grpc.StatusCode.NOT_FOUND)
            return []

    # ---- scenarios (each also runs, shorter, in the warm-up)

    def cancelled_train_streams(self, n):
        """Train streams cancelled at once or after JobAccepted, in batches of
        BATCH (then the queue drains): every job that was accepted runs to
        completion; one version per job."""
        name = "cancelled_stream"
        before = set(self.stored_versions(name))
        accepted = []
        for i in range(n):
            if i % BATCH == 0:
                self.wait_idle()
            call = self.stub.Train(train_request(name), timeout=60)
            if i % 2:
                accepted.append(next(call).job_id)
            call.cancel()
            with self.assertRaises(grpc.RpcError) as e:
                for _ in call:
                    pass
            self.assertEqual(e.exception.code(), grpc.StatusCode.CANCELLED)
        self.wait_idle()
        jobs = [j for j in self.stub.ListJobs(pb.ListJobsRequest(), timeout=30).jobs
                if j.name == name]
        for job_id in accepted:
            self.assertEqual(self.job(job_id).state, pb.JOB_STATE_SUCCEEDED, job_id)
        # Cancelled before JobAccepted: a job may or may not have been made.
        new_versions = set(self.stored_versions(name)) - before
        succeeded = {j.version for j in jobs if j.state == pb.JOB_STATE_SUCCEEDED} - before
        self.assertEqual(new_versions, succeeded)
        self.assertGreaterEqual(len(new_versions), len(accepted))
        self.assertLessEqual(len(new_versions), n)
        self.assertEqual([j.job_id for j in jobs if j.state != pb.JOB_STATE_SUCCEEDED], [])

    def vanished_clients(self, trains, predicts):
        """Client processes SIGKILLed mid-stream (Train) and with large
        replies on their way (Predict, ModelInfer)."""
        jobs = []
        for _ in range(trains):
            proc, job_id = child(self.server.address, "train", epochs=150)
            proc.kill()
            proc.wait()
            self.assertRegex(job_id, r"^job-\d+$")
            jobs.append(job_id)
        for _ in range(predicts):
            proc, line = child(self.server.address, "predict")
            self.assertEqual(line, "sent")
            time.sleep(0.3)
            proc.kill()
            proc.wait()
        for job_id in jobs:
            j = self.wait_job(job_id)
            self.assertEqual(j.state, pb.JOB_STATE_SUCCEEDED, job_id)
            self.assertIn(j.version, self.stored_versions("vanished"))

    def slow_readers(self, watchers):
        """Slow readers: a Train stream whose client stops reading after
        JobAccepted (the job runs to its end regardless; every event is
        delivered once the client reads again), and `watchers` WatchJob
        streams on that job, opened while it waits in the queue behind
        another job: each holds a server thread in flight; half are dropped
        while it waits, the other half never read. (Events are small: the
        transport's flow-control window holds a whole job's, so a stream
        that is not read does not block its handler's writes.)"""
        blocker_call = self.stub.Train(train_request("slow_blocker", "mlp", 100000),
                                       timeout=300)
        blocker = next(blocker_call).job_id
        blocker_call.cancel()
        call = self.stub.Train(train_request("slow", "mlp", 300), timeout=300)
        job_id = next(call).job_id
        self.assertEqual(self.job(job_id).state, pb.JOB_STATE_QUEUED)
        channels = [grpc.insecure_channel(self.server.address) for _ in range(watchers)]
        streams = [pb_grpc.ModelServiceStub(c).WatchJob(pb.WatchJobRequest(job_id=job_id),
                                                        timeout=300) for c in channels]
        deadline = time.time() + SETTLE_SECONDS
        while rpc_in_flight(scrape(self.server.metrics), "WatchJob") != watchers:
            self.assertLess(time.time(), deadline, "the watchers are not all in flight")
            time.sleep(0.05)
        self.assertEqual(self.job(job_id).state, pb.JOB_STATE_QUEUED)
        for stream in streams[: watchers // 2]:
            stream.cancel()
        self.stub.CancelJob(pb.CancelJobRequest(job_id=blocker), timeout=30)
        j = self.wait_job(job_id, timeout=SETTLE_SECONDS)
        self.assertEqual(j.state, pb.JOB_STATE_SUCCEEDED)
        self.assertEqual(self.wait_job(blocker).state, pb.JOB_STATE_CANCELLED)
        events = list(call)
        self.assertEqual(sum(e.HasField("epoch") for e in events), 300)
        self.assertTrue(events[-1].HasField("result"))
        self.assertEqual(events[-1].result.version, j.version)
        for c in channels:
            c.close()

    def deadlines(self, n):
        """n Predicts and n ModelInfers with a 1 ms deadline (every 8th 8 ms;
        a quarter of the Predicts and every ModelInfer 4,096 rows), 32 in
        flight; n / 20 Trains with 1 ms. Answers are OK or
        DEADLINE_EXCEEDED."""
        codes = collections.Counter()
        small, big, infer_req = small_predict(), big_predict(), big_infer()

        async def run():
            async with grpc.aio.insecure_channel(
                    self.server.address,
                    options=[("grpc.max_receive_message_length", 1 << 28)]) as ch:
                predict = ch.unary_unary(
                    "/modelserver.v1.ModelService/Predict",
                    request_serializer=pb.PredictRequest.SerializeToString,
                    response_deserializer=pb.PredictResponse.FromString)
                infer = ch.unary_unary(
                    "/inference.GRPCInferenceService/ModelInfer",
                    request_serializer=ipb.ModelInferRequest.SerializeToString,
                    response_deserializer=ipb.ModelInferResponse.FromString)
                todo = [(predict, big if i % 4 == 0 else small) for i in range(n)]
                todo += [(infer, infer_req) for _ in range(n)]

                async def worker(k):
                    for i, (method, req) in enumerate(todo[k::32]):
                        try:
                            # 1 ms; every 8th 8 ms, so that some expire
                            # while the server works on them.
                            await method(req, timeout=0.008 if i % 8 == 7 else 0.001)
                            codes["OK"] += 1
                        except grpc.aio.AioRpcError as e:
                            codes[e.code().name] += 1

                await asyncio.gather(*(worker(k) for k in range(32)))

        asyncio.run(run())
        for _ in range(max(1, n // 20)):
            try:
                for _ in self.stub.Train(train_request("deadline"), timeout=0.001):
                    pass
                codes["OK"] += 1
            except grpc.RpcError as e:
                codes[e.code().name] += 1
        self.assertEqual(set(codes) - {"OK", "DEADLINE_EXCEEDED"}, set(), codes)
        self.assertGreater(codes["DEADLINE_EXCEEDED"], 0, codes)
        self.assertEqual(sum(codes.values()), 2 * n + max(1, n // 20))
        return codes

    def rest_disconnects(self, n):
        """REST clients that go away: mid-headers, mid-body, right after
        connecting, and after sending a request whose large reply they never
        read."""
        host, port = self.server.http.rsplit(":", 1)
        big = rest_body(4096)
        path = "/v2/models/iris/infer"
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(big)}\r\n\r\n").encode()
        for i in range(n):
            s = socket.create_connection((host, int(port)), timeout=30)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            kind = i % 4
            if kind == 0:
                s.sendall(head[: len(head) // 2])
            elif kind == 1:
                s.sendall(head + big[: len(big) // 2])
            elif kind == 3:
                s.sendall(head + big)
            s.close()  # SO_LINGER 0: a reset, nothing read
        # Every handler thread is free again: more parallel requests than
        # threads (4) all answer.
        results = []

        def one():
            results.append(http_post(self.server.http, path, rest_body(3), timeout=20)[0])

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [200] * 8)

    def cancelled_uploads(self, n):
        """UploadDataset streams cancelled after some chunks: no file left."""
        chunk = pb.UploadChunk(data=b"x" * 65536)
        for _ in range(n):
            sent = threading.Event()

            def chunks():
                for _ in range(4):
                    yield chunk
                sent.set()
                time.sleep(30)  # never ends by itself: cancelled

            future = self.stub.UploadDataset.future(chunks(), timeout=60)
            sent.wait(10)
            time.sleep(0.02)
            future.cancel()
            with self.assertRaises(grpc.FutureCancelledError):
                future.result()
        self.wait_idle()
        uploads = os.path.join(self.model_dir, ".uploads")
        self.assertEqual(os.listdir(uploads) if os.path.isdir(uploads) else [], [])

    def cancel_jobs(self, n):
        """n MLP jobs whose streams are dropped, then CancelJob on each (the
        first runs, the others wait): all end CANCELLED but any that finished
        first, and a cancelled job leaves no version."""
        name = "cancel_job"
        before = set(self.stored_versions(name))
        ids = []
        for _ in range(n):
            call = self.stub.Train(train_request(name, "mlp", 2000), timeout=60)
            ids.append(next(call).job_id)
            call.cancel()
        for job_id in ids:
            try:
                self.stub.CancelJob(pb.CancelJobRequest(job_id=job_id), timeout=30)
            except grpc.RpcError as e:  # finished before the request
                self.assertEqual(e.code(), grpc.StatusCode.FAILED_PRECONDITION)
        states = [self.wait_job(job_id).state for job_id in ids]
        self.assertEqual(states.count(pb.JOB_STATE_CANCELLED) +
                         states.count(pb.JOB_STATE_SUCCEEDED), n, states)
        self.assertGreaterEqual(states.count(pb.JOB_STATE_CANCELLED), n - 1, states)
        new = set(self.stored_versions(name)) - before
        self.assertEqual(len(new), states.count(pb.JOB_STATE_SUCCEEDED))

    def scaled(self, n):
        """n iterations, divided by the sanitizer's factor (at least 1)."""
        return max(1, n // SANITIZER_FACTOR.get(self.sanitizer, 1))

    # ---- the tests, in name order

    def test_contract(self):
        """docs/api.md: a Train stream that the client cancels ends CANCELLED
        (so counted by the server) and its job continues to a version."""
        m0 = scrape(self.server.metrics)
        call = self.stub.Train(train_request("contract", "mlp", 300), timeout=120)
        job_id = next(call).job_id
        self.assertTrue(next(call).HasField("epoch"))
        self.assertTrue(next(call).HasField("epoch"))
        call.cancel()
        with self.assertRaises(grpc.RpcError) as e:
            for _ in call:
                pass
        self.assertEqual(e.exception.code(), grpc.StatusCode.CANCELLED)
        self.assertIn(self.job(job_id).state, (pb.JOB_STATE_RUNNING, pb.JOB_STATE_SUCCEEDED))
        j = self.wait_job(job_id)
        self.assertEqual(j.state, pb.JOB_STATE_SUCCEEDED)
        self.assertEqual(j.epoch, 300)
        self.assertEqual(self.stored_versions("contract"), [j.version])
        m1 = self.wait_idle()
        self.assertEqual(rpc_count(m1, "Train", "CANCELLED") - rpc_count(m0, "Train", "CANCELLED"),
                         1)
        self.cancelled_train_streams(self.scaled(200))
        self.assert_clean()

    def test_deadlines(self):
        codes = self.deadlines(self.scaled(3000))
        print(f"\n1 ms deadlines: {dict(codes)}", file=sys.stderr)
        self.assert_clean()

    def test_rest_disconnects(self):
        m0 = scrape(self.server.metrics)
        self.rest_disconnects(self.scaled(1000))
        self.assert_clean()
        m1 = scrape(self.server.metrics)
        answered = lambda m: sum(v for (n, _), v in m.items()  # noqa: E731
                                 if n == "modelserver_http_requests_total")
        # The 9 well-formed requests at least (those whose body was sent whole
        # may be answered too, into a closed socket).
        self.assertGreaterEqual(answered(m1) - answered(m0), 9)

    def test_slow_readers(self):
        self.slow_readers(16)
        self.assert_clean()

    def test_thread_cap(self):
        """--max-rpc-threads: streams beyond the cap are refused with
        RESOURCE_EXHAUSTED instead of one thread each without bound; Predict
        (callback API) is not affected; the server recovers when they end."""
        cap, streams_wanted = 8, 30
        tmp = tempfile.mkdtemp(prefix="modelserver-threadcap-")
        server = Server(os.path.join(tmp, "models"), ["--max-rpc-threads", str(cap)])
        channels = []
        try:
            channel = grpc.insecure_channel(server.address)
            stub = pb_grpc.ModelServiceStub(channel)
            channels.append(channel)
            events = list(stub.Train(train_request("small"), timeout=120))
            self.assertTrue(events[-1].HasField("result"), events[-1])
            long = stub.Train(train_request("long", "mlp", 100000), timeout=600)
            job_id = next(long).job_id
            watches = []
            for _ in range(streams_wanted):
                c = grpc.insecure_channel(server.address)
                channels.append(c)
                watches.append(pb_grpc.ModelServiceStub(c).WatchJob(
                    pb.WatchJobRequest(job_id=job_id), timeout=600))
            outcomes = collections.Counter()
            for w in watches:
                try:
                    next(w)
                    outcomes["OK"] += 1
                except grpc.RpcError as e:
                    outcomes[f"{e.code().name}: {e.details()}"] += 1
            refused = outcomes["RESOURCE_EXHAUSTED: Server Threadpool Exhausted"]
            print(f"\n--max-rpc-threads {cap}, {streams_wanted} WatchJob streams: "
                  f"{dict(outcomes)}; threads {proc_status(server.proc.pid)[1]}",
                  file=sys.stderr)
            self.assertEqual(outcomes["OK"] + refused, streams_wanted, outcomes)
            self.assertGreaterEqual(outcomes["OK"], 1, outcomes)
            self.assertLess(outcomes["OK"], cap, outcomes)
            self.assertLessEqual(proc_status(server.proc.pid)[1], 40)
            # Predict uses the callback API: no thread of the capped pool.
            _, _, content = read_csv("diabetes.csv", "progression")
            predicted = stub.Predict(pb.PredictRequest(name="small", csv=content), timeout=60)
            self.assertEqual(len(predicted.predictions), 442)
            for w in watches:
                w.cancel()
            long.cancel()
            # Once the streams are gone (the server learns it asynchronously),
            # synchronous calls get threads again.
            deadline = time.time() + 30
            while True:
                try:
                    cancelled = stub.CancelJob(pb.CancelJobRequest(job_id=job_id), timeout=10)
                    break
                except grpc.RpcError as e:
                    if (e.code() != grpc.StatusCode.RESOURCE_EXHAUSTED
                            or time.time() > deadline):
                        raise
                    time.sleep(0.1)
            self.assertEqual(cancelled.job_id, job_id)
            self.assertEqual(len(stub.ListModels(pb.ListModelsRequest(), timeout=10).models), 1)
        finally:
            for c in channels:
                c.close()
            code = server.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(code, 0, "".join(server.lines[-20:]))

    def test_uploads(self):
        self.cancelled_uploads(self.scaled(50))
        self.assert_clean()

    def test_vanished_clients(self):
        m0 = scrape(self.server.metrics)
        self.vanished_clients(3, 6)
        m1 = self.wait_idle()
        self.assertEqual(rpc_count(m1, "Train", "CANCELLED") - rpc_count(m0, "Train", "CANCELLED"),
                         3)
        self.assert_clean()

    def test_cancel_jobs(self):
        self.cancel_jobs(20)
        self.assert_clean()

    def test_zz_memory(self):
        """Runs last (name order): anonymous resident memory after every
        scenario."""
        self.assert_clean()
        rss = proc_status(self.pid)[0]
        growth = (rss - self.rss0) / 2**20
        bound = RSS_GROWTH_MIB * SANITIZER_FACTOR.get(self.sanitizer, 1)
        print(f"\nanonymous RSS {self.rss0 / 2**20:.1f} -> {rss / 2**20:.1f} MiB "
              f"(growth {growth:.1f}, bound {bound}); threads {self.threads0} -> "
              f"{proc_status(self.pid)[1]}", file=sys.stderr)
        self.assertLess(growth, bound)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    MODELSERVER, DATA = sys.argv[1], sys.argv[2]
    if sanitizer_of(MODELSERVER) == "asan":  # a bounded quarantine, so freed memory shows
        os.environ["ASAN_OPTIONS"] = ":".join(filter(None, [
            os.environ.get("ASAN_OPTIONS", ""), "quarantine_size_mb=16"]))
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
