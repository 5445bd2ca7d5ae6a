#!/usr/bin/python3
"""Open Inference Protocol cost: ModelInfer against Predict on the same server,
with an echo server as the transport baseline, in one run.

    /usr/bin/python3 bench/oip.py [--rounds N] [--seconds S] [--concurrency C] [--quick]

What runs (docs/benchmarks.md, "Open Inference Protocol"):
- one modelserver with a linear regression trained on tests/data/diabetes.csv
  (10 numeric features);
- the same rows as (1) Predict `rows` (1 row), (2) ModelInfer with one FP64
  tensor per column in `contents` (1 row), (3) ModelInfer with one `features`
  tensor [1, 10] in `contents`, (4) Predict `columns` (4,096 rows) and (5)
  ModelInfer `features` [4096, 10] in raw_input_contents; and
  bench_echo_server --mode bytes answering the single-row Predict's reply;
- grpc_load (generic async client, same client work for every target) in a
  closed loop at the given concurrency, targets in a new random order each
  round, medians over rounds; QPS (rows/s for the bulk ones) and p50, and
  the ratios to Predict.
- with wrk (Debian package) when installed: REST GET /v2/health/live (no
  work: the HTTP baseline) and POST /v2/models/linear/infer with a 1-row
  `features` tensor, 2 threads, the same number of connections.
Prints a table; writes nothing. The ModelInferRequest bytes are built with
Debian's python3-protobuf from stubs protoc generates into a temp directory.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_process import Process, modelserver  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "diabetes.csv")
TARGET = "progression"
INFER = "/inference.GRPCInferenceService/ModelInfer"


def rows_of(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [[float(v) for v in line.strip().split(",")] for line in f if line.strip()]
    t = header.index(TARGET)
    return [h for i, h in enumerate(header) if i != t], [
        [v for i, v in enumerate(r) if i != t] for r in rows]


def infer_requests(work, columns, rows):
    """Serialized ModelInferRequests: per-column (1 row), features (1 row),
    raw features (4,096 rows)."""
    subprocess.run(["protoc", f"--python_out={work}", "-I", os.path.join(ROOT, "proto"),
                    os.path.join(ROOT, "proto", "inference", "open_inference_grpc.proto")],
                   check=True)
    sys.path.insert(0, work)
    import struct
    from inference import open_inference_grpc_pb2 as pb  # noqa: E402

    per_column = pb.ModelInferRequest(model_name="linear")
    for c, name in enumerate(columns):
        t = per_column.inputs.add(name=name, datatype="FP64", shape=[1])
        t.contents.fp64_contents.append(rows[0][c])
    features = pb.ModelInferRequest(model_name="linear")
    t = features.inputs.add(name="features", datatype="FP64", shape=[1, len(columns)])
    t.contents.fp64_contents.extend(rows[0])
    bulk = pb.ModelInferRequest(model_name="linear")
    bulk.inputs.add(name="features", datatype="FP64", shape=[4096, len(columns)])
    values = [rows[i % len(rows)][c] for i in range(4096) for c in range(len(columns))]
    bulk.raw_input_contents.append(struct.pack(f"<{len(values)}d", *values))
    out = {}
    for name, message in (("infer-columns", per_column), ("infer-features", features),
                          ("infer-bulk", bulk)):
        out[name] = os.path.join(work, name + ".bin")
        with open(out[name], "wb") as f:
            f.write(message.SerializeToString())
    return out


def run_load(tool, target, request, method, seconds, concurrency):
    args = [tool, "run", "--target", target, "--request", request, "--seconds", str(seconds),
            "--concurrency", str(concurrency), "--warmup", "0.5"]
    if method:
        args += ["--method", method]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError(f"grpc_load failed: {out.stderr}")
    return json.loads(out.stdout)


def run_wrk(url, seconds, connections, body=None):
    """wrk (Debian) against `url` (POST `body` as JSON when given); requests/s
    and p50 in microseconds. None when wrk is not installed."""
    if shutil.which("wrk") is None:
        return None
    args = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
            "--latency", url]
    script = None
    if body is not None:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write('wrk.method = "POST"\n'
                     'wrk.headers["Content-Type"] = "application/json"\n'
                     f"wrk.body = {json.dumps(body)}\n")
        script.close()
        args[1:1] = ["-s", script.name]
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        if script is not None:
            os.unlink(script.name)
    rps = float(out.split("Requests/sec:")[1].split()[0])
    p50 = out.split(" 50% ")[1].split()[0]
    scale = {"us": 1, "ms": 1000, "s": 1000000}
    unit = p50.lstrip("0123456789.")
    return {"qps": rps, "p50_us": float(p50[: len(p50) - len(unit)]) * scale[unit]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--quick", action="store_true", help="1 round of 0.5 s")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.seconds = 1, 0.5
    tool = f"{a.build}/bench/grpc_load"
    work = tempfile.mkdtemp(prefix="modelserver-oip-bench-")
    procs = []
    try:
        server = modelserver(a.build, os.path.join(work, "models"), http=True)
        procs.append(server)
        subprocess.run([f"{a.build}/client/modelctl", "--server", server.address, "train",
                        "--name", "linear", "--data", DATA, "--target", TARGET],
                       check=True, capture_output=True)
        requests = {}
        for name, rows, form in (("predict-1", "1", "rows"), ("predict-bulk", "4096", "columns")):
            requests[name] = os.path.join(work, name + ".bin")
            subprocess.run([tool, "request", "--csv", DATA, "--model", "linear", "--rows", rows,
                            "--form", form, "--drop", TARGET, "--out", requests[name]],
                           check=True)
        columns, rows = rows_of(DATA)
        requests.update(infer_requests(work, columns, rows))
        reply = os.path.join(work, "reply.bin")
        subprocess.run([tool, "call", "--target", server.address, "--request",
                        requests["predict-1"], "--out", reply], check=True)
        echo = Process([f"{a.build}/bench/bench_echo_server", "--mode", "bytes",
                        "--response", reply], r"listening on (\S+)", stream="stdout")
        procs.append(echo)
        targets = {  # label -> (address, request, method, rows per call)
            "echo bytes (1 row)": (echo.address, requests["predict-1"], None, 1),
            "Predict rows (1 row)": (server.address, requests["predict-1"], None, 1),
            "ModelInfer per-column tensors (1 row)":
                (server.address, requests["infer-columns"], INFER, 1),
            "ModelInfer features tensor (1 row)":
                (server.address, requests["infer-features"], INFER, 1),
            "Predict columns (4,096 rows)": (server.address, requests["predict-bulk"], None, 4096),
            "ModelInfer raw features (4,096 rows)":
                (server.address, requests["infer-bulk"], INFER, 4096),
        }
        results = {name: [] for name in targets}
        # REST (HTTP/JSON) with wrk when it is installed: the cheapest route
        # (GET /v2/health/live, no body) as the baseline, and a 1-row infer.
        http = server.http
        features = {"inputs": [{"name": "features", "datatype": "FP64",
                                "shape": [1, len(columns)], "data": rows[0]}]}
        rest = {"REST GET /v2/health/live": (f"http://{http}/v2/health/live", None),
                "REST POST infer, features (1 row)":
                    (f"http://{http}/v2/models/linear/infer", json.dumps(features))}
        have_wrk = shutil.which("wrk") is not None
        if have_wrk:
            results.update({name: [] for name in rest})
        rng = random.Random(1)
        for r in range(a.rounds):
            order = list(targets) + (list(rest) if have_wrk else [])
            rng.shuffle(order)
            for name in order:
                if name in rest:
                    url, body = rest[name]
                    results[name].append(run_wrk(url, a.seconds, a.concurrency, body))
                    continue
                address, request, method, _ = targets[name]
                results[name].append(run_load(tool, address, request, method, a.seconds,
                                              a.concurrency))
            print(f"round {r + 1}/{a.rounds} done", file=sys.stderr, flush=True)
    finally:
        for p in procs:
            p.stop()
        shutil.rmtree(work, ignore_errors=True)

    med = {name: {k: statistics.median(x[k] for x in rs) for k in ("qps", "p50_us")}
           for name, rs in results.items()}
    base = {1: med["Predict rows (1 row)"]["qps"], 4096: med["Predict columns (4,096 rows)"]["qps"]}
    print(f"\nconcurrency {a.concurrency}, {a.rounds} rounds of {a.seconds} s, medians")
    print(f"{'target':40} {'calls/s':>10} {'rows/s':>12} {'p50 us':>8} {'/ Predict':>10}")
    for name, (_, _, _, n) in targets.items():
        m = med[name]
        print(f"{name:40} {m['qps']:10.0f} {m['qps'] * n:12.0f} {m['p50_us']:8.0f} "
              f"{m['qps'] / base[n]:10.2f}")
    if "REST GET /v2/health/live" in med:
        live = med["REST GET /v2/health/live"]["qps"]
        print(f"\nREST with wrk (2 threads, {a.concurrency} connections); ratio to GET /v2/health/live")
        for name in rest:
            m = med[name]
            print(f"{name:40} {m['qps']:10.0f} {m['qps']:12.0f} {m['p50_us']:8.0f} "
                  f"{m['qps'] / live:10.2f}")
    else:
        print("\n(REST not measured: wrk is not installed; apt-get install wrk)")


if __name__ == "__main__":
    main()
