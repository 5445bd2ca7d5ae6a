// File: client/commands.h
// The modelctl commands, each against a connected ModelService stub. Each
// returns the process exit code: 0 on success; 1 when the server (or a local
// file) reports an error, printed to `err` as "modelctl: CODE: message";
// 2 for a usage error found before any call. With `json`, stdout gets
// exactly one JSON object; progress goes to `err` only when `progress`.
#ifndef MODELSERVER_CLIENT_COMMANDS_H_
#define MODELSERVER_CLIENT_COMMANDS_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/train_flags.h"
#include "client/tune_flags.h"
#include "grpcpp/grpcpp.h"
#include "modelserver/v1/model_service.grpc.pb.h"

namespace modelserver::client {

struct Context {
  std::unique_ptr<v1::ModelService::Stub> stub;
  std::shared_ptr<grpc::Channel> channel;  // the stub's
  bool json = false;
  bool progress = false;  // redraw progress lines on `err` (a terminal)
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  // Files up to this size travel inline in the request; bigger ones go
  // through UploadDataset in chunks of `upload_chunk_bytes`.
  int64_t inline_limit_bytes = 4 << 20;
  int64_t upload_chunk_bytes = 1 << 20;
  // Predict sends CSV batches of about this size.
  int64_t predict_batch_bytes = 4 << 20;
};

// How to reach the server.
struct ConnectOptions {
  std::string address = "127.0.0.1:50051";
  // TLS: `tls`, or any of the files below. `ca_file` = the CA that signed
  // the server's certificate (empty: the system's roots); `cert_file` and
  // `key_file` = this client's certificate for mutual TLS;
  // `server_name` = the name to check the certificate against (empty: the
  // address's host).
  bool tls = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
  // Sent as "authorization: Bearer <token>" on every call; empty = none.
  std::string token;
};

// A channel with no client-side message size cap. INVALID_ARGUMENT naming
// the file when a TLS file cannot be read, or for a key without a
// certificate.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(
    const ConnectOptions& options);

struct DataFlags {
  std::string path;                // CSV file
  std::vector<std::string> types;  // "COLUMN=numeric|categorical|date"
};

int Train(Context& c, const std::string& name, const DataFlags& data,
          const TrainFlags& flags, bool detach);
// Hyperparameter search (rpc Tune): a progress line per trial, then the
// trials sorted by score and the published version (with `json`: one object
// {"job_id", "tuning", "result"}).
int Tune(Context& c, const std::string& name, const DataFlags& data,
         const TuneFlags& flags, bool detach);
// Which version a command addresses: `label` when set, else `version`
// (0 = latest).
struct VersionRef {
  int64_t version = 0;
  std::string label;
};

// `importance`: also permutation feature importance on the data, with
// `importance_repeats` shuffles per column (0 = the server's default).
struct EvaluateOptions {
  bool importance = false;
  int importance_repeats = 0;
};
int Evaluate(Context& c, const std::string& name, const VersionRef& version,
             const DataFlags& data, const EvaluateOptions& options = {});
// `explain`: per-column contributions of each prediction (linear and
// logistic models); printed, not written to `output` (both: usage error).
int Predict(Context& c, const std::string& name, const VersionRef& version,
            const std::string& path, const std::string& output,
            bool explain = false);
int SetLabel(Context& c, const std::string& name, const std::string& label,
             int64_t version);
int RemoveLabel(Context& c, const std::string& name, const std::string& label);
// grpc.health.v1 Check of `service` ("" = the whole server): exit 0 and
// "SERVING" when serving, 1 otherwise (the status or the error printed).
int Health(Context& c, const std::string& service);
int List(Context& c);
int Get(Context& c, const std::string& name, int64_t version);
int Delete(Context& c, const std::string& name, int64_t version);
int Jobs(Context& c);
int Watch(Context& c, const std::string& job_id);
int Cancel(Context& c, const std::string& job_id);

}  // namespace modelserver::client

#endif  // MODELSERVER_CLIENT_COMMANDS_H_
