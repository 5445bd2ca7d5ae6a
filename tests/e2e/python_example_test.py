#!/usr/bin/python3
"""End to end: the Python example client (examples/python) against the real
modelserver binary.

Usage: python_example_test.py MODELSERVER DATA_DIR [unittest arguments]

Generates the stubs with examples/python/generate.sh into a temporary
directory, starts modelserver on 127.0.0.1:0 with a temporary model
directory (the Server class of modelctl_e2e_test.py), and runs
examples/python/modelserver_client.py as a user would. Needs Debian's
/usr/bin/python3 with python3-grpcio and python3-protobuf, protoc
(protobuf-compiler) and grpc_python_plugin (protobuf-compiler-grpc).
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import modelctl_e2e_test as e2e  # noqa: E402  (Server; MODELSERVER and DATA set in __main__)

EXAMPLE = os.path.join(HERE, "..", "..", "examples", "python")
CLIENT = os.path.join(EXAMPLE, "modelserver_client.py")
GENERATE = os.path.join(EXAMPLE, "generate.sh")


def csv_rows(path):
    """Data rows of a CSV file (header excluded)."""
    with open(path, newline="") as f:
        return len(list(csv.reader(f))) - 1


class PythonExampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="modelserver-pyexample-")
        cls.gen = os.path.join(cls.work, "gen")
        # From another directory, with a relative output path: generate.sh
        # must not depend on the current directory.
        gen = subprocess.run(["sh", GENERATE, "gen"], cwd=cls.work,
                             capture_output=True, text=True, timeout=120)
        if gen.returncode != 0:
            raise RuntimeError(f"generate.sh failed: {gen.stdout}{gen.stderr}")
        cls.server = e2e.Server(os.path.join(cls.work, "models"))

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        shutil.rmtree(cls.work, ignore_errors=True)
        assert code == 0, f"modelserver exited with {code}"

    def client(self, *args):
        """Runs the example with /usr/bin/python3; returns (code, stdout, stderr)."""
        proc = subprocess.run(
            ["/usr/bin/python3", CLIENT, "--address", self.server.address, "--gen", self.gen,
             *args], capture_output=True, text=True, timeout=300, cwd=self.work)
        return proc.returncode, proc.stdout, proc.stderr

    def demo(self, csv_name, target, name):
        path = os.path.join(e2e.DATA, csv_name)
        code, out, err = self.client("demo", path, "--target", target, "--name", name)
        self.assertEqual(code, 0, out + err)
        self.assertEqual(err, "")
        # The stream: accepted, at least one epoch, then the published version.
        self.assertRegex(out, rf"job \S+ accepted for model {name}\n")
        self.assertRegex(out, r"\n  epoch 1/\d+  train_loss=")
        self.assertIn(f"published {name} version 1 (epochs: ", out)
        self.assertIn(f"evaluated {name} version 1 on {csv_rows(path)} rows (0 dropped)", out)
        self.assertIn(f"{csv_rows(path)} predictions from {name} version 1\n", out)
        return out, csv_rows(path)

    def metric(self, out, name):
        """The value of an Evaluate metric line '  name   value'."""
        match = re.search(rf"^  {name} +(\S+)$", out, re.M)
        self.assertIsNotNone(match, f"no {name} in:\n{out}")
        return float(match.group(1))

    def test_iris_classifier(self):
        out, rows = self.demo("iris.csv", "species", "iris")
        self.assertGreaterEqual(self.metric(out, "accuracy"), 0.9)
        self.assertIn("confusion matrix", out)
        self.assertIn("row\tlabel\tp(setosa)\tp(versicolor)\tp(virginica)\n", out)
        self.assertIn(f"... {rows - 5} more", out)
        # predict alone prints every row: label, then probabilities summing to 1.
        code, out, err = self.client("predict", "iris", os.path.join(e2e.DATA, "iris.csv"))
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], f"{rows} predictions from iris version 1")
        predictions = [line.split("\t") for line in lines[2:]]
        self.assertEqual(len(predictions), rows)
        for i, cells in enumerate(predictions):
            self.assertEqual(cells[0], str(i))
            self.assertIn(cells[1], ("setosa", "versicolor", "virginica"))
            self.assertAlmostEqual(sum(map(float, cells[2:])), 1.0, delta=2e-4)
        self.assertEqual(predictions[0][1], "setosa")

    def test_diabetes_regressor(self):
        out, rows = self.demo("diabetes.csv", "progression", "diabetes")
        self.assertGreater(self.metric(out, "r2"), 0.4)
        self.assertGreater(self.metric(out, "rmse"), 0)
        self.assertIn("row\tvalue\n", out)
        self.assertNotIn("confusion matrix", out)
        code, out, _ = self.client("predict", "diabetes",
                                   os.path.join(e2e.DATA, "diabetes.csv"), "--head", "3")
        self.assertEqual(code, 0)
        self.assertEqual(len(out.splitlines()), 2 + 3 + 1)  # summary, header, 3 rows, "... more"
        self.assertIn(f"... {rows - 3} more", out)

    def test_train_then_list(self):
        code, out, err = self.client("train", "listed", os.path.join(e2e.DATA, "mpg.csv"),
                                     "--target", "class", "--seed", "7")
        self.assertEqual(code, 0, err)
        self.assertIn("published listed version 1 (epochs: ", out)
        self.assertRegex(out, r"\n  train metrics: +accuracy=")
        code, out, _ = self.client("list")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"^name +latest versions  kind +target\n")
        self.assertRegex(out, r"\nlisted +1 +1  logistic_regression +class\n")

    def test_errors_print_the_status_and_exit_1(self):
        iris = os.path.join(e2e.DATA, "iris.csv")
        code, out, err = self.client("predict", "no-such-model", iris)
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertRegex(err, r"^error: NOT_FOUND: .*no-such-model")
        # A failing training job: the stream's final status is printed.
        code, out, err = self.client("train", "bad", iris, "--target", "nosuch")
        self.assertEqual(code, 1)
        self.assertIn("error: INVALID_ARGUMENT: ", err)
        self.assertIn("nosuch", err)
        # A local error (no such CSV): a message, no traceback.
        code, _, err = self.client("evaluate", "iris", os.path.join(self.work, "absent.csv"))
        self.assertEqual(code, 1)
        self.assertRegex(err, r"^error: .*absent\.csv")
        self.assertNotIn("Traceback", err)

    def test_missing_stubs_say_how_to_generate_them(self):
        proc = subprocess.run(["/usr/bin/python3", CLIENT, "--gen",
                               os.path.join(self.work, "absent"), "list"],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("generate.sh", proc.stderr)


if __name__ == "__main__":
    # Absolute: the client runs in a temporary directory.
    e2e.MODELSERVER, e2e.DATA = map(os.path.abspath, sys.argv[1:3])
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
