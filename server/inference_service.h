// File: server/inference_service.h
// The Open Inference Protocol (KServe V2) operations on the model registry,
// once for both transports:
//   OipHandler            transport-independent: readiness, metadata and
//                         inference on decoded tensors (server/inference.h);
//                         the REST endpoints (server/http_server.h) use it;
//   InferenceServiceImpl  inference.GRPCInferenceService on gRPC's callback
//                         API (every method is short and never blocks);
//                         ModelInfer's messages on one arena.
//
// Versions are decimal strings ("" = the latest) or labels ("stable": a
// string that starts with a letter). Errors: INVALID_ARGUMENT
// for a malformed name or version and for tensors the model cannot take
// (naming the tensor), NOT_FOUND for an unknown model or version.
// ModelReady answers ready=false (OK) for a model or version that is not
// loaded. ServerReady is false once shutdown has begun.
//
// Ownership: the registry, the ready flag and the metrics (null = not
// counted) are not owned and must outlive these objects. Thread-safety:
// every method may be called concurrently.
#ifndef MODELSERVER_SERVER_INFERENCE_SERVICE_H_
#define MODELSERVER_SERVER_INFERENCE_SERVICE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/registry/model_registry.h"
#include "grpcpp/grpcpp.h"
#include "inference/open_inference_grpc.grpc.pb.h"
#include "server/arena_allocator.h"
#include "server/auth.h"
#include "server/inference.h"
#include "server/limits.h"
#include "server/metrics.h"

namespace modelserver::server {

class OipHandler {
 public:
  // Inference requests are held to `limits`' max_predict_rows and
  // max_columns (RESOURCE_EXHAUSTED naming the input).
  OipHandler(ModelRegistry* registry, const std::atomic<bool>* ready,
             Metrics* metrics, Limits limits = {});

  bool ServerReady() const;
  // OK with false for a model or version that is not loaded.
  absl::StatusOr<bool> ModelReady(const std::string& name,
                                  const std::string& version) const;
  void ServerMetadata(inference::ServerMetadataResponse* response) const;
  absl::Status ModelMetadata(const std::string& name,
                             const std::string& version,
                             inference::ModelMetadataResponse* response) const;

  // Runs model `name` (version string) on `inputs`; fills `outputs` (the
  // `requested` ones, in order; empty = all) and `version_used`. Counts the
  // call in the model version's inference series when it reached one.
  absl::Status Infer(const std::string& name, const std::string& version,
                     const std::vector<oip::Tensor>& inputs,
                     const std::vector<std::string>& requested,
                     std::vector<oip::Tensor>* outputs,
                     int64_t* version_used) const;
  // The gRPC form: decodes, infers, encodes (raw outputs when the request
  // used raw_input_contents) and echoes id, model name and version.
  absl::Status ModelInfer(const inference::ModelInferRequest& request,
                          inference::ModelInferResponse* response) const;

 private:
  absl::StatusOr<std::shared_ptr<const Artifact>> Find(
      const std::string& name, const std::string& version) const;

  ModelRegistry* const registry_;
  const std::atomic<bool>* const ready_;
  Metrics* const metrics_;
  const Limits limits_;
};

class InferenceServiceImpl final
    : public inference::GRPCInferenceService::CallbackService {
 public:
  // `handler` must outlive the service.
  // `auth` (not owned; null = no tokens): every RPC but ServerLive and
  // ServerReady checks the caller's token (server/auth.h).
  InferenceServiceImpl(const OipHandler* handler, Metrics* metrics,
                       const Authenticator* auth = nullptr);

  grpc::ServerUnaryReactor* ServerLive(
      grpc::CallbackServerContext* context,
      const inference::ServerLiveRequest* request,
      inference::ServerLiveResponse* response) override;
  grpc::ServerUnaryReactor* ServerReady(
      grpc::CallbackServerContext* context,
      const inference::ServerReadyRequest* request,
      inference::ServerReadyResponse* response) override;
  grpc::ServerUnaryReactor* ModelReady(
      grpc::CallbackServerContext* context,
      const inference::ModelReadyRequest* request,
      inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(
      grpc::CallbackServerContext* context,
      const inference::ServerMetadataRequest* request,
      inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(
      grpc::CallbackServerContext* context,
      const inference::ModelMetadataRequest* request,
      inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelInfer(
      grpc::CallbackServerContext* context,
      const inference::ModelInferRequest* request,
      inference::ModelInferResponse* response) override;

 private:
  const OipHandler* const handler_;
  Metrics* const metrics_;
  const Authenticator* const auth_;
  ArenaAllocator<inference::ModelInferRequest, inference::ModelInferResponse>
      infer_allocator_;
};

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_INFERENCE_SERVICE_H_
