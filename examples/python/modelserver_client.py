#!/usr/bin/python3
"""A small Python client of modelserver's gRPC API (modelserver.v1.ModelService).

Trains a model from a CSV file, follows the training stream, evaluates it,
predicts with it, and lists the server's models. The CSV files are sent
inline (Dataset.csv / PredictRequest.csv), so the server needs no access to
them. See README.md next to this file; the API is described in docs/api.md.

Runs on Debian 12's /usr/bin/python3 with python3-grpcio and python3-protobuf.
The stubs come from ./generate.sh (default directory: gen/ next to this file).

  modelserver_client.py train iris ../../tests/data/iris.csv --target species
  modelserver_client.py evaluate iris ../../tests/data/iris.csv
  modelserver_client.py predict iris ../../tests/data/iris.csv --head 5
  modelserver_client.py list
  modelserver_client.py demo ../../tests/data/iris.csv --target species

Any failed call prints its gRPC status code and message and exits with 1.

TLS and tokens (docs/operations.md, "Security"): --tls-ca CA.pem checks the
server's certificate (--tls-cert/--tls-key add a client certificate for
mutual TLS); --token-file FILE (or $MODELSERVER_TOKEN) sends
"authorization: Bearer <token>" with every call.
"""
import argparse
import math
import os
import sys

try:
    import grpc
except ImportError:
    sys.exit("error: the grpc module is missing; run this with /usr/bin/python3 "
             "(Debian packages python3-grpcio and python3-protobuf)")

HERE = os.path.dirname(os.path.abspath(__file__))
pb = pb_grpc = None  # the generated modules, set by load_stubs()


def load_stubs(gen_dir):
    """Imports the modules generate.sh wrote into gen_dir."""
    global pb, pb_grpc
    sys.path.insert(0, os.path.abspath(gen_dir))
    try:
        from modelserver.v1 import model_service_pb2, model_service_pb2_grpc
    except ImportError as e:
        sys.exit(f"error: cannot import the generated stubs from {gen_dir} ({e});\n"
                 f"run {os.path.join(HERE, 'generate.sh')} {gen_dir}")
    pb, pb_grpc = model_service_pb2, model_service_pb2_grpc


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def fmt_metrics(metrics):
    """[Metric] -> 'accuracy=0.9733 log_loss=0.0581'."""
    return " ".join(f"{m.name}={m.value:.4g}" for m in metrics)


# ------------------------------------------------------------------ calls

def train(stub, name, csv_path, args):
    """Train: streams JobAccepted, one EpochProgress per epoch, then the
    TrainResult (or JobFailed; the RPC then ends with the failure's status,
    raised as grpc.RpcError). Returns the TrainResult."""
    options = pb.TrainOptions(target=args.target, epochs=args.epochs)
    if args.model:  # "linear" -> MODEL_TYPE_LINEAR; unset lets the server choose
        options.model = pb.ModelType.Value("MODEL_TYPE_" + args.model.upper())
    if args.seed is not None:
        options.seed = args.seed  # an `optional` field: set only when given
    request = pb.TrainRequest(name=name, data=pb.Dataset(csv=read_bytes(csv_path)),
                              options=options)
    result = None
    for event in stub.Train(request):  # no deadline: training may take long
        kind = event.WhichOneof("event")
        if kind == "accepted":
            print(f"job {event.job_id} accepted for model {event.accepted.name}")
        elif kind == "epoch":
            e = event.epoch
            line = f"  epoch {e.epoch}/{e.max_epochs}  train_loss={e.train_loss:.6g}"
            if not math.isnan(e.validation_loss):  # NaN without validation rows
                line += (f"  validation_loss={e.validation_loss:.6g}"
                         f"  {e.metric_name}={e.validation_metric:.4g}")
            print(line)
        elif kind == "result":
            result = event.result
        elif kind == "failed":
            # The stream then ends with the same code and message, raised as
            # grpc.RpcError on the next iteration (and printed by main()).
            print(f"job {event.job_id} failed")
    if result is None:  # not expected: the server ends every job with an event
        sys.exit("error: the Train stream ended without a result")
    r = result
    print(f"published {r.name} version {r.version} (epochs: {r.epochs}, "
          f"{r.training_seconds:.3f} s; rows: {r.rows_train} train, "
          f"{r.rows_validation} validation, {r.rows_dropped} dropped)")
    print(f"  train metrics:      {fmt_metrics(r.train_metrics)}")
    if r.validation_metrics:
        print(f"  validation metrics: {fmt_metrics(r.validation_metrics)}")
    return r


