#!/usr/bin/python3
"""Metrics end to end: the real modelserver's /metrics passes `promtool check
metrics`, and a real Prometheus server started on loopback scrapes it and
answers a query with the server's own counts.

Usage: metrics_e2e_test.py MODELSERVER MODELCTL MODELSERVER_LOCAL DATA_DIR
(Debian's /usr/bin/python3, standard library only; promtool and prometheus
from Debian's `prometheus` package.)
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import modelctl_e2e_test as e2e  # noqa: E402  (Server, run_ctl)


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="modelserver-metrics-")
        cls.server = e2e.Server(os.path.join(cls.work, "models"))
        iris = os.path.join(e2e.DATA, "iris.csv")
        e2e.run_ctl(cls.server.address, "train", "--name", "iris", "--data", iris,
                    "--target", "species")
        for _ in range(3):
            e2e.run_ctl(cls.server.address, "predict", "--name", "iris", "--data", iris)
        code, _, _ = e2e.run_ctl(cls.server.address, "predict", "--name", "absent",
                                 "--data", iris, check=False)
        assert code == 1
        cls.url = f"http://{cls.server.metrics_address}/metrics"

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        shutil.rmtree(cls.work, ignore_errors=True)
        if code != 0:  # also how a sanitizer report fails the test
            raise AssertionError(f"modelserver exited with {code} on SIGTERM:\n"
                                 + "".join(cls.server.stderr_lines))

    def test_exposition_passes_promtool(self):
        status, content_type, text = get(self.url)
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain"), content_type)
        self.assertIn('modelserver_grpc_requests_total{code="OK",method="Predict"} 3\n', text)
        self.assertIn('modelserver_grpc_requests_total{code="NOT_FOUND",method="Predict"} 1\n',
                      text)
        self.assertIn('modelserver_inference_rows_total{model="iris",version="1"} 450\n', text)
        proc = subprocess.run(["promtool", "check", "metrics"], input=text,
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout + proc.stderr, "")

    def test_a_real_prometheus_scrapes_and_answers_queries(self):
        port = free_port()
        tsdb = tempfile.mkdtemp(dir=self.work, prefix="tsdb-")
        config = os.path.join(self.work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n"
                    "scrape_configs:\n  - job_name: modelserver\n"
                    f"    static_configs:\n      - targets: ['{self.server.metrics_address}']\n")
        check = subprocess.run(["promtool", "check", "config", config],
                               capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        prom = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            query = urllib.parse.quote(
                'modelserver_grpc_requests_total{job="modelserver",method="Predict",code="OK"}')
            deadline = time.time() + 60
            result = []
            while time.time() < deadline and not result:
                time.sleep(0.5)
                try:
                    _, _, body = get(f"http://127.0.0.1:{port}/api/v1/query?query={query}")
                except OSError:
                    continue  # not listening yet
                reply = json.loads(body)
                self.assertEqual(reply["status"], "success", body)
                result = reply["data"]["result"]
            self.assertEqual(len(result), 1, "Prometheus never scraped modelserver")
            self.assertEqual(result[0]["value"][1], "3")
            _, _, body = get(f"http://127.0.0.1:{port}/api/v1/query?query=" +
                             urllib.parse.quote('up{job="modelserver"}'))
            self.assertEqual(json.loads(body)["data"]["result"][0]["value"][1], "1")
        finally:
            prom.terminate()
            try:
                prom.wait(timeout=20)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
            prom.stderr.close()


class LogTest(unittest.TestCase):
    def test_every_line_is_json_and_debug_logs_each_rpc(self):
        work = tempfile.mkdtemp(prefix="modelserver-logs-")
        try:
            server = e2e.Server(os.path.join(work, "models"), extra=["--log-level", "debug"])
            try:
                iris = os.path.join(e2e.DATA, "iris.csv")
                e2e.run_ctl(server.address, "train", "--name", "iris", "--data", iris,
                            "--target", "species")
                e2e.run_ctl(server.address, "predict", "--name", "nope", "--data", iris,
                            check=False)
            finally:
                self.assertEqual(server.stop(), 0)
            records = [json.loads(line) for line in server.stderr_lines]
            for r in records:
                self.assertEqual(list(r)[:3], ["time", "level", "msg"], r)
            rpcs = [(r["method"], r["code"], r["model"]) for r in records if r["msg"] == "rpc"]
            self.assertIn(("Train", "OK", "iris"), rpcs)
            self.assertIn(("Predict", "NOT_FOUND", "nope"), rpcs)
            jobs = [r for r in records if r["msg"] == "training job finished"]
            self.assertEqual([(j["model"], j["state"], j["version"]) for j in jobs],
                             [("iris", "succeeded", 1)])
            self.assertEqual(records[-1]["msg"], "stopped")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_bad_log_level_is_a_usage_error(self):
        proc = subprocess.run([e2e.MODELSERVER, "--log-level", "verbose"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--log-level", proc.stderr)


if __name__ == "__main__":
    e2e.MODELSERVER, e2e.MODELCTL, e2e.LOCAL, e2e.DATA = sys.argv[1:5]
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
