#!/usr/bin/python3
"""Crash consistency: SIGKILL the real modelserver at random moments while it
trains, saves, labels and deletes models; restart it on the same model
directory and check that nothing reported is lost and nothing partial is
visible.

Usage: crash_consistency_test.py MODELSERVER DATA_DIR [--rounds N] [--seed S]
                                 [--keep]

Each round starts modelserver (--serve-versions all, --poll-interval 0) on a
model directory that persists across rounds, and first checks what the
previous round left (see verify()):
  - the server starts, and its start-up line reports every version loaded
    (versions_not_loaded 0, no warning logged);
  - every version whose TrainResult (the Train stream's final "result"
    event, sent only after the artifact is durable) was received is listed
    (GetModel versions and stored_versions) and predicts exactly what it
    predicted before the kill (PredictResponse bytes equal), unless its
    deletion was confirmed (then it is gone) or in flight (either);
  - on disk, every <name>/<version>/ is empty or holds exactly model.msm,
    every model.msm is a listed, served version (no partial artifact is
    visible: the server serves exactly what is on disk), and no temporary
    file (*.tmp-*, .uploads/*.part) is left: the server removes those of
    dead writers at start-up;
  - confirmed labels are there (a label change in flight at the kill: the old
    or the new value), confirmed uploads are complete files;
  - versions that completed but whose result the client never received
    (killed between the rename and the reply) are complete and predict.
Then four client threads run concurrent work: Train on several data sets,
model kinds and sizes (1x to 40x the rows, so that the kill lands while
reading, training or saving), some from an UploadDataset; one of them also
deletes old versions and sets and removes labels. The server is SIGKILLed
after a random delay, or (every third round) right after a job reports its
last epoch, so that kills land while the artifact is written. The state of
every client thread at the kill and what the kill left on disk (claimed
empty version directories, temporary files, partial uploads) are tallied
and printed. After the last round the server is restarted, checked once
more and stopped with SIGTERM (exit status 0).

The seed is printed; --seed S reruns the same sequence of delays and
operations (timing still varies). Needs Debian's /usr/bin/python3 with
python3-grpcio and python3-protobuf, protoc and grpc_python_plugin.
"""
import argparse
import collections
import csv
import io
import os
import random
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fault_util as fu  # noqa: E402

import grpc  # noqa: E402

pb = pb_grpc = None

# model name -> (CSV file, target, TrainOptions fields). Seeds fixed, one
# training thread: the same data gives the same model.
SPECS = {
    "iris_logistic": ("iris.csv", "species",
                      dict(model="LOGISTIC", optimizer="ADAM", epochs=40)),
    "diabetes_linear": ("diabetes.csv", "progression", dict(model="LINEAR")),
    "diabetes_mlp": ("diabetes.csv", "progression",
                     dict(model="MLP", optimizer="ADAM", epochs=25, hidden_layers=[16])),
    "mpg_logistic": ("mpg.csv", "class", dict(model="LOGISTIC", optimizer="LBFGS", epochs=30)),
    "cancer_mlp": ("breast_cancer.csv", "diagnosis",
                   dict(model="MLP", optimizer="ADAM", epochs=15, hidden_layers=[8])),
}
REPEATS = (1, 1, 4, 12, 40)  # data set sizes: the rows repeated this often
WORKERS = 4
LABELS = ("stable", "canary")


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Data:
    """Per model: CSV bytes at each size, and the rows Predict is asked."""

    def __init__(self, data_dir):
        self.csv = {}
        self.predict = {}
        for name, (file, _, _) in SPECS.items():
            with open(os.path.join(data_dir, file), newline="") as f:
                text = f.read()
            header, _, body = text.partition("\n")
            body = body.rstrip("\n") + "\n"
            self.csv[name] = {k: (header + "\n" + body * k).encode() for k in set(REPEATS)}
            rows = list(csv.reader(io.StringIO(body)))[:6]
            out = io.StringIO()
            w = csv.writer(out, lineterminator="\n")
            w.writerow(next(csv.reader(io.StringIO(header))))
            w.writerows(rows)
            self.predict[name] = out.getvalue().encode()


