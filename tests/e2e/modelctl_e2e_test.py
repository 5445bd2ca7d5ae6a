#!/usr/bin/python3
"""End-to-end tests: the real `modelserver` binary driven by `modelctl`.

Usage: modelctl_e2e_test.py MODELSERVER MODELCTL MODELSERVER_LOCAL DATA_DIR
       [unittest arguments, e.g. -k Cancel]

Each test class starts modelserver on 127.0.0.1:0 with a temporary model
directory, parses the bound port from its stderr, and stops it with SIGTERM
(asserting exit status 0). Standard library only.
"""
import csv
import io
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

MODELSERVER = MODELCTL = LOCAL = DATA = None
# Sanitizer builds (scripts/sanitize.sh) run slower: waits and latency bounds
# are multiplied by this, and the long-training fixture is made smaller by it.
TIME_SCALE = float(os.environ.get("MODELSERVER_TEST_TIME_SCALE", "1"))


class Server:
    """A modelserver process on a free loopback port."""

    def __init__(self, model_dir, data_dir=None, extra=(), env=None):
        args = [MODELSERVER, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                "--http-listen", "127.0.0.1:0", "--model-dir", model_dir]
        if data_dir:
            args += ["--data-dir", data_dir]
        args += list(extra)
        self.stderr_lines = []
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=env)
        self.port = None
        self.ready = None  # the start-up log line, parsed
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.stderr_lines.append(line)
            record = json.loads(line)  # every log line is one JSON object
            if "grpc_address" in record:
                self.ready = record
                self.port = int(record["grpc_address"].rsplit(":", 1)[1])
                self.metrics_address = record["metrics_address"]
                self.http_address = record["http_address"]
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("modelserver did not start: " + "".join(self.stderr_lines))
        # Keep draining stderr so the server never blocks on a full pipe.
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()
        self.address = f"127.0.0.1:{self.port}"

    def _read_rest(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def stop(self):
        """SIGTERM; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._drain.join(timeout=5)
        self.proc.stderr.close()
        return code


def run_ctl(address, *args, check=True, timeout=300):
    """Runs modelctl; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([MODELCTL, "--server", address, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"modelctl {' '.join(map(str, args))} failed "
                             f"({proc.returncode}): {proc.stderr}")
    return proc.returncode, proc.stdout, proc.stderr


def ctl_json(address, *args):
    _, out, _ = run_ctl(address, *args, "--json")
    return json.loads(out)  # the whole of stdout is one JSON object


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def local_predictions(model_dir, name, data):
    """Predictions of the core library in process (modelserver-local)."""
    out = subprocess.run([LOCAL, "predict", "--model-dir", model_dir, "--name", name,
                          "--data", data], capture_output=True, text=True, check=True).stdout
    return list(csv.reader(io.StringIO(out)))


def write_synthetic(path, rows, seed=7, missing=0.03):
    """Numeric, categorical, date and missing values; y depends on each."""
    rng = random.Random(seed)
    colours = ["red", "green", "blue", "light, grey"]  # one needs quoting
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x1", "x2", "colour", "day", "size", "y", "label"])
        for _ in range(rows):
            x1, x2 = rng.uniform(-2, 2), rng.gauss(0, 1)
            colour = rng.choice(colours)
            month = rng.randint(1, 12)
            day = f"2024-{month:02d}-{rng.randint(1, 28):02d}"
            size = rng.choice(["S", "M", "L"])
            y = (3 * x1 - 2 * x2 + {"red": 1.5, "green": -1, "blue": 0, "light, grey": 0.5}[colour]
                 + 0.25 * month + rng.gauss(0, 0.1))
            label = "high" if y > 1.6 else "low"
            cells = [f"{x1:.6f}", f"{x2:.6f}", colour, day, size, f"{y:.6f}", label]
            for i in (0, 1, 2, 4):  # missing values in features only
                if rng.random() < missing:
                    cells[i] = rng.choice(["", "NA"])
            w.writerow(cells)


def write_wide(path, rows, cols, seed=3):
    """A large numeric regression set: slow enough to train for long."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write(",".join(f"f{j}" for j in range(cols)) + ",y\n")
        for _ in range(rows):
            xs = [rng.random() for _ in range(cols)]
            f.write(",".join(f"{x:.4f}" for x in xs) + f",{sum(xs):.4f}\n")


def assert_close_rows(test, got, want, what):
    """`got` and `want`: lists of CSV rows of numbers/labels, equal to 1e-9."""
    test.assertEqual(len(got), len(want), what)
    for i, (g, w) in enumerate(zip(got, want)):
        test.assertEqual(len(g), len(w), f"{what} row {i}")
        for a, b in zip(g, w):
            try:
                fa, fb = float(a), float(b)
            except ValueError:
                test.assertEqual(a, b, f"{what} row {i}")
                continue
            test.assertTrue(math.isclose(fa, fb, rel_tol=1e-9, abs_tol=1e-12),
                            f"{what} row {i}: {a} != {b}")


class ServerTestCase(unittest.TestCase):
    """Starts one server per test class (SERVER_FLAGS: extra flags)."""

    SERVER_FLAGS = ()

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="modelctl-e2e-")
        cls.model_dir = os.path.join(cls.tmp, "models")
        cls.data_dir = os.path.join(cls.tmp, "data")
        os.makedirs(cls.data_dir)
        cls.server = Server(cls.model_dir, cls.data_dir, extra=cls.SERVER_FLAGS)
        cls.addr = cls.server.address

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if code != 0:
            raise AssertionError(f"modelserver exited with {code} on SIGTERM:\n"
                                 + "".join(cls.server.stderr_lines))

    def ctl(self, *args, **kw):
        return run_ctl(self.addr, *args, **kw)

    def json(self, *args):
        return ctl_json(self.addr, *args)

    def fails(self, code, *args, contains=()):
        """Asserts modelctl exits 1 with `code` (and substrings) on stderr."""
        rc, out, err = self.ctl(*args, check=False)
        self.assertEqual(rc, 1, f"{args}: expected failure, got rc={rc} out={out} err={err}")
        self.assertIn(f"modelctl: {code}: ", err, args)
        for piece in contains:
            self.assertIn(piece, err, args)
        return err


# Every shipped dataset: (model name, file, target, extra train flags,
# metric, minimum on the validation split).
DATASETS = [
    ("iris", "iris.csv", "species", [], "accuracy", 0.9),
    ("iris-mlp", "iris.csv", "species", ["--model", "mlp", "--hidden", "16", "--epochs", "200"],
     "accuracy", 0.9),
    ("cancer", "breast_cancer.csv", "diagnosis", [], "accuracy", 0.93),
    ("diabetes", "diabetes.csv", "progression", [], "r2", 0.35),
    ("diabetes-sgd", "diabetes.csv", "progression", ["--optimizer", "sgd", "--epochs", "100"],
     "r2", 0.3),
    ("mpg-hwy", "mpg.csv", "hwy", [], "r2", 0.85),
    ("mpg-class", "mpg.csv", "class", ["--model", "mlp", "--hidden", "32", "--epochs", "200"],
     "accuracy", 0.6),
    ("airquality", "airquality.csv", "Ozone", [], "r2", 0.4),
]

REGRESSION_KEYS = {"mse", "rmse", "mae", "r2"}
CLASSIFICATION_KEYS = {"accuracy", "precision_macro", "recall_macro", "f1_macro", "log_loss",
                       "precision_weighted", "recall_weighted", "f1_weighted"}


class DatasetsTest(ServerTestCase):
    def test_train_evaluate_predict_every_dataset(self):
        for name, file, target, flags, metric, minimum in DATASETS:
            with self.subTest(dataset=name):
                data = os.path.join(DATA, file)
                trained = self.json("train", "--name", name, "--data", data, "--target", target,
                                    *flags)
                self.assertEqual(trained["name"], name)
                self.assertEqual(trained["version"], 1)
                self.assertTrue(trained["job_id"].startswith("job-"))
                self.assertGreaterEqual(trained["metrics"][metric], minimum)

                evaluated = self.json("evaluate", "--name", name, "--data", data)
                self.assertEqual(evaluated["version"], 1)
                keys = set(evaluated["metrics"])
                if metric == "r2":
                    self.assertEqual(keys, REGRESSION_KEYS)
                    self.assertNotIn("confusion_matrix", evaluated)
                else:
                    binary = len(evaluated["confusion_matrix"]["labels"]) == 2
                    self.assertEqual(keys, CLASSIFICATION_KEYS | ({"roc_auc"} if binary else set()))
                    counts = evaluated["confusion_matrix"]["counts"]
                    self.assertEqual(sum(map(sum, counts)), evaluated["rows_used"])
                    self.assertAlmostEqual(
                        sum(counts[i][i] for i in range(len(counts))) / evaluated["rows_used"],
                        evaluated["metrics"]["accuracy"], places=12)
                self.assertGreaterEqual(evaluated["metrics"][metric], minimum)

                # Predictions over the network equal the core library's in
                # process on the same artifact.
                out = os.path.join(self.tmp, name + ".out.csv")
                self.ctl("predict", "--name", name, "--data", data, "--output", out)
                served = read_csv(out)
                source = read_csv(data)
                self.assertEqual(served[0][:len(source[0])], source[0])
                self.assertEqual([r[:len(source[0])] for r in served[1:]], source[1:])
                local = local_predictions(self.model_dir, name, data)
                width = len(local[0])
                assert_close_rows(self, [r[-width:] for r in served[1:]], local[1:], name)
                self.assertEqual(served[0][-width] if width > 0 else None, "prediction")

                predicted = self.json("predict", "--name", name, "--data", data)
                self.assertEqual(len(predicted["predictions"]), len(source) - 1)
                first = predicted["predictions"][0]
                if metric == "r2":
                    self.assertAlmostEqual(first["value"], float(local[1][0]), places=9)
                else:
                    self.assertEqual(first["label"], local[1][0])
                    self.assertAlmostEqual(sum(first["probabilities"].values()), 1.0, places=9)

        listed = self.json("list")
        self.assertEqual(sorted(m["name"] for m in listed["models"]),
                         sorted(d[0] for d in DATASETS))

    def test_training_is_the_core_librarys(self):
        # The same options and seed in process give the same model: the
        # server adds no hidden transformation.
        data = os.path.join(DATA, "diabetes.csv")
        served = self.json("train", "--name", "same", "--data", data, "--target", "progression",
                           "--seed", "5")
        local_dir = os.path.join(self.tmp, "local-models")
        out = subprocess.run([LOCAL, "train", "--model-dir", local_dir, "--name", "same",
                              "--data", data, "--target", "progression", "--seed", "5", "--quiet"],
                             capture_output=True, text=True, check=True).stdout
        r2 = [line.split()[-1] for line in out.splitlines() if line.strip().startswith("r2")]
        self.assertTrue(r2, out)
        self.assertAlmostEqual(served["metrics"]["r2"], float(r2[-1]), places=5)
        assert_close_rows(self, local_predictions(self.model_dir, "same", data),
                          local_predictions(local_dir, "same", data), "same")


class SyntheticTest(ServerTestCase):
    """A new user's CSV: numeric, categorical (one level needs quoting),
    ISO dates, missing values; big enough to go through the upload path."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.train_csv = os.path.join(cls.tmp, "train.csv")
        cls.test_csv = os.path.join(cls.tmp, "test.csv")
        write_synthetic(cls.train_csv, 90000, seed=1)
        write_synthetic(cls.test_csv, 2000, seed=2)

    def test_regression_with_dates_categories_and_missing_values(self):
        self.assertGreater(os.path.getsize(self.train_csv), 4 << 20)  # uploaded in chunks
        trained = self.json("train", "--name", "synth", "--data", self.train_csv, "--target", "y",
                            "--features", "x1,x2,colour,day")
        self.assertGreater(trained["metrics"]["r2"], 0.95)
        info = self.json("get", "synth")
        inputs = {c["name"]: c["type"] for c in info["versions"][0]["inputs"]}
        self.assertEqual(inputs, {"x1": "COLUMN_TYPE_NUMERIC", "x2": "COLUMN_TYPE_NUMERIC",
                                  "colour": "COLUMN_TYPE_CATEGORICAL", "day": "COLUMN_TYPE_DATE"})
        evaluated = self.json("evaluate", "--name", "synth", "--data", self.test_csv)
        self.assertGreater(evaluated["metrics"]["r2"], 0.95)
        out = os.path.join(self.tmp, "synth.out.csv")
        self.ctl("predict", "--name", "synth", "--data", self.test_csv, "--output", out)
        served = read_csv(out)
        self.assertEqual(served[0][-1], "prediction")
        self.assertEqual(len(served), 2001)
        self.assertIn("light, grey", {r[2] for r in served[1:]})  # quoting kept
        local = local_predictions(self.model_dir, "synth", self.test_csv)
        assert_close_rows(self, [r[-1:] for r in served[1:]], local[1:], "synth")

    def test_classification_with_string_labels(self):
        trained = self.json("train", "--name", "synth-label", "--data", self.train_csv,
                            "--target", "label", "--features", "x1,x2,colour,day,size")
        self.assertGreater(trained["metrics"]["accuracy"], 0.9)
        predicted = self.json("predict", "--name", "synth-label", "--data", self.test_csv)
        labels = {p["label"] for p in predicted["predictions"]}
        self.assertEqual(labels, {"high", "low"})
        self.assertEqual(set(predicted["predictions"][0]["probabilities"]), {"high", "low"})

    def test_predict_in_several_batches(self):
        # A predict file bigger than one request is split; rows stay in order.
        big = os.path.join(self.tmp, "predict-big.csv")
        write_synthetic(big, 120000, seed=9)
        self.assertGreater(os.path.getsize(big), 4 << 20)
        self.json("train", "--name", "batches", "--data", self.test_csv, "--target", "y",
                  "--features", "x1,x2")
        out = os.path.join(self.tmp, "predict-big.out.csv")
        self.ctl("predict", "--name", "batches", "--data", big, "--output", out)
        served = read_csv(out)
        self.assertEqual(len(served), 120001)
        local = local_predictions(self.model_dir, "batches", big)
        assert_close_rows(self, [r[-1:] for r in served[1:]], local[1:], "batches")


class JobsTest(ServerTestCase):
    """Long trainings: detach, watch, cancel, and Predict while training."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.wide = os.path.join(cls.tmp, "wide.csv")
        write_wide(cls.wide, int(40000 / TIME_SCALE), 20)
        run_ctl(cls.addr, "train", "--name", "iris", "--data", os.path.join(DATA, "iris.csv"),
                "--target", "species")

    def start_long_job(self, name):
        started = self.json("train", "--name", name, "--data", self.wide, "--target", "y",
                            "--model", "mlp", "--hidden", "256,256", "--epochs", "100000",
                            "--early-stopping-patience", "100000", "--detach")
        job = started["job_id"]
        # However the test ends, the job must not keep the server's only
        # training slot (the next test's training would queue behind it).
        self.addCleanup(run_ctl, self.addr, "cancel", job, check=False)
        deadline = time.time() + 60 * TIME_SCALE
        while time.time() < deadline:
            state = self.json("jobs")
            mine = [j for j in state["jobs"] if j["job_id"] == job][0]
            if mine["state"] == "JOB_STATE_RUNNING" and mine["epoch"] >= 1:
                return job
            time.sleep(0.1)
        self.fail(f"job {job} did not start")

    def test_cancel_leaves_no_version(self):
        job = self.start_long_job("cancelled")
        cancelled = self.json("cancel", job)
        self.assertEqual(cancelled["job_id"], job)
        # watch replays the job and ends with its error.
        err = self.fails("CANCELLED", "watch", job)
        self.assertIn(job, err)
        state = self.json("jobs")
        self.assertEqual([j["state"] for j in state["jobs"] if j["job_id"] == job],
                         ["JOB_STATE_CANCELLED"])
        self.fails("NOT_FOUND", "get", "cancelled", contains=["cancelled"])
        self.assertFalse(os.path.exists(os.path.join(self.model_dir, "cancelled", "1",
                                                     "model.msm")))
        self.fails("FAILED_PRECONDITION", "cancel", job)

    def test_predict_answers_while_a_long_training_runs(self):
        job = self.start_long_job("busy")
        iris = os.path.join(DATA, "iris.csv")
        latencies = []
        for _ in range(20):
            t = time.monotonic()
            predicted = self.json("predict", "--name", "iris", "--data", iris)
            latencies.append(time.monotonic() - t)
            self.assertEqual(len(predicted["predictions"]), 150)
        state = self.json("jobs")
        self.assertEqual([j["state"] for j in state["jobs"] if j["job_id"] == job],
                         ["JOB_STATE_RUNNING"], "the training must still run")
        # modelctl start-up included; a blocked Predict would take the
        # length of the training.
        self.assertLess(sorted(latencies)[len(latencies) // 2], 1.0 * TIME_SCALE, latencies)
        self.json("cancel", job)

    def test_watch_a_finished_job_replays_its_result(self):
        trained = self.json("train", "--name", "replay", "--data", os.path.join(DATA, "iris.csv"),
                            "--target", "species")
        _, out, _ = self.ctl("watch", trained["job_id"], "--json")
        replay = json.loads(out)
        self.assertEqual(replay["version"], trained["version"])
        self.assertEqual(replay["metrics"], trained["metrics"])


class RestartTest(unittest.TestCase):
    def test_models_survive_a_restart(self):
        tmp = tempfile.mkdtemp(prefix="modelctl-restart-")
        try:
            model_dir = os.path.join(tmp, "models")
            iris = os.path.join(DATA, "iris.csv")
            # Every version served: both versions must survive the restart.
            server = Server(model_dir, extra=("--serve-versions", "all"))
            try:
                ctl_json(server.address, "train", "--name", "iris", "--data", iris,
                         "--target", "species")
                ctl_json(server.address, "train", "--name", "iris", "--data", iris,
                         "--target", "species", "--model", "mlp", "--epochs", "50")
                before = ctl_json(server.address, "predict", "--name", "iris", "--data", iris)
                before_v1 = ctl_json(server.address, "predict", "--name", "iris", "--version", 1,
                                     "--data", iris)
            finally:
                self.assertEqual(server.stop(), 0)
            server = Server(model_dir, extra=("--serve-versions", "all"))
            try:
                self.assertEqual((server.ready["models"], server.ready["versions"]), (1, 2),
                                 server.stderr_lines)
                models = ctl_json(server.address, "list")["models"]
                self.assertEqual([(m["name"], m["latest_version"], m["num_versions"])
                                  for m in models], [("iris", "2", 2)])
                after = ctl_json(server.address, "predict", "--name", "iris", "--data", iris)
                after_v1 = ctl_json(server.address, "predict", "--name", "iris", "--version", 1,
                                    "--data", iris)
                self.assertEqual(after, before)
                self.assertEqual(after_v1, before_v1)
                # Version numbers continue after a restart.
                again = ctl_json(server.address, "train", "--name", "iris", "--data", iris,
                                 "--target", "species")
                self.assertEqual(again["version"], 3)
            finally:
                self.assertEqual(server.stop(), 0)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class BadInputTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        run_ctl(cls.addr, "train", "--name", "iris", "--data", os.path.join(DATA, "iris.csv"),
                "--target", "species")

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_unknown_model_or_version(self):
        iris = os.path.join(DATA, "iris.csv")
        self.fails("NOT_FOUND", "predict", "--name", "nope", "--data", iris, contains=["nope"])
        self.fails("NOT_FOUND", "predict", "--name", "iris", "--version", "9", "--data", iris,
                   contains=["9"])
        self.fails("NOT_FOUND", "evaluate", "--name", "nope", "--data", iris)
        self.fails("NOT_FOUND", "get", "nope")
        self.fails("NOT_FOUND", "delete", "nope")
        self.fails("NOT_FOUND", "watch", "job-999")
        self.fails("NOT_FOUND", "cancel", "job-999")

    def test_predict_rows_that_do_not_fit_the_model(self):
        missing = self.write("missing.csv", "sepal_length_cm,sepal_width_cm,petal_length_cm\n"
                                            "5.1,3.5,1.4\n")
        self.fails("INVALID_ARGUMENT", "predict", "--name", "iris", "--data", missing,
                   contains=["petal_width_cm"])
        text = self.write("text.csv", "sepal_length_cm,sepal_width_cm,petal_length_cm,"
                                      "petal_width_cm\n5.1,3.5,1.4,0.2\n5.1,wide,1.4,0.2\n")
        self.fails("INVALID_ARGUMENT", "predict", "--name", "iris", "--data", text,
                   contains=["sepal_width_cm", "wide"])
        empty = self.write("header-only.csv", "sepal_length_cm,sepal_width_cm\n")
        self.fails("INVALID_ARGUMENT", "predict", "--name", "iris", "--data", empty,
                   contains=["no rows"])

    def test_bad_training_data_and_options(self):
        iris = os.path.join(DATA, "iris.csv")
        ragged = self.write("ragged.csv", "a,b,y\n1,2,3\n4,5\n")
        self.fails("INVALID_ARGUMENT", "train", "--name", "r", "--data", ragged, "--target", "y",
                   contains=["line 3"])
        quote = self.write("quote.csv", "a,y\n1,2\n\"open,3\n")
        self.fails("INVALID_ARGUMENT", "train", "--name", "q", "--data", quote, "--target", "y",
                   contains=["line 3"])
        self.fails("INVALID_ARGUMENT", "train", "--name", "t", "--data", iris, "--target", "price",
                   contains=["price"])
        self.fails("INVALID_ARGUMENT", "train", "--name", "../escape", "--data", iris,
                   "--target", "species", contains=["name"])
        self.fails("INVALID_ARGUMENT", "train", "--name", "e", "--data", iris,
                   "--target", "species", "--epochs", "-3", contains=["epochs"])
        self.fails("INVALID_ARGUMENT", "train", "--name", "l", "--data", iris,
                   "--target", "species", "--learning-rate", "-1", contains=["learning"])
        self.fails("INVALID_ARGUMENT", "train", "--name", "k", "--data", iris,
                   "--target", "species", "--model", "linear", contains=["linear"])
        self.fails("NOT_FOUND", "train", "--name", "f", "--data", "/nonexistent.csv",
                   "--target", "y", contains=["/nonexistent.csv"])
        # Usage errors never reach the server.
        rc, _, err = self.ctl("train", "--name", "u", "--data", iris, "--target", "species",
                              "--model", "forest", check=False)
        self.assertEqual(rc, 2)
        self.assertIn("--model", err)
        self.assertNotIn("k", [m["name"] for m in self.json("list")["models"]])

    def test_unreachable_server(self):
        rc, _, err = run_ctl("127.0.0.1:1", "list", check=False)
        self.assertEqual(rc, 1)
        self.assertIn("modelctl: UNAVAILABLE: ", err)

    def test_server_still_answers(self):
        for test in (self.test_bad_training_data_and_options,
                     self.test_predict_rows_that_do_not_fit_the_model):
            test()
        self.assertEqual([m["name"] for m in self.json("list")["models"]], ["iris"])
        self.assertIsNone(self.server.proc.poll())


class DeleteTest(ServerTestCase):
    # Every version served, so that deleting one in the middle shows.
    SERVER_FLAGS = ("--serve-versions", "all")

    def test_delete_a_version_then_the_model(self):
        iris = os.path.join(DATA, "iris.csv")
        for _ in range(3):
            self.json("train", "--name", "d", "--data", iris, "--target", "species")
        self.assertEqual(self.json("delete", "d", "--version", "2")["deleted_versions"], ["2"])
        self.assertEqual([v["version"] for v in self.json("get", "d")["versions"]], ["1", "3"])
        self.fails("NOT_FOUND", "predict", "--name", "d", "--version", "2", "--data", iris)
        self.assertEqual(self.json("predict", "--name", "d", "--version", "3",
                                   "--data", iris)["version"], 3)
        self.assertEqual(self.json("delete", "d")["deleted_versions"], ["1", "3"])
        self.assertEqual(self.json("list")["models"], [])
        # The artifact is gone; the empty version folder stays as a marker.
        self.assertFalse(os.path.exists(os.path.join(self.model_dir, "d", "1", "model.msm")))
        # Version numbers are never reused.
        self.assertEqual(self.json("train", "--name", "d", "--data", iris,
                                   "--target", "species")["version"], 4)


if __name__ == "__main__":
    MODELSERVER, MODELCTL, LOCAL, DATA = sys.argv[1:5]
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