def evaluate(stub, name, csv_path, version=0):
    """Evaluate: metrics of a version (0 = latest) on a CSV holding the target."""
    reply = stub.Evaluate(pb.EvaluateRequest(
        name=name, version=version, data=pb.Dataset(csv=read_bytes(csv_path))), timeout=120)
    print(f"evaluated {reply.name} version {reply.version} on {reply.rows_used} rows "
          f"({reply.rows_dropped} dropped)")
    for m in reply.metrics:
        print(f"  {m.name:20} {m.value:.4f}")
    if reply.per_class:  # classifiers: per-class scores and the confusion matrix
        print(f"  {'class':20} precision  recall      f1  support")
        for c in reply.per_class:
            print(f"  {c.label:20} {c.precision:9.3f} {c.recall:7.3f} {c.f1:7.3f} {c.support:8}")
        labels, counts = reply.confusion_matrix.labels, reply.confusion_matrix.counts
        print("  confusion matrix (rows: true class, columns: predicted):")
        for i, label in enumerate(labels):
            row = counts[i * len(labels):(i + 1) * len(labels)]
            print(f"  {label:20} " + " ".join(f"{n:5}" for n in row))
    return reply


def predict(stub, name, csv_path, version=0, head=None):
    """Predict: one Prediction per CSV row, printed as tab-separated lines
    (row, label, one probability per class for classifiers; row, value for
    regressors). `head` limits how many rows are printed."""
    reply = stub.Predict(pb.PredictRequest(name=name, version=version,
                                           csv=read_bytes(csv_path)), timeout=120)
    classes = list(reply.class_labels)  # empty for regressors
    print(f"{len(reply.predictions)} predictions from {reply.name} version {reply.version}")
    print("\t".join(["row", "label"] + [f"p({c})" for c in classes] if classes
                    else ["row", "value"]))
    shown = reply.predictions if head is None else reply.predictions[:head]
    for i, p in enumerate(shown):
        cells = [p.label] + [f"{q:.4f}" for q in p.probabilities] if classes else [f"{p.value:.6g}"]
        print("\t".join([str(i)] + cells))
    if len(shown) < len(reply.predictions):
        print(f"... {len(reply.predictions) - len(shown)} more")
    return reply


def list_models(stub):
    reply = stub.ListModels(pb.ListModelsRequest(), timeout=30)
    print(f"{'name':24} {'latest':>6} {'versions':>8}  {'kind':22} target")
    for m in reply.models:
        print(f"{m.name:24} {m.latest_version:6} {m.num_versions:8}  {m.kind:22} {m.target}")
    return reply