def train_request(name, data, repeat, upload_id=None):
    file, target, opts = SPECS[name]
    # Not kept for resuming after a restart (checkpoint_every_epochs 0): a
    # resumed job would publish versions while verify() compares the
    # directory with the server. checkpoint_resume_test.py covers resuming.
    options = pb.TrainOptions(target=target, seed=7, checkpoint_every_epochs=0)
    options.model = pb.ModelType.Value("MODEL_TYPE_" + opts["model"])
    if "optimizer" in opts:
        options.optimizer = pb.Optimizer.Value("OPTIMIZER_" + opts["optimizer"])
    if "epochs" in opts:
        options.epochs = opts["epochs"]
    options.hidden_layers.extend(opts.get("hidden_layers", []))
    dataset = pb.Dataset(upload_id=upload_id) if upload_id else pb.Dataset(
        csv=data.csv[name][repeat])
    return pb.TrainRequest(name=name, data=dataset, options=options)


class Ledger:
    """What the clients were told, across rounds."""

    def __init__(self):
        self.lock = threading.Lock()
        self.versions = {}        # (name, v) -> PredictResponse bytes or None
        self.unreported = set()   # on disk after a kill, result never received
        self.deleted = set()      # deletion confirmed
        self.pending_delete = set()
        self.labels = {}          # (name, label) -> version or None (removed)
        self.pending_labels = {}  # (name, label) -> new value in flight
        self.uploads = set()      # upload ids confirmed
        self.stats = collections.Counter()

    def live_versions(self, name):
        return sorted(v for (n, v) in self.versions
                      if n == name and (n, v) not in self.deleted)


