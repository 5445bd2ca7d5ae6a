#!/usr/bin/python3
"""Checkpoints and resuming across a crash of the real modelserver.

Usage: checkpoint_resume_test.py MODELSERVER [--keep]

1. A long Adam MLP job (300 epochs, a checkpoint every 10, inline CSV data)
   runs until GetJob reports a checkpoint of epoch >= 30; the server is
   SIGKILLed. The model directory then holds the job in .jobs/<uid>/
   (request, checkpoint, lock) and no version.
2. A new server on the same directory resumes it: its start-up line says
   jobs_resumed 1, it logs "training job resumed" with the checkpoint's
   epoch R (>= the one seen, a multiple of 10); ListJobs shows the job with
   resumed_from_epoch R; a replica started on the same directory while the
   job runs resumes nothing (jobs_resumed 0, no job listed); WatchJob streams JobAccepted, JobResumed(R), then
   EpochProgress from R + 1 (not 1) to 300 and the result: exactly one
   version (1), whose VersionInfo.resumed_from_epoch is R, and the journal
   is empty afterwards.
3. The same request trained without interruption (another name, same seed)
   predicts exactly the same values on 50 rows.
4. A second job is killed after a checkpoint, its checkpoint file is
   corrupted (a flipped byte), and the next server restarts it from scratch:
   JobResumed(0) with a note naming the checksum mismatch, epochs from 1,
   and a version that again predicts exactly as the uninterrupted run.
5. SIGTERM stops the last server with exit status 0.

Needs Debian's /usr/bin/python3 with python3-grpcio and python3-protobuf,
protoc and grpc_python_plugin.
"""
import argparse
import math
import os
import random
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fault_util as fu  # noqa: E402

import grpc  # noqa: E402

EPOCHS = 300
EVERY = 10
SERVER_FLAGS = ["--checkpoint-min-seconds", "0", "--training-threads", "1"]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def data_csv(rows=3000, seed=5):
    rng = random.Random(seed)
    lines = ["a,b,c,y"]
    for _ in range(rows):
        a, b, c = rng.uniform(-3, 3), rng.uniform(-2, 2), rng.choice("pqr")
        y = math.sin(a) * b + (0.5 if c == "q" else 0.0) + rng.gauss(0, 0.05)
        lines.append(f"{a!r},{b!r},{c},{y!r}")
    return ("\n".join(lines) + "\n").encode()


def predict_csv():
    rng = random.Random(9)
    lines = ["a,b,c"]
    for _ in range(50):
        lines.append(f"{rng.uniform(-3, 3)!r},{rng.uniform(-2, 2)!r},{rng.choice('pqr')}")
    return ("\n".join(lines) + "\n").encode()


def request(pb, name, csv):
    options = pb.TrainOptions(
        target="y", model=pb.MODEL_TYPE_MLP, optimizer=pb.OPTIMIZER_ADAM,
        epochs=EPOCHS, batch_size=16, learning_rate=0.003, seed=11,
        early_stopping_patience=0, checkpoint_every_epochs=EVERY)
    options.hidden_layers.extend([64, 32])
    return pb.TrainRequest(name=name, data=pb.Dataset(csv=csv), options=options)


def start_detached(stub, req):
    """Starts a job, reads JobAccepted, drops the stream (the job goes on)."""
    stream = stub.Train(req, timeout=600)
    first = next(stream)
    check(first.WhichOneof("event") == "accepted", f"first event {first}")
    stream.cancel()
    return first.job_id


def wait_checkpoint(pb, stub, job_id, epoch, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=10)
        check(job.state in (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING),
              f"the job ended before a checkpoint of epoch {epoch}: {job}")
        if job.checkpoint_epoch >= epoch:
            return job.checkpoint_epoch
        time.sleep(0.01)
    raise Failure(f"no checkpoint of epoch {epoch} within {timeout} s")


def journal(model_dir):
    path = os.path.join(model_dir, ".jobs")
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def watch(pb, stub, job_id):
    return list(stub.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=600))


def predictions(pb, stub, name):
    reply = stub.Predict(pb.PredictRequest(name=name, csv=predict_csv()), timeout=30)
    check(len(reply.predictions) == 50, f"{name}: {len(reply.predictions)} predictions")
    return [p.value for p in reply.predictions]


