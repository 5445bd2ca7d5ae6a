#!/usr/bin/python3
"""Soak: Predict, ModelInfer and REST infer at high concurrency for minutes
while models train, labels move and old versions are deleted.

    /usr/bin/python3 bench/soak.py [--build build] [--duration 60] [--concurrency 48]
    /usr/bin/python3 bench/soak.py --duration 600          # the documented long run

What runs (docs/reliability.md, "Soak"):
- one modelserver (--serve-versions latest:2, metrics and REST on) with four
  models: soak_a (linear regression, tests/data/diabetes.csv, label
  `stable`), soak_b (logistic regression, iris.csv), soak_mlp (MLP on
  diabetes) and soak_c (linear, deleted whole and trained again);
- load: --concurrency requests in flight (asyncio + grpc.aio; REST on
  --rest-connections keep-alive connections), each with a --deadline,
  kinds drawn at random: Predict soak_a latest / label `stable` / a recent
  pinned version, Predict soak_mlp latest (rows and columns forms), Predict
  soak_c latest, ModelInfer soak_b latest and soak_a pinned, REST infer
  soak_a latest and pinned;
- meanwhile one mutator thread loops: trains a new soak_a version (every
  round), soak_b (every 2nd), soak_mlp (every 3rd), moves `stable` to the
  newest soak_a version (every 4th), deletes every version of each model but
  the newest two and the labelled one, and every 5th round deletes soak_c
  whole and trains it again. Every mutation must succeed;
- a sampler reads the server's VmRSS, RssAnon (heap and stacks, not mapped
  files) and thread count (/proc/PID/status) every second.

Which failures are expected (counted apart; every other non-OK answer is
unexpected): NOT_FOUND (HTTP 404) for a pinned version (one of the four
newest soak_a versions published: it may have been deleted, or left the
newest two and so no longer be served), and NOT_FOUND for soak_c (deleted
whole for a moment). Latest, the label `stable`, soak_b and soak_mlp must
always answer OK: the newest version is never deleted, and a labelled
version is always served and cannot be deleted.

At the end: the load stops, the server's own counts of Predict and
ModelInfer by code must equal the client's, every in-flight gauge must be 0
and no training job queued or running, and SIGTERM must exit 0.

Exit status 1 on any unexpected answer (DEADLINE_EXCEEDED included: a
server that stops answering is a deadlock), a failed mutation, a failed
end check, the server exiting, or VmRSS growth above --max-rss-growth-mib
between the end of the warm-up and the end (medians of 5 s of samples;
24 MiB: a 10-minute run grows 7.4 MiB, and its heap in use stays near
3 MiB, see docs/reliability.md). Sanitizer
builds (found in the binary) get --asan-rss-factor / --tsan-rss-factor
times that bound; ASan's quarantine is limited to 16 MiB for the run.
Prints a summary; --json writes it.
"""
import argparse
import asyncio
import collections
import importlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_process import modelserver, sanitizer_of  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
GRPC_PLUGIN = "/usr/bin/grpc_python_plugin"

import grpc  # noqa: E402  (Debian's python3-grpcio)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def stubs(work):
    """Generated modules of our two protos: (ModelService pb2, its grpc
    module, OIP pb2, its grpc module)."""
    os.makedirs(work, exist_ok=True)
    for proto in ("modelserver/v1/model_service.proto", "inference/open_inference_grpc.proto"):
        subprocess.run(["protoc", "-I", os.path.join(ROOT, "proto"), f"--python_out={work}",
                        f"--grpc_out={work}", f"--plugin=protoc-gen-grpc={GRPC_PLUGIN}",
                        os.path.join(ROOT, "proto", proto)], check=True)
    sys.path.insert(0, work)
    return (importlib.import_module("modelserver.v1.model_service_pb2"),
            importlib.import_module("modelserver.v1.model_service_pb2_grpc"),
            importlib.import_module("inference.open_inference_grpc_pb2"),
            importlib.import_module("inference.open_inference_grpc_pb2_grpc"))