class Round:
    """One server life: concurrent client threads until the kill."""

    def __init__(self, server, ledger, data, rng, index):
        self.server = server
        self.ledger = ledger
        self.data = data
        self.index = index
        self.channel = grpc.insecure_channel(server.address)
        self.stub = pb_grpc.ModelServiceStub(self.channel)
        self.killed = threading.Event()
        self.states = ["idle"] * WORKERS
        self.rngs = [random.Random(rng.random()) for _ in range(WORKERS)]
        self.errors = []
        self.last_epoch = threading.Event()
        self.admin_started = threading.Event()
        # Rounds that aim at label writes and deletes: mostly those.
        self.admin_share = 0.9 if index % 4 == 3 else 0.3

    def set_state(self, i, state):
        self.states[i] = state

    def worker(self, i):
        rng = self.rngs[i]
        try:
            while not self.killed.is_set():
                op = rng.random()
                if i == 0 and op < self.admin_share:
                    self.admin_op(i, rng)
                else:
                    self.train(i, rng)
        except grpc.RpcError as e:
            if not self.killed.is_set():
                self.errors.append(f"worker {i} ({self.states[i]}): {e.code()} {e.details()}")
        except Failure as e:
            self.errors.append(f"worker {i}: {e}")
        self.set_state(i, "stopped")

    def train(self, i, rng):
        name = rng.choice(sorted(SPECS))
        repeat = rng.choice(REPEATS)
        upload_id = None
        if rng.random() < 0.2:
            self.set_state(i, "upload")
            payload = self.data.csv[name][repeat]
            chunks = [payload[j:j + 65536] for j in range(0, len(payload), 65536)]
            reply = self.stub.UploadDataset(iter(pb.UploadChunk(data=c) for c in chunks),
                                            timeout=30)
            check(reply.bytes == len(payload), f"upload of {len(payload)} bytes: {reply}")
            with self.ledger.lock:
                self.ledger.uploads.add(reply.upload_id)
            upload_id = reply.upload_id
        self.set_state(i, "train:queued")
        result = None
        for event in self.stub.Train(train_request(name, self.data, repeat, upload_id),
                                     timeout=60):
            kind = event.WhichOneof("event")
            if kind == "accepted":
                self.set_state(i, "train:before-epochs")
            elif kind == "epoch":
                last = event.epoch.epoch == event.epoch.max_epochs
                self.set_state(i, "train:last-epoch" if last else "train:epochs")
                if last:
                    self.last_epoch.set()
            elif kind == "result":
                result = event.result
            elif kind == "failed":
                raise Failure(f"train {name}: job failed: {event.failed}")
        check(result is not None and result.version > 0, f"train {name}: no result")
        key = (name, result.version)
        with self.ledger.lock:
            check(key not in self.ledger.versions, f"version {key} reported twice")
            self.ledger.versions[key] = None
            self.ledger.stats["versions reported"] += 1
        self.set_state(i, "predict")
        reply = self.stub.Predict(pb.PredictRequest(name=name, version=result.version,
                                                    csv=self.data.predict[name]), timeout=30)
        with self.ledger.lock:
            self.ledger.versions[key] = reply.SerializeToString(deterministic=True)
        self.set_state(i, "idle")

    def admin_op(self, i, rng):
        name = rng.choice(sorted(SPECS))
        led = self.ledger
        with led.lock:
            live = led.live_versions(name)
            labelled = {v for (n, _), v in led.labels.items() if n == name and v}
        kind = rng.random()
        if kind < 0.5 and len(live) > 2:
            # Delete the oldest unlabelled version.
            victims = [v for v in live if v not in labelled]
            if not victims:
                return
            v = victims[0]
            self.set_state(i, "delete")
            with led.lock:
                led.pending_delete.add((name, v))
            self.admin_started.set()
            reply = self.stub.DeleteModel(pb.DeleteModelRequest(name=name, version=v),
                                          timeout=30)
            check(list(reply.deleted_versions) == [v], f"delete {name} {v}: {reply}")
            with led.lock:
                led.pending_delete.discard((name, v))
                led.deleted.add((name, v))
                led.stats["deletes confirmed"] += 1
        elif live:
            label = rng.choice(LABELS)
            key = (name, label)
            remove = led.labels.get(key) and rng.random() < 0.3
            new = None if remove else rng.choice(live)
            self.set_state(i, "label")
            with led.lock:
                led.pending_labels[key] = new
            self.admin_started.set()
            if remove:
                self.stub.RemoveLabel(pb.RemoveLabelRequest(name=name, label=label),
                                      timeout=30)
            else:
                info = self.stub.SetLabel(pb.SetLabelRequest(name=name, label=label,
                                                             version=new), timeout=30)
                check(info.labels[label] == new, f"set label {key}={new}: {info}")
            with led.lock:
                del led.pending_labels[key]
                led.labels[key] = new
                led.stats["label changes confirmed"] += 1
        self.set_state(i, "idle")

    def run_until_kill(self, rng):
        """Runs the workers, kills the server; returns (mode, delay, states)."""
        threads = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                   for i in range(WORKERS)]
        start = time.monotonic()
        for t in threads:
            t.start()
        if self.index % 4 == 2:
            mode = "right after a job's last epoch"
            self.last_epoch.wait(timeout=4)
            time.sleep(rng.uniform(0, 0.004))
        elif self.index % 4 == 3:
            mode = "right after a label or delete request"
            time.sleep(rng.uniform(0.1, 0.5))  # let versions pile up
            self.admin_started.clear()
            self.admin_started.wait(timeout=4)
            time.sleep(rng.uniform(0, 0.002))
        else:
            mode = "random delay"
            time.sleep(rng.uniform(0.05, 1.6))
        delay = time.monotonic() - start
        states = list(self.states)
        self.killed.set()
        self.server.kill()
        for t in threads:
            t.join(timeout=30)
            check(not t.is_alive(), "a client thread did not stop after the kill")
        self.channel.close()
        return mode, delay, states


def disk_evidence(model_dir, known_empty, ledger):
    """What a kill left: temporary files, partial uploads, claimed but
    unwritten version directories (new since the last look, and not left by
    a deletion)."""
    out = collections.Counter()
    empty = set()
    for entry in sorted(os.listdir(model_dir)):
        path = os.path.join(model_dir, entry)
        if entry == ".uploads":
            out["partial upload (.part)"] += sum(f.endswith(".part") for f in os.listdir(path))
            continue
        for sub in os.listdir(path):
            p = os.path.join(path, sub)
            if ".tmp-" in sub:
                out["labels temporary file"] += 1
            elif os.path.isdir(p):
                files = os.listdir(p)
                out["artifact temporary file"] += sum(".tmp-" in f for f in files)
                key = (entry, int(sub)) if sub.isdigit() else None
                if not files and key not in ledger.deleted and \
                        key not in ledger.pending_delete:
                    empty.add((entry, sub))
    out["claimed version directory left empty"] = len(empty - known_empty)
    return out, empty