def resumed_job(pb, server, stub):
    check(server.ready.get("jobs_resumed") == 1,
          f"start-up line: jobs_resumed={server.ready.get('jobs_resumed')}")
    jobs = stub.ListJobs(pb.ListJobsRequest(), timeout=10).jobs
    check(len(jobs) == 1, f"ListJobs after the restart: {len(jobs)} jobs")
    return jobs[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("modelserver")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="checkpoint_resume_")
    model_dir = os.path.join(tmp, "models")
    gen = os.path.join(tmp, "gen")
    os.makedirs(gen)
    pb, pb_grpc = fu.load_stubs(gen)
    csv = data_csv()
    server = None
    try:
        # 1. Kill after a checkpoint.
        server = fu.Server(args.modelserver, model_dir, extra=SERVER_FLAGS)
        stub = pb_grpc.ModelServiceStub(grpc.insecure_channel(server.address))
        job_id = start_detached(stub, request(pb, "m", csv))
        seen = wait_checkpoint(pb, stub, job_id, 3 * EVERY)
        server.kill()
        server = None
        entries = journal(model_dir)
        check(len(entries) == 1, f".jobs after the kill: {entries}")
        files = sorted(os.listdir(os.path.join(model_dir, ".jobs", entries[0])))
        check({"request", "checkpoint", "lock"} <= set(files), f"journal entry: {files}")
        check(not os.path.exists(os.path.join(model_dir, "m", "1")),
              "a version exists before the job finished")
        print(f"killed after the checkpoint of epoch {seen}")

        # 2. Resume.
        server = fu.Server(args.modelserver, model_dir, extra=SERVER_FLAGS)
        stub = pb_grpc.ModelServiceStub(grpc.insecure_channel(server.address))
        job = resumed_job(pb, server, stub)
        r = job.resumed_from_epoch
        check(job.name == "m" and r >= seen and r % EVERY == 0 and r < EPOCHS,
              f"resumed_from_epoch {r} (checkpoint seen: {seen})")
        logged = [x for x in server.records() if x.get("msg") == "training job resumed"]
        check(len(logged) == 1 and logged[0]["from_epoch"] == r and logged[0]["model"] == "m",
              f"resume log lines: {logged}")
        # A replica started on the same directory while the job runs does
        # not resume it too: the first server holds the job's lock.
        replica = fu.Server(args.modelserver, model_dir, extra=SERVER_FLAGS)
        try:
            rstub = pb_grpc.ModelServiceStub(grpc.insecure_channel(replica.address))
            state = stub.GetJob(pb.GetJobRequest(job_id=job.job_id), timeout=10).state
            check(state == pb.JOB_STATE_RUNNING, f"job state {state} when the replica started")
            check(replica.ready.get("jobs_resumed") == 0,
                  f"replica: jobs_resumed={replica.ready.get('jobs_resumed')}")
            check(len(rstub.ListJobs(pb.ListJobsRequest(), timeout=10).jobs) == 0,
                  "the replica lists a job")
        finally:
            check(replica.stop() == 0, "replica: exit status")
        events = watch(pb, stub, job.job_id)
        kinds = [e.WhichOneof("event") for e in events]
        check(kinds[:2] == ["accepted", "resumed"], f"first events {kinds[:3]}")
        check(events[1].resumed.from_epoch == r and events[1].resumed.note == "",
              f"JobResumed {events[1].resumed}")
        epochs = [e.epoch.epoch for e in events if e.WhichOneof("event") == "epoch"]
        check(epochs == list(range(r + 1, EPOCHS + 1)),
              f"epochs {epochs[:3]}...{epochs[-3:]}, expected {r + 1}..{EPOCHS}")
        check(kinds[-1] == "result" and events[-1].result.version == 1 and
              events[-1].result.epochs == EPOCHS, f"last event {events[-1]}")
        info = stub.GetModel(pb.GetModelRequest(name="m"), timeout=10)
        check(list(info.stored_versions) == [1], f"stored versions {list(info.stored_versions)}")
        check(info.versions[0].resumed_from_epoch == r,
              f"VersionInfo.resumed_from_epoch {info.versions[0].resumed_from_epoch}")
        check(journal(model_dir) == [], f".jobs after the job: {journal(model_dir)}")
        print(f"resumed from epoch {r}, ran epochs {r + 1}..{EPOCHS}, published version 1")

        # 3. Equal to an uninterrupted run.
        straight = watch(pb, stub, start_detached(stub, request(pb, "straight", csv)))
        check(straight[-1].WhichOneof("event") == "result", f"straight run: {straight[-1]}")
        want = predictions(pb, stub, "straight")
        got = predictions(pb, stub, "m")
        check(got == want, f"resumed model predicts differently: {got[:3]} vs {want[:3]}")
        print("the resumed version predicts exactly as the uninterrupted run (50 rows)")

        # 4. A corrupted checkpoint: restart from scratch.
        job_id = start_detached(stub, request(pb, "m2", csv))
        wait_checkpoint(pb, stub, job_id, 2 * EVERY)
        server.kill()
        server = None
        entries = journal(model_dir)
        check(len(entries) == 1, f".jobs after the second kill: {entries}")
        path = os.path.join(model_dir, ".jobs", entries[0], "checkpoint")
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x55]))
        server = fu.Server(args.modelserver, model_dir, extra=SERVER_FLAGS)
        stub = pb_grpc.ModelServiceStub(grpc.insecure_channel(server.address))
        job = resumed_job(pb, server, stub)
        check(job.resumed_from_epoch == 0, f"resumed_from_epoch {job.resumed_from_epoch}")
        events = watch(pb, stub, job.job_id)
        note = events[1].resumed.note
        check(events[1].WhichOneof("event") == "resumed" and events[1].resumed.from_epoch == 0
              and "checksum mismatch" in note and "starts again from epoch 1" in note,
              f"JobResumed {events[1]}")
        check(events[2].epoch.epoch == 1, f"first epoch {events[2]}")
        check(events[-1].WhichOneof("event") == "result" and events[-1].result.version == 1,
              f"last event {events[-1]}")
        check(predictions(pb, stub, "m2") == want, "m2 predicts differently")
        check(journal(model_dir) == [], f".jobs at the end: {journal(model_dir)}")
        print(f"corrupted checkpoint: restarted from epoch 1 ({note})")

        code = server.stop()
        server = None
        check(code == 0, f"SIGTERM: exit status {code}")
        print("PASS")
        return 0
    except Failure as e:
        print(f"FAIL: {e}")
        if server is not None:
            sys.stdout.write("".join(server.lines[-30:]))
        return 1
    finally:
        if server is not None:
            server.kill()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