def proc_status(pid, anon=False):
    """(VmRSS in bytes, threads) of a live process; with `anon`, also its
    RssAnon (heap, stacks: not the mapped files)."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    if "VmRSS" not in fields:  # a zombie: the process has exited
        raise ProcessLookupError(f"process {pid} has exited")
    rss, threads = int(fields["VmRSS"][0]) * 1024, int(fields["Threads"][0])
    return (rss, threads, int(fields["RssAnon"][0]) * 1024) if anon else (rss, threads)


def scrape(address):
    """The server's /metrics as {(name, frozenset(labels)): value}."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=30) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def read_csv(name, target):
    with open(os.path.join(DATA, name)) as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f if line.strip()]
    t = header.index(target)
    columns = [h for i, h in enumerate(header) if i != t]
    values = [[float(v) for i, v in enumerate(r) if i != t] for r in rows]
    with open(os.path.join(DATA, name), "rb") as f:
        return columns, values, f.read()


class Mutator(threading.Thread):
    """Trains, labels and deletes versions until stopped; records what it did
    and every failure (all of which are unexpected)."""

    def __init__(self, pb, stub, csvs, deadline, pause):
        super().__init__(daemon=True)
        self.pb, self.stub, self.csvs, self.deadline, self.pause = pb, stub, csvs, deadline, pause
        self.stop_event = threading.Event()
        self.published = collections.Counter()
        self.deleted = collections.Counter()
        self.labels_moved = 0
        self.rounds = 0
        self.failures = []
        self.lock = threading.Lock()
        self.recent = {"soak_a": []}  # newest versions first, for pinned requests
        self.label_version = 0

    def train(self, name):
        pb = self.pb
        options = {
            "soak_a": pb.TrainOptions(target="progression"),
            "soak_c": pb.TrainOptions(target="progression"),
            "soak_b": pb.TrainOptions(target="species"),
            "soak_mlp": pb.TrainOptions(target="progression", model=pb.MODEL_TYPE_MLP,
                                        hidden_layers=[32, 16], epochs=40),
        }[name]
        csv = self.csvs["iris"] if name == "soak_b" else self.csvs["diabetes"]
        request = pb.TrainRequest(name=name, data=pb.Dataset(csv=csv), options=options)
        version = 0
        for event in self.stub.Train(request, timeout=self.deadline):
            if event.HasField("result"):
                version = event.result.version
            elif event.HasField("failed"):
                raise RuntimeError(f"Train {name}: job failed: {event.failed.message}")
        if version <= 0:
            raise RuntimeError(f"Train {name}: no result")
        self.published[name] += 1
        if name == "soak_a":
            with self.lock:
                self.recent["soak_a"] = ([version] + self.recent["soak_a"])[:4]
        return version

    def set_label(self, version):
        self.stub.SetLabel(self.pb.SetLabelRequest(name="soak_a", label="stable",
                                                   version=version), timeout=self.deadline)
        self.label_version = version
        self.labels_moved += 1

    def prune(self, name):
        """Deletes every stored version but the newest two and the labelled."""
        info = self.stub.GetModel(self.pb.GetModelRequest(name=name), timeout=self.deadline)
        keep = set(sorted(info.stored_versions)[-2:]) | set(info.labels.values())
        for v in info.stored_versions:
            if v not in keep:
                r = self.stub.DeleteModel(self.pb.DeleteModelRequest(name=name, version=v),
                                          timeout=self.deadline)
                if list(r.deleted_versions) != [v]:
                    raise RuntimeError(f"DeleteModel {name} {v}: deleted {r.deleted_versions}")
                self.deleted[name] += 1

    def delete_whole(self, name):
        r = self.stub.DeleteModel(self.pb.DeleteModelRequest(name=name, version=0),
                                  timeout=self.deadline)
        self.deleted[name] += len(r.deleted_versions)

    def one_round(self):
        self.rounds += 1
        i = self.rounds
        newest = self.train("soak_a")
        if i % 2 == 0:
            self.train("soak_b")
        if i % 3 == 0:
            self.train("soak_mlp")
        if i % 4 == 0:
            self.set_label(newest)
        for name in ("soak_a", "soak_b", "soak_mlp"):
            self.prune(name)
        if i % 5 == 0:
            self.delete_whole("soak_c")
            self.train("soak_c")

    def run(self):
        while not self.stop_event.is_set():
            try:
                self.one_round()
            except Exception as e:  # grpc.RpcError or RuntimeError: unexpected
                self.failures.append(f"round {self.rounds}: {e}")
                if len(self.failures) > 20:
                    return
            self.stop_event.wait(self.pause)

    def pinned(self, rng):
        with self.lock:
            recent = self.recent["soak_a"]
            return rng.choice(recent) if recent else 1


