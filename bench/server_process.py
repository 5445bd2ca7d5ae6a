"""Server processes for the bench scripts (compare.py, serving.py).

Process starts a program, waits for the line that gives its address, then keeps
its pipes drained in the background (a server that logs must never block on a
full pipe). modelserver() starts modelserver on free ports and reads the
addresses from its JSON start-up log line.
"""
import json
import re
import subprocess
import threading


class Process:
    """A server process; `ready` is a regex on its output giving the address."""

    def __init__(self, args, ready, stream="stderr"):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        source = self.proc.stderr if stream == "stderr" else self.proc.stdout
        self.address = None
        self.lines = []
        for line in source:
            self.lines.append(line)
            m = re.search(ready, line)
            if m:
                self.address = m.group(1)
                self.line = line
                break
        if self.address is None:
            raise RuntimeError(f"{args[0]} did not start: {''.join(self.lines)}")
        for s in (self.proc.stdout, self.proc.stderr):  # keep the pipes drained
            threading.Thread(target=lambda s=s: [None for _ in s], daemon=True).start()

    def stop(self):
        """SIGTERM (SIGKILL after 60 s); returns the exit status."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode


def modelserver(build, model_dir, metrics=False, extra=(), http=False, binary=None):
    """modelserver (`binary`, default BUILD/server/modelserver) on 127.0.0.1:0;
    `.address` is its gRPC address, `.metrics` its metrics address and `.http`
    its REST address ("" when off)."""
    p = Process([binary or f"{build}/server/modelserver", "--listen", "127.0.0.1:0",
                 "--metrics-listen", "127.0.0.1:0" if metrics else "",
                 "--http-listen", "127.0.0.1:0" if http else "",
                 "--model-dir", model_dir, *extra], r'"grpc_address":"([^"]+)"')
    p.metrics = json.loads(p.line)["metrics_address"]
    p.http = json.loads(p.line)["http_address"]
    return p


def sanitizer_of(binary):
    """"asan", "tsan" or None: which sanitizer runtime the binary carries."""
    with open(binary, "rb") as f:
        content = f.read()
    if b"__tsan_init" in content:
        return "tsan"
    if b"__asan_init" in content:
        return "asan"
    return None
