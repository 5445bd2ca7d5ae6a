#!/usr/bin/python3
"""A full disk and an unwritable model directory, end to end: the real
modelserver with its model directory on a small tmpfs, in a user and mount
namespace of its own (unshare --user --map-root-user --mount), so that the
test can fill the disk and make it read-only even when it runs as root
(chmod does not stop root).

Usage: disk_fault_test.py MODELSERVER DATA_DIR [unittest arguments]

  DiskFullTest         tmpfs full: Train is RESOURCE_EXHAUSTED naming the
                       model, the model directory and "No space left on
                       device"; no temporary file and no version directory
                       is left; UploadDataset and SetLabel fail the same way
                       without leaving files; Predict keeps answering the same;
                       once space is freed Train works again (next version).
  ReadOnlyTest         the model directory remounted read-only under a
                       running server: Train, UploadDataset, SetLabel and
                       DeleteModel are FAILED_PRECONDITION naming the path and
                       "Read-only file system", nothing on disk changes,
                       Predict keeps answering; remounted read-write, Train
                       works again.
  ReadOnlyStartTest    a server started on a read-only model directory (with
                       no .uploads yet) starts, logs a warning, serves the
                       versions in it and refuses Train and UploadDataset
                       with FAILED_PRECONDITION.

The namespace is required: if unshare fails the test fails (Debian 12's
kernel allows unprivileged user namespaces by default). The test looks into
the namespace through /proc/<server pid>/root and remounts with nsenter.
Needs Debian's /usr/bin/python3 with python3-grpcio and python3-protobuf,
protoc, grpc_python_plugin and util-linux (unshare, nsenter, mount).
"""
import errno
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fault_util as fu  # noqa: E402

import grpc  # noqa: E402

MODELSERVER = DATA = None
pb = pb_grpc = None
GEN = None
TMPFS_BYTES = 2 << 20


def setUpModule():
    global GEN, pb, pb_grpc
    GEN = tempfile.mkdtemp(prefix="modelserver-diskfault-gen-")
    pb, pb_grpc = fu.load_stubs(GEN)
    # Fail loudly, with the reason, when namespaces are not available.
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        raise RuntimeError("unshare --user --map-root-user --mount is required (user "
                           "namespaces; kernel.unprivileged_userns_clone / "
                           f"user.max_user_namespaces): {probe.stderr.strip()}")


def tearDownModule():
    shutil.rmtree(GEN, ignore_errors=True)


