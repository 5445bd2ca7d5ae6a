// modelserver: serves modelserver.v1.ModelService and the Open Inference
// Protocol (inference.GRPCInferenceService) over gRPC, and the protocol's
// REST endpoints over HTTP.
//
//   modelserver [--listen HOST:PORT] [--model-dir DIR] [--data-dir DIR] ...
//
// Logs are JSON lines on stderr (server/log.h). When ready it logs
// {"msg":"modelserver listening on <host>:<port>","grpc_address":...,
// "metrics_address":...,"http_address":...,"models":...,"versions":...}; tools take the port
// from it. SIGTERM or SIGINT shut it down gracefully (exit status 0).
#include <pthread.h>
#include <signal.h>

#include <cstdint>
#include <cstdlib>
#include <tuple>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/log.h"
#include "server/server.h"

namespace modelserver::server {
namespace {

constexpr absl::Duration kShutdownGrace = absl::Seconds(10);

int Main(int argc, char** argv) {
  ServerOptions options;
  CLI::App app{
      "modelserver: train, evaluate and serve tabular models over gRPC"};
  app.add_option("--listen", options.listen,
                 "host:port to listen on (port 0 picks a free port)")
      ->capture_default_str();
  app.add_option("--metrics-listen", options.metrics_listen,
                 "host:port of the Prometheus endpoint /metrics (port 0 picks "
                 "a free port; \"\" turns metrics off)")
      ->capture_default_str();
  app.add_option("--http-listen", options.http_listen,
                 "host:port of the Open Inference Protocol REST endpoints "
                 "/v2/... (port 0 picks a free port; \"\" turns them off)")
      ->capture_default_str();
  app.add_option("--http-threads", options.http_threads,
                 "threads answering REST requests")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  int keepalive_seconds = 60;
  app.add_option("--keepalive-seconds", keepalive_seconds,
                 "gRPC keepalive: ping connections idle this long, drop them "
                 "if no answer within 20 s (0 = no pings)")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  double drain_seconds = 0;
  app.add_option("--drain-seconds", drain_seconds,
                 "on SIGTERM: report NOT_SERVING / not ready this long while "
                 "still serving, then stop")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  std::string log_level = "info";
  app.add_option("--log-level", log_level,
                 "least severe log lines written: debug (every RPC), info, "
                 "warning or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  app.add_option("--model-dir", options.model_dir,
                 "model directory (created if needed)")
      ->capture_default_str();
  double poll_seconds = 5;
  app.add_option("--poll-interval", poll_seconds,
                 "seconds between re-scans of the model directory for "
                 "versions and labels written by other replicas (0 = never)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--serve-versions", options.serve_versions,
                 "versions served: latest:N (the newest N), all, or V1,V2,... "
                 "(labelled versions always are; the others stay on disk)")
      ->capture_default_str()
      ->check([](const std::string& text) -> std::string {
        absl::StatusOr<VersionPolicy> policy = ParseVersionPolicy(text);
        return policy.ok() ? "" : std::string(policy.status().message());
      });
  app.add_option("--data-dir", options.data_dir,
                 "folder that Dataset.path is relative to (default: none, "
                 "path sources are refused)");
  app.add_option("--max-concurrent-trainings", options.max_concurrent_trainings,
                 "training jobs running at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--training-threads", options.training_threads,
                 "threads per training job for gradient passes and the Gram "
                 "matrix (0 = every core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  app.add_option("--training-niceness", options.training_niceness,
                 "nice value of training threads (0-19), so that Predict "
                 "wins the cores when both compete")
      ->capture_default_str()
      ->check(CLI::Range(0, 19));
  app.add_option("--checkpoint-min-seconds", options.checkpoint_min_seconds,
                 "a training checkpoint is taken no sooner than this many "
                 "seconds after the previous one (0 = every "
                 "checkpoint_every_epochs epochs)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-queued-trainings", options.max_queued_trainings,
                 "training jobs waiting to run; more are RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-message-bytes", options.max_message_bytes,
                 "largest gRPC message received or sent, in bytes")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1024}, int64_t{2147483647}));
  app.add_option("--max-rpc-threads", options.max_rpc_threads,
                 "threads for synchronous gRPC calls (every ModelService "
                 "method but Predict; each open stream holds one); beyond it "
                 "new ones get RESOURCE_EXHAUSTED; 0 = no cap")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-upload-bytes", options.max_upload_bytes,
                 "largest UploadDataset upload, in bytes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--tls-cert", options.tls.cert_file,
                 "PEM certificate chain: serve gRPC, REST and metrics over "
                 "TLS (with --tls-key)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tls.key_file,
                 "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-client-ca", options.tls.client_ca_file,
                 "PEM CA certificates: require client certificates signed by "
                 "one of them (mutual TLS)")
      ->check(CLI::ExistingFile);
  app.add_option("--auth-token-file", options.auth_token_file,
                 "file of \"<role> <token>\" lines (roles admin, predict, "
                 "metrics): every RPC but health needs a bearer token")
      ->check(CLI::ExistingFile);
  app.add_flag("--metrics-require-token", options.metrics_require_token,
               "/metrics asks for HTTP basic auth whose password is a token "
               "of role metrics or admin");
  Limits& limits = options.limits;
  app.add_option("--max-rows", limits.max_rows,
                 "data rows of a training or evaluation dataset; more are "
                 "RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-columns", limits.max_columns,
                 "columns of a dataset or of one prediction request; more are "
                 "RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-categorical-levels", limits.max_categorical_levels,
                 "distinct values of one categorical column of a dataset; "
                 "more are RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-hidden-units", limits.max_hidden_units,
                 "units of one MLP hidden layer a Train may ask for; more are "
                 "INVALID_ARGUMENT")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-hidden-layers", limits.max_hidden_layers,
                 "MLP hidden layers a Train may ask for; more are "
                 "INVALID_ARGUMENT")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-epochs", limits.max_epochs,
                 "epochs (iterations for L-BFGS) a Train may ask for; more "
                 "are INVALID_ARGUMENT")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-predict-rows", limits.max_predict_rows,
                 "rows of one Predict, ModelInfer or REST infer request; more "
                 "are RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-tune-trials", limits.max_tune_trials,
                 "trials one Tune may run (its max_trials, or its grid's "
                 "size); more are INVALID_ARGUMENT")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  // Every flag can also come from the environment: --foo-bar from
  // MODELSERVER_FOO_BAR (the command line wins).
  for (CLI::Option* option : app.get_options()) {
    if (option->get_lnames().empty()) continue;
    const std::string name = option->get_lnames().front();
    if (name == "help") continue;
    std::string env = "MODELSERVER_" + name;
    for (char& c : env) c = c == '-' ? '_' : absl::ascii_toupper(c);
    option->envname(env);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;  // 2: usage error
  }
  // CLI11 ignores an empty environment variable; for the addresses, empty
  // means "off", so honour it when the flag was not given.
  for (auto [flag, env, value] :
       {std::tuple{"--metrics-listen", "MODELSERVER_METRICS_LISTEN",
                   &options.metrics_listen},
        std::tuple{"--http-listen", "MODELSERVER_HTTP_LISTEN",
                   &options.http_listen}}) {
    const char* set = std::getenv(env);
    if (set != nullptr && *set == '\0' && app.count(flag) == 0) value->clear();
  }
  SetLogLevel(*ParseLogLevel(log_level));
  options.keepalive_time = absl::Seconds(keepalive_seconds);
  options.drain = absl::Seconds(drain_seconds);
  options.poll_interval = absl::Seconds(poll_seconds);
  // Debian's Abseil is built without NDEBUG, which leaves absl::Mutex's
  // deadlock detection on: every lock, gRPC's included, updates a global
  // lock graph (about 3% of the server's CPU under Predict load, measured
  // with perf). The test suite keeps it on; the production binary does not.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Block SIGTERM/SIGINT in every thread (threads inherit the mask) and
  // receive them synchronously in one thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(options);
  if (!server.ok()) {
    Log(LogLevel::kError, "modelserver cannot start",
        {{"error", server.status().ToString()}});
    return 1;
  }
  Server* s = server->get();
  std::thread signal_thread([s, &signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    Log(LogLevel::kInfo, "shutting down",
        {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    s->Shutdown(kShutdownGrace);
  });

  const ModelRegistry::LoadReport& report = s->load_report();
  int models = 0;
  for (const auto& [name, versions] : s->registry().List()) {
    if (!versions.empty()) ++models;
  }
  Log(LogLevel::kInfo, "modelserver listening on " + s->address(),
      {{"grpc_address", s->address()},
       {"metrics_address", s->metrics_address()},
       {"http_address", s->http_address()},
       {"model_dir", options.model_dir},
       {"models", models},
       {"versions", static_cast<int64_t>(report.loaded)},
       {"serve_versions", s->registry().policy().ToString()},
       {"versions_not_loaded", static_cast<int64_t>(report.failures.size())},
       {"temp_files_removed", static_cast<int64_t>(report.temp_files_removed)},
       {"jobs_resumed", s->jobs_resumed()},
       {"grpc_version", grpc::Version()}});

  s->Wait();
  signal_thread.join();
  server->reset();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace
}  // namespace modelserver::server

int main(int argc, char** argv) {
  return modelserver::server::Main(argc, argv);
}