# ------------------------------------------------------------------ command line

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--address", default="127.0.0.1:50051", help="server (host:port)")
    p.add_argument("--tls-ca", help="PEM CA certificate of the server (turns TLS on)")
    p.add_argument("--tls-cert", help="PEM client certificate (mutual TLS)")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--tls-server-name", help="name the server's certificate carries")
    p.add_argument("--token-file", help="file holding a bearer token "
                   "(default: $MODELSERVER_TOKEN)")
    p.add_argument("--gen", default=os.path.join(HERE, "gen"),
                   help="directory of the stubs written by generate.sh (default: %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)

    def train_flags(s):
        s.add_argument("--target", required=True, help="column to predict")
        s.add_argument("--model", choices=["linear", "logistic", "mlp"],
                       help="model type (default: from the target)")
        s.add_argument("--epochs", type=int, default=0, help="0 = the server's default")
        s.add_argument("--seed", type=int)

    s = sub.add_parser("train", help="train a new version of a model from a CSV")
    s.add_argument("name")
    s.add_argument("csv")
    train_flags(s)
    for cmd in ("evaluate", "predict"):
        s = sub.add_parser(cmd, help=f"{cmd} a model on a CSV")
        s.add_argument("name")
        s.add_argument("csv")
        s.add_argument("--version", type=int, default=0, help="0 = latest")
        if cmd == "predict":
            s.add_argument("--head", type=int, help="print only the first N predictions")
    sub.add_parser("list", help="list the models")
    s = sub.add_parser("demo", help="train, evaluate and predict on one CSV")
    s.add_argument("csv")
    train_flags(s)
    s.add_argument("--name", help="model name (default: the CSV's file name)")
    return p.parse_args(argv)


class _TokenInterceptor(grpc.UnaryUnaryClientInterceptor,
                        grpc.UnaryStreamClientInterceptor):
    """Adds "authorization: Bearer <token>" to every call (also without TLS,
    where gRPC's call credentials are not sent)."""

    def __init__(self, token):
        self._metadata = ("authorization", f"Bearer {token}")

    def _details(self, details):
        metadata = list(details.metadata or []) + [self._metadata]
        return _CallDetails(details.method, details.timeout, metadata,
                            details.credentials, getattr(details, "wait_for_ready", None),
                            getattr(details, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):
        self.method, self.timeout, self.metadata = method, timeout, metadata
        self.credentials, self.wait_for_ready, self.compression = (
            credentials, wait_for_ready, compression)


def open_channel(args):
    """A channel to args.address: TLS when a --tls-* file is given, with the
    bearer token of --token-file / $MODELSERVER_TOKEN on every call."""
    limit = 64 * 1024 * 1024  # the server's default --max-message-bytes
    options = [("grpc.max_send_message_length", limit),
               ("grpc.max_receive_message_length", limit)]
    if args.tls_server_name:
        options.append(("grpc.ssl_target_name_override", args.tls_server_name))
    if args.tls_ca or args.tls_cert:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read_bytes(args.tls_ca) if args.tls_ca else None,
            private_key=read_bytes(args.tls_key) if args.tls_key else None,
            certificate_chain=read_bytes(args.tls_cert) if args.tls_cert else None)
        channel = grpc.secure_channel(args.address, credentials, options=options)
    else:
        channel = grpc.insecure_channel(args.address, options=options)
    token = os.environ.get("MODELSERVER_TOKEN", "")
    if args.token_file:
        with open(args.token_file) as f:
            token = f.read().strip()
    if token:
        channel = grpc.intercept_channel(channel, _TokenInterceptor(token))
    return channel


def main(argv=None):
    args = parse_args(argv)
    load_stubs(args.gen)
    with open_channel(args) as channel:
        stub = pb_grpc.ModelServiceStub(channel)
        try:
            if args.command == "train":
                train(stub, args.name, args.csv, args)
            elif args.command == "evaluate":
                evaluate(stub, args.name, args.csv, args.version)
            elif args.command == "predict":
                predict(stub, args.name, args.csv, args.version, args.head)
            elif args.command == "list":
                list_models(stub)
            elif args.command == "demo":
                name = args.name or os.path.splitext(os.path.basename(args.csv))[0]
                print(f"== train {name} on {args.csv} (target {args.target})")
                version = train(stub, name, args.csv, args).version
                print(f"== evaluate {name} version {version} on the training data")
                evaluate(stub, name, args.csv, version)
                print(f"== predict with {name} version {version}")
                predict(stub, name, args.csv, version, head=5)
        except grpc.RpcError as e:  # every failed call: status code and message
            print(f"error: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
        except OSError as e:  # e.g. a CSV file that cannot be read
            print(f"error: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
