#!/usr/bin/python3
"""Several replicas on one model directory, end to end: two real modelserver
processes share a directory; one trains, the other serves what it picks up by
polling; labels and deletions travel the same way; a half-written or broken
artifact is never served and is reported once; configuration through
MODELSERVER_* environment variables.

Usage: replicas_test.py MODELSERVER MODELCTL MODELSERVER_LOCAL DATA_DIR
(Debian's /usr/bin/python3, standard library only.)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import modelctl_e2e_test as e2e  # noqa: E402  (Server, run_ctl, ctl_json)

POLL = "0.2"  # seconds


def wait_for(what, check, timeout=15):
    """Calls check() until it returns a true value; fails after `timeout` s."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = check()
            if last:
                return last
        except AssertionError as e:  # a modelctl call that failed (yet)
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {last}")


class ReplicasTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="modelserver-replicas-")
        self.models = os.path.join(self.work, "models")
        self.iris = os.path.join(e2e.DATA, "iris.csv")
        # A trains; B only serves (configured through the environment).
        self.a = e2e.Server(self.models, extra=("--poll-interval", POLL))
        env = dict(os.environ, MODELSERVER_POLL_INTERVAL=POLL,
                   MODELSERVER_SERVE_VERSIONS="latest:1")
        self.b = e2e.Server(self.models, env=env)

    def tearDown(self):
        codes = [self.a.stop(), self.b.stop()]
        shutil.rmtree(self.work, ignore_errors=True)
        self.assertEqual(codes, [0, 0])

    def predict(self, server, *flags):
        return e2e.ctl_json(server.address, "predict", "--name", "iris", "--data",
                            self.iris, *flags)

    def labels_of(self, predictions):
        return [p["label"] for p in predictions["predictions"]]

    def test_train_on_one_replica_predict_on_the_other(self):
        self.assertEqual(self.b.ready["serve_versions"], "latest:1")
        self.assertEqual(e2e.ctl_json(self.b.address, "list")["models"], [])
        e2e.ctl_json(self.a.address, "train", "--name", "iris", "--data", self.iris,
                     "--target", "species")
        on_b = wait_for("B to serve version 1",
                        lambda: self.predict(self.b)["version"] == 1 and self.predict(self.b))
        self.assertEqual(self.labels_of(on_b), self.labels_of(self.predict(self.a)))
        self.assertEqual(len(on_b["predictions"]), 150)

        # A label set through A pins version 1 on B too, next to the newest.
        e2e.ctl_json(self.a.address, "label", "iris", "stable", "1")
        e2e.ctl_json(self.a.address, "train", "--name", "iris", "--data", self.iris,
                     "--target", "species", "--model", "mlp", "--hidden", "4",
                     "--epochs", "5", "--seed", "7")
        wait_for("B to serve version 2", lambda: self.predict(self.b)["version"] == 2)
        got = wait_for("B to know the label",
                       lambda: e2e.ctl_json(self.b.address, "get", "iris")["labels"])
        self.assertEqual(got, {"stable": "1"})
        info = e2e.ctl_json(self.b.address, "get", "iris")
        self.assertEqual([v["version"] for v in info["versions"]], ["1", "2"])
        self.assertEqual(info["stored_versions"], ["1", "2"])
        stable = self.predict(self.b, "--label", "stable")
        self.assertEqual(stable["version"], 1)
        self.assertEqual(self.labels_of(stable), self.labels_of(on_b))

        # The label moves to 2: version 1 stays on disk, no longer served.
        e2e.ctl_json(self.a.address, "label", "iris", "stable", "2")
        wait_for("B to unload version 1", lambda: [
            v["version"] for v in e2e.ctl_json(self.b.address, "get", "iris")["versions"]]
            == ["2"])
        code, _, err = e2e.run_ctl(self.b.address, "predict", "--name", "iris",
                                   "--version", "1", "--data", self.iris, check=False)
        self.assertEqual(code, 1)
        self.assertIn("NOT_FOUND", err)
        self.assertEqual(e2e.ctl_json(self.b.address, "get", "iris")["stored_versions"],
                         ["1", "2"])

        # A labelled version cannot be deleted alone; after unlabel it can,
        # and B falls back to version 1.
        code, _, err = e2e.run_ctl(self.a.address, "delete", "iris", "--version", "2",
                                   check=False)
        self.assertEqual(code, 1)
        self.assertIn("FAILED_PRECONDITION", err)
        self.assertIn("label 'stable'", err)
        e2e.ctl_json(self.a.address, "unlabel", "iris", "stable")
        e2e.ctl_json(self.a.address, "delete", "iris", "--version", "2")
        wait_for("B to serve version 1 again", lambda: self.predict(self.b)["version"] == 1)
        self.assertEqual(e2e.ctl_json(self.b.address, "get", "iris").get("labels", {}), {})

    def test_half_written_and_broken_artifacts_are_never_served(self):
        e2e.ctl_json(self.a.address, "train", "--name", "iris", "--data", self.iris,
                     "--target", "species")
        wait_for("B to serve version 1", lambda: self.predict(self.b)["version"] == 1)
        with open(os.path.join(self.models, "iris", "1", "model.msm"), "rb") as f:
            good = f.read()
        # A save in progress (its temporary file), and a truncated artifact
        # under the final name (a disk that lost data).
        os.makedirs(os.path.join(self.models, "iris", "5"))
        with open(os.path.join(self.models, "iris", "5", "model.msm.tmp-1-0"), "wb") as f:
            f.write(good[: len(good) // 2])
        os.makedirs(os.path.join(self.models, "iris", "6"))
        with open(os.path.join(self.models, "iris", "6", "model.msm"), "wb") as f:
            f.write(good[: len(good) // 2])
        time.sleep(20 * float(POLL))  # many polls
        self.assertEqual(self.predict(self.b)["version"], 1)
        warnings = [json.loads(line) for line in self.b.stderr_lines
                    if "cannot be loaded" in line]
        self.assertEqual(len(warnings), 1, warnings)  # reported once
        self.assertEqual(warnings[0]["level"], "warning")
        self.assertIn("6", warnings[0]["error"])
        # The broken version can be deleted through any replica; the next
        # version trained is served everywhere.
        self.assertEqual(e2e.ctl_json(self.a.address, "delete", "iris", "--version", "6")
                         ["deleted_versions"], ["6"])
        e2e.ctl_json(self.a.address, "train", "--name", "iris", "--data", self.iris,
                     "--target", "species")
        wait_for("B to serve version 7", lambda: self.predict(self.b)["version"] == 7)
        code, out, _ = e2e.run_ctl(self.b.address, "health")
        self.assertEqual((code, out.strip()), (0, "SERVING"))


class EnvironmentTest(unittest.TestCase):
    def test_flags_from_the_environment_and_empty_turns_endpoints_off(self):
        work = tempfile.mkdtemp(prefix="modelserver-env-")
        env = dict(os.environ, MODELSERVER_METRICS_LISTEN="", MODELSERVER_HTTP_LISTEN="",
                   MODELSERVER_SERVE_VERSIONS="all", MODELSERVER_LOG_LEVEL="debug")
        # (e2e.Server passes --metrics-listen/--http-listen: start it bare.)
        proc = subprocess.run(
            [e2e.MODELSERVER, "--serve-versions", "latest:0"], env=env,
            capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 2)  # the command line wins and is checked
        self.assertIn("--serve-versions", proc.stderr)
        server = subprocess.Popen(
            [e2e.MODELSERVER, "--listen", "127.0.0.1:0", "--model-dir",
             os.path.join(work, "models")], env=env, stderr=subprocess.PIPE, text=True)
        try:
            ready = json.loads(server.stderr.readline())
            self.assertEqual(ready["metrics_address"], "")
            self.assertEqual(ready["http_address"], "")
            self.assertEqual(ready["serve_versions"], "all")
        finally:
            server.terminate()
            self.assertEqual(server.wait(timeout=30), 0)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    e2e.MODELSERVER, e2e.MODELCTL, e2e.LOCAL, e2e.DATA = (
        os.path.abspath(p) for p in sys.argv[1:5])
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
