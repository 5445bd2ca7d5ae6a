// modelserver: serves modelserver.v1.ModelService over gRPC.
//
//   modelserver [--listen HOST:PORT] [--model-dir DIR] [--data-dir DIR] ...
//
// When ready it prints `modelserver listening on <host>:<port>` to stderr
// (tools parse the port from it), then how many models were loaded.
// SIGTERM or SIGINT shut it down gracefully (exit status 0).
#include <pthread.h>
#include <signal.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
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
  app.add_option("--model-dir", options.model_dir,
                 "model directory (created if needed)")
      ->capture_default_str();
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
  app.add_option("--max-queued-trainings", options.max_queued_trainings,
                 "training jobs waiting to run; more are RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-message-bytes", options.max_message_bytes,
                 "largest gRPC message received or sent, in bytes")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1024}, int64_t{2147483647}));
  app.add_option("--max-upload-bytes", options.max_upload_bytes,
                 "largest UploadDataset upload, in bytes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;  // 2: usage error
  }

  // Block SIGTERM/SIGINT in every thread (threads inherit the mask) and
  // receive them synchronously in one thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(options);
  if (!server.ok()) {
    std::cerr << "modelserver: " << server.status() << std::endl;
    return 1;
  }
  Server* s = server->get();
  std::thread signal_thread([s, &signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::cerr << "modelserver: received "
              << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ", shutting down"
              << std::endl;
    s->Shutdown(kShutdownGrace);
  });

  const ModelRegistry::LoadReport& report = s->load_report();
  int models = 0;
  for (const auto& [name, versions] : s->registry().List()) {
    if (!versions.empty()) ++models;
  }
  std::cerr << "modelserver listening on " << s->address() << std::endl;
  std::cerr << "modelserver: loaded " << models << " models (" << report.loaded
            << " versions) from " << options.model_dir;
  if (!report.failures.empty()) {
    std::cerr << "; " << report.failures.size()
              << " versions could not be loaded";
  }
  std::cerr << std::endl;

  s->Wait();
  signal_thread.join();
  server->reset();
  std::cerr << "modelserver: stopped" << std::endl;
  return 0;
}

}  // namespace
}  // namespace modelserver::server

int main(int argc, char** argv) {
  return modelserver::server::Main(argc, argv);
}