def verify(server, stub, ledger, data, model_dir, first):
    """Checks the restarted server against the ledger and the directory."""
    ready = server.ready
    check(ready["versions_not_loaded"] == 0,
          f"start-up: versions_not_loaded={ready['versions_not_loaded']}")
    warnings = [r for r in server.records() if r.get("level") == "error" or (
        r.get("level") == "warning" and any(
            w in r.get("msg", "") for w in ("cannot be loaded", "not writable", "model")))]
    check(not warnings, f"start-up warnings: {warnings}")
    listed = {m.name: m for m in stub.ListModels(pb.ListModelsRequest(), timeout=30).models}
    check(first or ready["versions"] == sum(m.num_versions for m in listed.values()),
          f"start-up line says {ready['versions']} versions, ListModels differs")
    # The directory: only complete artifacts, no temporary files.
    on_disk = collections.defaultdict(set)
    for entry in sorted(os.listdir(model_dir)):
        path = os.path.join(model_dir, entry)
        if entry == ".uploads":
            for f in os.listdir(path):
                check(f.endswith(".csv") and len(f) == 36, f"left in .uploads: {f}")
            continue
        for sub in os.listdir(path):
            p = os.path.join(path, sub)
            if sub == "labels":
                continue
            check(sub.isdigit() and os.path.isdir(p), f"unexpected entry {entry}/{sub}")
            files = os.listdir(p)
            check(files in ([], ["model.msm"]), f"{entry}/{sub} holds {files}")
            if files:
                on_disk[entry].add(int(sub))
    check(sorted(listed) == sorted(on_disk), f"ListModels {sorted(listed)} vs disk "
          f"{sorted(on_disk)}")
    checked = collections.Counter()
    for name in sorted(on_disk):
        info = stub.GetModel(pb.GetModelRequest(name=name), timeout=30)
        served = [v.version for v in info.versions]
        check(served == list(info.stored_versions) == sorted(on_disk[name]),
              f"{name}: served {served}, stored {list(info.stored_versions)}, "
              f"disk {sorted(on_disk[name])}")
        check(listed[name].latest_version == max(served), f"{name}: ListModels latest")
        # Labels: confirmed ones, or the value in flight at the kill.
        for label in LABELS:
            key = (name, label)
            allowed = {ledger.labels.get(key)}
            if key in ledger.pending_labels:
                allowed.add(ledger.pending_labels[key])
            got = info.labels[label] if label in info.labels else None
            check(got in allowed, f"label {key} is {got}, expected one of {allowed}")
        for v in served:
            key = (name, v)
            reply = stub.Predict(pb.PredictRequest(name=name, version=v,
                                                   csv=data.predict[name]), timeout=30)
            got = reply.SerializeToString(deterministic=True)
            check(reply.version == v and len(reply.predictions) == 6, f"predict {key}")
            if key in ledger.deleted:
                raise Failure(f"{key} was deleted (confirmed) but is back")
            if key not in ledger.versions:
                # Complete, but its result never reached the client.
                ledger.versions[key] = got
                ledger.unreported.add(key)
                checked["unreported complete versions found"] += 1
            elif ledger.versions[key] is None:
                ledger.versions[key] = got
                checked["reported versions verified (loads, predicts)"] += 1
            else:
                check(ledger.versions[key] == got, f"{key}: predictions differ after restart")
                checked["reported versions verified (identical predictions)"] += 1
    for key in sorted(ledger.versions):
        name, v = key
        present = v in on_disk.get(name, set())
        if key in ledger.pending_delete:
            checked["deletes in flight at a kill: " + ("kept" if present else "done")] += 1
            if not present:
                ledger.deleted.add(key)
            ledger.pending_delete.discard(key)
        elif key in ledger.deleted:
            check(not present, f"{key} deleted but on disk")
        else:
            check(present, f"{key}: reported but missing after the restart")
    for key, value in list(ledger.pending_labels.items()):
        got = None
        info = stub.GetModel(pb.GetModelRequest(name=key[0]), timeout=30)
        if key[1] in info.labels:
            got = info.labels[key[1]]
        ledger.labels[key] = got
        del ledger.pending_labels[key]
    uploads = os.path.join(model_dir, ".uploads")
    for upload_id in sorted(ledger.uploads):
        check(os.path.isfile(os.path.join(uploads, upload_id + ".csv")),
              f"confirmed upload {upload_id} is gone")
    return checked