def read(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def namespace_prefix(model_dir, setup):
    """unshare + a shell that runs `setup` (mounts on $D) and execs the server."""
    return ["unshare", "--user", "--map-root-user", "--mount", "env", f"D={model_dir}",
            "sh", "-c", setup + ' && exec "$@"', "sh"]


class FaultTestCase(unittest.TestCase):
    """A server whose model directory is a tmpfs bind-mounted on itself in
    its own namespace (so it can be remounted read-only alone)."""

    SETUP = (f'mount -t tmpfs -o size={TMPFS_BYTES} tmpfs "$D" && '
             'mount --bind "$D" "$D"')

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="modelserver-diskfault-")
        self.model_dir = os.path.join(self.work, "models")
        os.makedirs(self.model_dir)
        self.server = None

    def start(self, setup=None):
        self.server = fu.Server(MODELSERVER, self.model_dir,
                                prefix=namespace_prefix(self.model_dir, setup or self.SETUP))
        self.channel = grpc.insecure_channel(self.server.address)
        self.stub = pb_grpc.ModelServiceStub(self.channel)
        # The model directory as the server sees it.
        self.view = f"/proc/{self.server.proc.pid}/root{self.model_dir}"
        self.assertTrue(os.path.isdir(self.view), self.view)

    def tearDown(self):
        if self.server is not None:
            self.channel.close()
            code = self.server.stop()
            log = "".join(self.server.lines)
            self.server = None
            self.assertEqual(code, 0, log)
        shutil.rmtree(self.work, ignore_errors=True)

    def nsenter(self, *command):
        proc = subprocess.run(["nsenter", "-t", str(self.server.proc.pid), "-U", "-m",
                               "--preserve-credentials", *command],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def train(self, name="iris", data="iris.csv", target="species"):
        """Trains; returns the TrainResult or raises grpc.RpcError."""
        request = pb.TrainRequest(name=name, data=pb.Dataset(csv=read(data)),
                                  options=pb.TrainOptions(target=target, seed=3))
        result = failed = None
        try:
            for event in self.stub.Train(request, timeout=60):
                kind = event.WhichOneof("event")
                if kind == "result":
                    result = event.result
                elif kind == "failed":
                    failed = event.failed
        except grpc.RpcError as e:
            # The failure event came first, with the same code and message.
            self.assertIsNotNone(failed)
            self.assertEqual(failed.code, e.code().value[0])
            self.assertEqual(failed.message, e.details())
            raise
        return result

    def train_fails(self, code, *pieces):
        with self.assertRaises(grpc.RpcError) as caught:
            self.train()
        e = caught.exception
        self.assertEqual(e.code(), code, e.details())
        for piece in pieces:
            self.assertIn(piece, e.details())
        return e.details()

    def predict(self, version=0):
        return self.stub.Predict(pb.PredictRequest(name="iris", version=version,
                                                   csv=read("iris.csv")), timeout=30)

    def upload(self, payload):
        chunks = [payload[i:i + 65536] for i in range(0, len(payload), 65536)]
        return self.stub.UploadDataset(iter(pb.UploadChunk(data=c) for c in chunks),
                                       timeout=30)

    def files(self):
        """Every file and directory in the model directory (as the server
        sees it), relative."""
        out = []
        for dirpath, dirs, files in os.walk(self.view):
            for f in dirs + files:
                out.append(os.path.relpath(os.path.join(dirpath, f), self.view))
        return sorted(out)

    def assert_serving(self, expected, versions):
        """Predict answers exactly `expected` (bytes) for the latest version;
        GetModel lists `versions`."""
        reply = self.predict()
        self.assertEqual(reply.SerializeToString(deterministic=True), expected)
        info = self.stub.GetModel(pb.GetModelRequest(name="iris"), timeout=30)
        self.assertEqual(list(info.stored_versions), versions)
        self.assertEqual([v.version for v in info.versions], versions[-1:])


class DiskFullTest(FaultTestCase):
    def fill(self):
        """Fills the tmpfs; returns the filler's path."""
        path = os.path.join(self.view, "filler")
        with open(path, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError as e:
                self.assertEqual(e.errno, errno.ENOSPC)
        st = os.statvfs(self.view)
        self.assertEqual(st.f_bavail, 0)
        return path

    def test_full_disk_fails_cleanly_and_recovers(self):
        self.start()
        self.assertEqual(self.train().version, 1)
        before = self.predict().SerializeToString(deterministic=True)
        upload_id = self.upload(read("iris.csv")).upload_id
        filler = self.fill()
        files = self.files()
        self.assertIn(".uploads/" + upload_id + ".csv", files)

        # Train: a clear error; nothing left behind.
        details = self.train_fails(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                   "cannot save model 'iris'",
                                   f"in the model directory '{self.model_dir}'",
                                   "No space left on device")
        print(f"\nTrain on a full disk: RESOURCE_EXHAUSTED: {details}", file=sys.stderr)
        self.assertEqual(self.files(), files)
        # Train from an upload made before: the same.
        request = pb.TrainRequest(name="iris", data=pb.Dataset(upload_id=upload_id),
                                  options=pb.TrainOptions(target="species"))
        with self.assertRaises(grpc.RpcError) as caught:
            list(self.stub.Train(request, timeout=60))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(self.files(), files)

        # UploadDataset: the partial file is deleted.
        with self.assertRaises(grpc.RpcError) as caught:
            self.upload(read("diabetes.csv") * 4)
        e = caught.exception
        self.assertEqual(e.code(), grpc.StatusCode.RESOURCE_EXHAUSTED, e.details())
        self.assertIn(f"{self.model_dir}/.uploads/", e.details())
        self.assertIn("No space left on device", e.details())
        print(f"UploadDataset on a full disk: RESOURCE_EXHAUSTED: {e.details()}",
              file=sys.stderr)
        self.assertEqual(self.files(), files)

        # SetLabel writes the labels file: the same, and no label is set.
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.SetLabel(pb.SetLabelRequest(name="iris", label="stable", version=1),
                               timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn("No space left on device", caught.exception.details())
        self.assertEqual(self.files(), files)
        info = self.stub.GetModel(pb.GetModelRequest(name="iris"), timeout=30)
        self.assertEqual(dict(info.labels), {})

        # Serving continues, unchanged.
        self.assert_serving(before, [1])

        # Space freed: training works again, and takes the next number.
        os.unlink(filler)
        self.assertEqual(self.train().version, 2)
        self.assertEqual(len(self.upload(read("iris.csv")).upload_id), 32)
        self.assertEqual(self.predict().version, 2)


class ReadOnlyTest(FaultTestCase):
    def test_read_only_directory_refuses_writes_and_serves(self):
        self.start()
        self.assertEqual(self.train().version, 1)
        self.assertEqual(len(self.upload(read("iris.csv")).upload_id), 32)
        self.assertEqual(self.train().version, 2)
        before = self.predict().SerializeToString(deterministic=True)
        self.nsenter("mount", "-o", "remount,bind,ro", self.model_dir)
        files = self.files()

        details = self.train_fails(grpc.StatusCode.FAILED_PRECONDITION,
                                   "cannot save model 'iris'",
                                   f"in the model directory '{self.model_dir}'",
                                   "Read-only file system")
        print(f"\nTrain on a read-only model directory: FAILED_PRECONDITION: {details}",
              file=sys.stderr)
        with self.assertRaises(grpc.RpcError) as caught:
            self.upload(read("iris.csv"))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn(f"{self.model_dir}/.uploads/", caught.exception.details())
        self.assertIn("Read-only file system", caught.exception.details())
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.SetLabel(pb.SetLabelRequest(name="iris", label="stable", version=1),
                               timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("Read-only file system", caught.exception.details())
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.DeleteModel(pb.DeleteModelRequest(name="iris", version=1), timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn(f"cannot delete '{self.model_dir}/iris/1/model.msm'",
                      caught.exception.details())
        self.assertEqual(self.files(), files)
        self.assert_serving(before, [1, 2])

        self.nsenter("mount", "-o", "remount,bind,rw", self.model_dir)
        self.assertEqual(self.train().version, 3)
        self.assertEqual(self.stub.DeleteModel(
            pb.DeleteModelRequest(name="iris", version=1), timeout=30).deleted_versions, [1])


class ReadOnlyStartTest(FaultTestCase):
    def test_server_starts_on_a_read_only_directory_and_serves(self):
        # A model directory with one version and no .uploads yet.
        first = fu.Server(MODELSERVER, self.model_dir)
        channel = grpc.insecure_channel(first.address)
        self.stub = pb_grpc.ModelServiceStub(channel)
        self.assertEqual(self.train().version, 1)
        before = self.predict().SerializeToString(deterministic=True)
        channel.close()
        self.assertEqual(first.stop(), 0)
        shutil.rmtree(os.path.join(self.model_dir, ".uploads"))

        self.start('mount --bind "$D" "$D" && mount -o remount,bind,ro "$D"')
        warnings = [r for r in self.server.records() if r.get("level") == "warning"]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("not writable", warnings[0]["msg"])
        self.assertEqual(warnings[0]["dir"], self.model_dir + "/.uploads")
        self.assertEqual(warnings[0]["error"], "Read-only file system")
        self.assertEqual(self.server.ready["versions"], 1)
        self.assert_serving(before, [1])
        self.train_fails(grpc.StatusCode.FAILED_PRECONDITION,
                         f"in the model directory '{self.model_dir}'",
                         "Read-only file system")
        with self.assertRaises(grpc.RpcError) as caught:
            self.upload(read("iris.csv"))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(caught.exception.details(), "cannot create upload directory "
                         f"'{self.model_dir}/.uploads': Read-only file system")
        self.assertEqual(self.files(), ["iris", "iris/1", "iris/1/model.msm"])


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    MODELSERVER, DATA = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
