#include "server/server.h"

#include <chrono>
#include <iostream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace modelserver::server {

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerOptions options) {
  if (options.listen.empty()) {
    return absl::InvalidArgumentError("listen address is empty");
  }
  if (options.max_message_bytes < 1024 ||
      options.max_message_bytes > (int64_t{1} << 31) - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max message bytes must be in [1024, 2147483647], got ",
                     options.max_message_bytes));
  }
  auto server = std::unique_ptr<Server>(new Server());
  server->options_ = options;
  ASSIGN_OR_RETURN(server->registry_,
                   ModelRegistry::Open(options.model_dir, &server->report_));
  for (const absl::Status& failure : server->report_.failures) {
    std::cerr << "modelserver: skipped a model version: " << failure
              << std::endl;
  }
  UploadStore::Options upload_options;
  upload_options.dir = absl::StrCat(options.model_dir, "/.uploads");
  upload_options.max_bytes = options.max_upload_bytes;
  ASSIGN_OR_RETURN(server->uploads_, UploadStore::Create(upload_options));
  server->data_ =
      std::make_unique<DataSource>(options.data_dir, server->uploads_.get());
  JobManager::Options job_options;
  job_options.max_concurrent = options.max_concurrent_trainings;
  job_options.thread_niceness = options.training_niceness;
  job_options.max_queued = options.max_queued_trainings;
  ASSIGN_OR_RETURN(server->jobs_, JobManager::Create(job_options));
  server->service_ = std::make_unique<ModelServiceImpl>(
      server->registry_.get(), server->jobs_.get(), server->uploads_.get(),
      server->data_.get(), options.training_threads);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  builder.RegisterService(server->service_.get());
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on '", options.listen, "'"));
  }
  const size_t colon = options.listen.rfind(':');
  server->address_ =
      absl::StrCat(colon == std::string::npos ? options.listen
                                              : options.listen.substr(0, colon),
                   ":", server->port_);
  return server;
}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

void Server::Wait() {
  if (grpc_server_ != nullptr) grpc_server_->Wait();
}

void Server::Shutdown(absl::Duration grace) {
  std::call_once(shutdown_once_, [this, grace] {
    const auto deadline =
        std::chrono::system_clock::now() +
        std::chrono::milliseconds(absl::ToInt64Milliseconds(grace));
    // The gRPC shutdown waits for in-flight RPCs; Train/WatchJob streams
    // end once their job does, so cancel the jobs concurrently.
    std::thread stop_rpcs([this, deadline] {
      if (grpc_server_ != nullptr) grpc_server_->Shutdown(deadline);
    });
    if (jobs_ != nullptr) jobs_->Shutdown(/*cancel_running=*/true);
    stop_rpcs.join();
  });
}

}  // namespace modelserver::server