class Sampler(threading.Thread):
    """VmRSS and thread count of `pid` every second."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples = []  # (seconds since start, rss bytes, threads, anon bytes)
        self.stop_event = threading.Event()
        self.t0 = time.monotonic()

    def run(self):
        while True:
            try:
                rss, threads, anon = proc_status(self.pid, anon=True)
            except OSError:
                return
            self.samples.append((time.monotonic() - self.t0, rss, threads, anon))
            if self.stop_event.wait(1.0):
                return


class Load:
    """The request mix; counts answers by (kind, code) and classifies them."""

    # kind -> codes that are expected besides OK (gRPC names; REST: statuses)
    EXPECTED = {
        "predict_pinned": {"NOT_FOUND"},
        "predict_c": {"NOT_FOUND"},
        "infer_pinned": {"NOT_FOUND"},
        "rest_pinned": {"404"},
    }
    GRPC_KINDS = ["predict_latest", "predict_label", "predict_pinned", "predict_mlp_rows",
                  "predict_mlp_columns", "predict_c", "infer_latest", "infer_pinned"]

    def __init__(self, pb, ipb, mutator, address, http, deadline, seed):
        self.pb, self.ipb, self.mutator = pb, ipb, mutator
        self.address, self.http, self.deadline = address, http, deadline
        self.counts = collections.Counter()  # (kind, code) -> n
        self.server_counted = collections.Counter()  # (method, code) -> n, gRPC only
        self.unexpected_examples = []
        self.done = 0
        self.rng = random.Random(seed)
        self.stop = False
        d_cols, d_vals, _ = read_csv("diabetes.csv", "progression")
        i_cols, i_vals, _ = read_csv("iris.csv", "species")
        self.d_cols, self.d_vals, self.i_vals = d_cols, d_vals, i_vals
        rows = lambda vals: pb.InlineRows(  # noqa: E731
            columns=d_cols, rows=[pb.Row(values=[pb.Value(number=x) for x in r]) for r in vals])
        self.rows1 = [rows([r]) for r in d_vals[:32]]
        self.rows16 = rows(d_vals[:16])
        self.columns64 = pb.ColumnarRows(columns=[
            pb.ColumnarRows.Column(name=c, numbers=[r[j] for r in d_vals[:64]])
            for j, c in enumerate(d_cols)])

    def record(self, kind, code, detail=""):
        self.counts[(kind, code)] += 1
        self.done += 1
        if code not in ("OK", "200") and code not in self.EXPECTED.get(kind, ()):
            if len(self.unexpected_examples) < 20:
                self.unexpected_examples.append(f"{kind}: {code} {detail}")

    def infer_request(self, name, version, vals):
        req = self.ipb.ModelInferRequest(model_name=name, model_version=version)
        t = req.inputs.add(name="features", datatype="FP64", shape=[1, len(vals)])
        t.contents.fp64_contents.extend(vals)
        return req

    async def grpc_worker(self, channel):
        pb, rng = self.pb, self.rng
        predict = channel.unary_unary(
            "/modelserver.v1.ModelService/Predict",
            request_serializer=pb.PredictRequest.SerializeToString,
            response_deserializer=pb.PredictResponse.FromString)
        infer = channel.unary_unary(
            "/inference.GRPCInferenceService/ModelInfer",
            request_serializer=self.ipb.ModelInferRequest.SerializeToString,
            response_deserializer=self.ipb.ModelInferResponse.FromString)
        while not self.stop:
            kind = rng.choice(self.GRPC_KINDS)
            method = "ModelInfer" if kind.startswith("infer") else "Predict"
            if kind == "predict_latest":
                call = predict(pb.PredictRequest(name="soak_a", rows=rng.choice(self.rows1)),
                               timeout=self.deadline)
            elif kind == "predict_label":
                call = predict(pb.PredictRequest(name="soak_a", version_label="stable",
                                                 rows=self.rows16), timeout=self.deadline)
            elif kind == "predict_pinned":
                call = predict(pb.PredictRequest(name="soak_a", version=self.mutator.pinned(rng),
                                                 rows=rng.choice(self.rows1)),
                               timeout=self.deadline)
            elif kind == "predict_mlp_rows":
                call = predict(pb.PredictRequest(name="soak_mlp", rows=self.rows16),
                               timeout=self.deadline)
            elif kind == "predict_mlp_columns":
                call = predict(pb.PredictRequest(name="soak_mlp", columns=self.columns64),
                               timeout=self.deadline)
            elif kind == "predict_c":
                call = predict(pb.PredictRequest(name="soak_c", rows=rng.choice(self.rows1)),
                               timeout=self.deadline)
            elif kind == "infer_latest":
                call = infer(self.infer_request("soak_b", "", rng.choice(self.i_vals)),
                             timeout=self.deadline)
            else:  # infer_pinned
                call = infer(self.infer_request("soak_a", str(self.mutator.pinned(rng)),
                                                rng.choice(self.d_vals)), timeout=self.deadline)
            try:
                reply = await call
                code, detail = "OK", ""
                if method == "Predict":
                    n = len(reply.predictions) + len(reply.values)
                    want = 64 if kind == "predict_mlp_columns" else (
                        16 if kind in ("predict_label", "predict_mlp_rows") else 1)
                    if n != want:
                        code, detail = "WRONG_REPLY", f"{n} predictions, expected {want}"
                elif len(reply.outputs) == 0:
                    code, detail = "WRONG_REPLY", "no outputs"
                self.server_counted[(method, "OK")] += 1
            except grpc.aio.AioRpcError as e:
                code, detail = e.code().name, e.details()
                self.server_counted[(method, code)] += 1
            self.record(kind, code, detail)

    async def rest_worker(self):
        rng = self.rng
        host, port = self.http.rsplit(":", 1)
        reader = writer = None
        while not self.stop:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, int(port))
            pinned = rng.random() < 0.5
            kind = "rest_pinned" if pinned else "rest_latest"
            path = (f"/v2/models/soak_a/versions/{self.mutator.pinned(rng)}/infer" if pinned
                    else "/v2/models/soak_a/infer")
            body = json.dumps({"inputs": [{"name": "features", "datatype": "FP64",
                                           "shape": [1, len(self.d_cols)],
                                           "data": rng.choice(self.d_vals)}]}).encode()
            writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
                         f"application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.deadline)
                status = head.split(b" ", 2)[1].decode()
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                payload = await asyncio.wait_for(reader.readexactly(length), self.deadline)
                detail = payload[:200].decode(errors="replace") if status != "200" else ""
                if re.search(rb"(?i)connection: *close", head):
                    writer.close()
                    writer = None
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError) as e:
                status, detail = "NO_REPLY", repr(e)
                writer.close()
                writer = None
            self.record(kind, status, detail)
        if writer is not None:
            writer.close()

    async def run(self, seconds, concurrency, rest_connections):
        options = [("grpc.max_receive_message_length", 64 << 20)]
        async with grpc.aio.insecure_channel(self.address, options=options) as channel:
            tasks = [asyncio.ensure_future(self.grpc_worker(channel))
                     for _ in range(concurrency - rest_connections)]
            tasks += [asyncio.ensure_future(self.rest_worker()) for _ in range(rest_connections)]
            t_end = time.monotonic() + seconds
            while not self.stop and time.monotonic() < t_end:
                await asyncio.sleep(0.2)
            self.stop = True
            await asyncio.gather(*tasks)


def median_between(samples, t0, t1, field):
    values = [s[field] for s in samples if t0 <= s[0] <= t1]
    return statistics.median(values) if values else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--server", help="modelserver binary (default BUILD/server/modelserver)")
    ap.add_argument("--duration", type=float, default=60, help="seconds of load")
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds before the RSS baseline (default: a quarter of the "
                         "duration, at most 60)")
    ap.add_argument("--concurrency", type=int, default=48, help="requests in flight")
    ap.add_argument("--rest-connections", type=int, default=2)
    ap.add_argument("--deadline", type=float, default=30, help="per-request deadline, s")
    ap.add_argument("--mutate-pause", type=float, default=0.2,
                    help="seconds between the mutator's rounds")
    ap.add_argument("--max-rss-growth-mib", type=float, default=24)
    ap.add_argument("--asan-rss-factor", type=float, default=4)
    ap.add_argument("--tsan-rss-factor", type=float, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write the summary here")
    a = ap.parse_args()
    binary = a.server or os.path.join(a.build, "server", "modelserver")
    warmup = a.warmup if a.warmup is not None else min(60.0, a.duration / 4)
    sanitizer = sanitizer_of(binary)
    growth_limit = a.max_rss_growth_mib * {"asan": a.asan_rss_factor,
                                           "tsan": a.tsan_rss_factor}.get(sanitizer, 1)
    if sanitizer == "asan":  # a bounded quarantine, so that freed memory shows
        os.environ["ASAN_OPTIONS"] = ":".join(filter(None, [
            os.environ.get("ASAN_OPTIONS", ""), "quarantine_size_mb=16"]))

    work = tempfile.mkdtemp(prefix="modelserver-soak-")
    failures = []
    server = None
    try:
        pb, pb_grpc, ipb, _ = stubs(os.path.join(work, "gen"))
        server = modelserver(None, os.path.join(work, "models"), metrics=True, http=True,
                             binary=binary, extra=["--serve-versions", "latest:2"])
        pid = server.proc.pid
        channel = grpc.insecure_channel(server.address)
        stub = pb_grpc.ModelServiceStub(channel)
        csvs = {"diabetes": read_csv("diabetes.csv", "progression")[2],
                "iris": read_csv("iris.csv", "species")[2]}
        mutator = Mutator(pb, stub, csvs, deadline=max(120.0, a.deadline), pause=a.mutate_pause)
        for name in ("soak_a", "soak_b", "soak_mlp", "soak_c"):
            mutator.train(name)
        mutator.set_label(mutator.recent["soak_a"][0])
        rss0, threads0 = proc_status(pid)
        log(f"soak: server pid {pid} ({sanitizer or 'no sanitizer'}), {a.duration:.0f} s, "
            f"{a.concurrency} in flight, warm-up {warmup:.0f} s, RSS bound "
            f"{growth_limit:.0f} MiB")

        sampler = Sampler(pid)
        sampler.start()
        mutator.start()
        load = Load(pb, ipb, mutator, server.address, server.http, a.deadline, a.seed)
        t_start = time.monotonic()

        async def progress():
            last, next_report = 0, 10
            while not load.stop:
                await asyncio.sleep(0.5)
                if server.proc.poll() is not None:
                    failures.append(f"modelserver exited with {server.proc.returncode} "
                                    f"{time.monotonic() - t_start:.0f} s into the load")
                    load.stop = True
                    break
                if load.stop or time.monotonic() - t_start < next_report:
                    continue
                next_report += 10
                rss, threads = sampler.samples[-1][1:3] if sampler.samples else (0, 0)
                log(f"  {time.monotonic() - t_start:5.0f} s: {load.done - last} answers in 10 s,"
                    f" RSS {rss / 2**20:.1f} MiB, {threads} threads, "
                    f"{sum(mutator.published.values())} published, "
                    f"{sum(mutator.deleted.values())} deleted")
                last = load.done

        async def both():
            await asyncio.gather(load.run(a.duration, a.concurrency, a.rest_connections),
                                 progress())

        asyncio.run(both())
        elapsed = time.monotonic() - t_start
        mutator.stop_event.set()
        mutator.join(timeout=max(120.0, a.deadline) + 30)
        if mutator.is_alive():
            failures.append("the mutator did not finish its round (a Train or delete hangs)")
        failures += [f"mutation failed: {f}" for f in mutator.failures]

        # ---- end checks: the server's counts, gauges, jobs
        time.sleep(1.5)  # the last sample after the load
        metrics = scrape(server.metrics)
        for (method, code), n in sorted(load.server_counted.items()):
            got = metrics.get(("modelserver_grpc_requests_total",
                               frozenset({("method", method), ("code", code)})), 0)
            if code != "DEADLINE_EXCEEDED" and got != n:
                failures.append(f"server counted {got:.0f} {method} {code}, the client {n}")
        for (name, labels), value in metrics.items():
            if name == "modelserver_grpc_requests_in_flight" and value != 0:
                failures.append(f"in-flight gauge {dict(labels)} = {value:.0f} after the load")
            if name == "modelserver_training_jobs" and value != 0:
                failures.append(f"training jobs {dict(labels)} = {value:.0f} after the load")
        jobs = stub.ListJobs(pb.ListJobsRequest(), timeout=30).jobs
        active = [j.job_id for j in jobs if j.state in (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING)]
        if active:
            failures.append(f"jobs still queued or running: {active}")
        sampler.stop_event.set()
        sampler.join()
        channel.close()
        samples = sampler.samples
        rss_end, threads_end = proc_status(pid)
        code = server.stop()
        server = None
        if code != 0:
            failures.append(f"modelserver exited with {code} on SIGTERM")

        # ---- summary
        base_t = warmup
        end_t = samples[-1][0] if samples else 0
        rss_base = median_between(samples, base_t, base_t + 5, 1)
        rss_final = median_between(samples, end_t - 5, end_t, 1)
        rss_max = max((s[1] for s in samples if s[0] >= base_t), default=0)
        growth = (rss_final - rss_base) / 2**20
        by_code = collections.Counter()
        expected = collections.Counter()
        unexpected = collections.Counter()
        for (kind, c), n in load.counts.items():
            by_code[c] += n
            if c in ("OK", "200"):
                continue
            (expected if c in Load.EXPECTED.get(kind, ()) else unexpected)[f"{kind} {c}"] += n
        total = sum(load.counts.values())
        summary = {
            "duration_s": round(elapsed, 1), "concurrency": a.concurrency,
            "sanitizer": sanitizer, "requests": total, "rate_per_s": round(total / elapsed, 1),
            "by_kind": {k: sum(n for (kk, _), n in load.counts.items() if kk == k)
                        for k in sorted({k for k, _ in load.counts})},
            "by_code": dict(by_code), "expected_errors": dict(expected),
            "unexpected_errors": dict(unexpected),
            "unexpected_examples": load.unexpected_examples,
            "rss_mib": {"before_load": round(rss0 / 2**20, 1),
                        "after_warmup": round(rss_base / 2**20, 1),
                        "max_after_warmup": round(rss_max / 2**20, 1),
                        "end": round(rss_final / 2**20, 1), "growth": round(growth, 1),
                        "limit": growth_limit},
            "threads": {"before_load": threads0,
                        "after_warmup": int(median_between(samples, base_t, base_t + 5, 2)),
                        "max": max((s[2] for s in samples), default=0), "end": threads_end},
            "mutator_rounds": mutator.rounds, "versions_published": dict(mutator.published),
            "versions_deleted": dict(mutator.deleted), "labels_moved": mutator.labels_moved,
            "rss_anon_mib": {"after_warmup": round(median_between(samples, base_t, base_t + 5, 3)
                                                   / 2**20, 1),
                             "end": round(median_between(samples, end_t - 5, end_t, 3) / 2**20,
                                          1)},
            "rss_samples": [(round(t), s, th, an) for t, s, th, an in samples],
        }
        if unexpected:
            failures.append(f"unexpected answers: {dict(unexpected)}; e.g. "
                            f"{load.unexpected_examples[:5]}")
        if total == 0:
            failures.append("no request answered")
        if growth > growth_limit:
            failures.append(f"RSS grew {growth:.1f} MiB after the warm-up "
                            f"(bound {growth_limit:.0f} MiB)")
        summary["failures"] = failures
        print_summary(summary)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(summary, f, indent=1)
    except Exception as e:
        failures.append(f"soak aborted: {e!r}")
        log(f"FAIL: {e!r}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        log(f"FAIL: {f}")
    return 1 if failures else 0


def print_summary(s):
    r, t = s["rss_mib"], s["threads"]
    print(f"soak: {s['duration_s']} s at {s['concurrency']} in flight"
          f"{' (' + s['sanitizer'] + ')' if s['sanitizer'] else ''}")
    print(f"requests: {s['requests']} ({s['rate_per_s']}/s)")
    print("  by kind: " + ", ".join(f"{k} {n}" for k, n in s["by_kind"].items()))
    print("  by code: " + ", ".join(f"{k} {n}" for k, n in sorted(s["by_code"].items())))
    print(f"  expected errors: {sum(s['expected_errors'].values())} "
          f"{s['expected_errors']}")
    print(f"  unexpected errors: {sum(s['unexpected_errors'].values())} "
          f"{s['unexpected_errors']}")
    print(f"RSS MiB: before load {r['before_load']}, after warm-up {r['after_warmup']}, "
          f"max {r['max_after_warmup']}, end {r['end']}, growth {r['growth']} "
          f"(bound {r['limit']:.0f})")
    print(f"  of which anonymous (heap, stacks): after warm-up "
          f"{s['rss_anon_mib']['after_warmup']}, end {s['rss_anon_mib']['end']}")
    print(f"threads: before load {t['before_load']}, after warm-up {t['after_warmup']}, "
          f"max {t['max']}, end {t['end']}")
    print(f"mutator: {s['mutator_rounds']} rounds, published {s['versions_published']}, "
          f"deleted {s['versions_deleted']}, label moved {s['labels_moved']} times")
    print("result: " + ("FAIL" if s["failures"] else "OK"))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