def main():
    global pb, pb_grpc
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modelserver")
    parser.add_argument("data_dir")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"crash consistency: {args.rounds} rounds, seed {seed} "
          f"(rerun with --seed {seed})", flush=True)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="modelserver-crash-")
    pb, pb_grpc = fu.load_stubs(work)
    model_dir = os.path.join(work, "models")
    data = Data(args.data_dir)
    ledger = Ledger()
    totals = collections.Counter()
    phases = collections.Counter()
    kills_in = collections.Counter()  # kills with at least one thread so
    evidence = collections.Counter()
    modes = collections.Counter()
    known_empty = set()
    flags = ["--serve-versions", "all", "--max-concurrent-trainings", "3",
             "--training-threads", "1"]
    started = time.monotonic()
    start_times = []
    ok = False
    server = None
    try:
        for index in range(args.rounds + 1):
            server = fu.Server(args.modelserver, model_dir, flags)
            start_times.append(server.start_seconds)
            channel = grpc.insecure_channel(server.address)
            stub = pb_grpc.ModelServiceStub(channel)
            checked = verify(server, stub, ledger, data, model_dir, first=index == 0)
            channel.close()
            totals.update(checked)
            if index == args.rounds:
                code = server.stop()
                check(code == 0, f"SIGTERM: exit status {code}")
                break
            r = Round(server, ledger, data, rng, index)
            mode, delay, states = r.run_until_kill(rng)
            if r.errors:
                raise Failure("unexpected errors before the kill:\n" + "\n".join(r.errors))
            modes[mode] += 1
            for state in states:
                phases[state] += 1
            for state in set(states):
                kills_in[state] += 1
            found, known_empty = disk_evidence(model_dir, known_empty, ledger)
            evidence.update(found)
            print(f"round {index + 1}: killed after {delay:.3f} s ({mode}); clients: "
                  f"{', '.join(states)}; left: "
                  f"{', '.join(f'{k} {v}' for k, v in sorted(found.items()) if v) or 'nothing'}",
                  flush=True)
        ok = True
    except Failure as e:
        print(f"FAIL (seed {seed}): {e}", flush=True)
    finally:
        if server is not None and server.proc.poll() is None:
            server.kill()
        elapsed = time.monotonic() - started
        print(f"\n{args.rounds} rounds in {elapsed:.1f} s, seed {seed}; kills: "
              + ", ".join(f"{v} {k}" for k, v in sorted(modes.items())))
        print("client threads' state at the kills: threads (kills with at least one)")
        for k, v in sorted(phases.items()):
            print(f"  {k}: {v} ({kills_in[k]})")
        print("left on disk by the kills (then removed or ignored at start-up):")
        for k, v in sorted(evidence.items()):
            print(f"  {k}: {v}")
        print("verified after the restarts (cumulative over rounds):")
        for k, v in sorted(totals.items()):
            print(f"  {k}: {v}")
        for k, v in sorted(ledger.stats.items()):
            print(f"  {k}: {v}")
        print(f"  distinct versions reported: {len(ledger.versions) - len(ledger.unreported)}; "
              f"completed but unreported: {len(ledger.unreported)}; "
              f"deleted: {len(ledger.deleted)}; uploads confirmed: {len(ledger.uploads)}")
        if start_times:
            print(f"  server start-up: max {max(start_times):.3f} s over {len(start_times)} starts")
        if args.keep or not ok:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
