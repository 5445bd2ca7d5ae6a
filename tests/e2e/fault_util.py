"""Helpers shared by the fault tests (crash_consistency_test.py,
disk_fault_test.py): stubs of modelserver.v1.ModelService generated at test
time, and a modelserver process (optionally started through a wrapper such
as `unshare`) whose start-up line is parsed and whose stderr is drained.

Needs Debian's /usr/bin/python3 with python3-grpcio and python3-protobuf,
protoc (protobuf-compiler) and grpc_python_plugin (protobuf-compiler-grpc).
"""
import importlib
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
GRPC_PLUGIN = "/usr/bin/grpc_python_plugin"


def load_stubs(gen_dir):
    """Generates the ModelService stubs into gen_dir; returns (pb, pb_grpc)."""
    proc = subprocess.run(
        ["protoc", f"--python_out={gen_dir}", f"--grpc_out={gen_dir}",
         f"--plugin=protoc-gen-grpc={GRPC_PLUGIN}", "-I", os.path.join(ROOT, "proto"),
         os.path.join(ROOT, "proto", "modelserver", "v1", "model_service.proto")],
        capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"protoc failed: {proc.stderr}")
    for d in ("modelserver", os.path.join("modelserver", "v1")):
        open(os.path.join(gen_dir, d, "__init__.py"), "a").close()
    sys.path.insert(0, gen_dir)
    pb = importlib.import_module("modelserver.v1.model_service_pb2")
    pb_grpc = importlib.import_module("modelserver.v1.model_service_pb2_grpc")
    return pb, pb_grpc


class Server:
    """A modelserver on 127.0.0.1:0 with --model-dir `model_dir`.

    `prefix` is a command that ends by exec'ing its arguments (the server's
    command line), e.g. unshare ... sh -c '...; exec "$@"' sh, so that
    self.proc.pid is the server's pid."""

    def __init__(self, binary, model_dir, extra=(), prefix=(), timeout=30):
        args = [*prefix, binary, "--listen", "127.0.0.1:0", "--metrics-listen", "",
                "--http-listen", "", "--poll-interval", "0", "--model-dir", model_dir,
                *extra]
        self.lines = []
        self.ready = None  # the start-up log line, parsed
        self.start_seconds = None
        started = time.monotonic()
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the wrapper's own output
            if "grpc_address" in record:
                self.ready = record
                break
        if self.ready is None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.lines.extend(self.proc.stderr.readlines())
            raise RuntimeError(f"modelserver did not start (exit status "
                               f"{self.proc.returncode}):\n" + "".join(self.lines))
        self.start_seconds = time.monotonic() - started
        self.address = self.ready["grpc_address"]
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    def _read_rest(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def records(self):
        """Every JSON log line so far."""
        out = []
        for line in list(self.lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def kill(self):
        """SIGKILL; waits for the process."""
        self.proc.kill()
        self.proc.wait()
        self._drain.join(timeout=5)
        self.proc.stderr.close()

    def stop(self):
        """SIGTERM; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._drain.join(timeout=5)
        self.proc.stderr.close()
        return code


def walk_files(root):
    """Every file below root, as paths relative to it, sorted."""
    out = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return sorted(out)
