#include "server/inference_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/artifact/model_store.h"
#include "core/registry/model_registry.h"
#include "core/util/status_macros.h"
#include "server/status_util.h"

#ifndef MODELSERVER_VERSION
#define MODELSERVER_VERSION "unknown"
#endif

namespace modelserver::server {
namespace {

absl::Status CheckModelName(absl::string_view field, const std::string& name) {
  absl::Status s = ValidateModelName(name);
  if (s.ok()) return s;
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", s.message()));
}

int64_t RowsOf(const std::vector<oip::Tensor>& outputs) {
  return outputs.empty() || outputs[0].shape.empty() ? 0
                                                     : outputs[0].shape[0];
}

// Finishes a unary callback RPC with `status`, counted under `rpc`.
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                 RpcScope& scope, const absl::Status& status,
                                 absl::string_view model = {}) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(scope.Finish(ToGrpcStatus(status), model));
  return reactor;
}

}  // namespace

OipHandler::OipHandler(ModelRegistry* registry, const std::atomic<bool>* ready,
                       Metrics* metrics, Limits limits)
    : registry_(registry), ready_(ready), metrics_(metrics), limits_(limits) {}

bool OipHandler::ServerReady() const {
  return ready_->load(std::memory_order_acquire);
}

absl::StatusOr<std::shared_ptr<const Artifact>> OipHandler::Find(
    const std::string& name, const std::string& version) const {
  RETURN_IF_ERROR(CheckModelName("model name", name));
  // A version that is not a number is a label ("stable").
  if (!version.empty() && ValidateLabel(version).ok()) {
    return registry_->GetLabeled(name, version);
  }
  ASSIGN_OR_RETURN(const int64_t v, oip::ParseVersion("model version", version));
  return registry_->Get(name, v);
}

absl::StatusOr<bool> OipHandler::ModelReady(const std::string& name,
                                            const std::string& version) const {
  absl::StatusOr<std::shared_ptr<const Artifact>> artifact =
      Find(name, version);
  if (artifact.ok()) return ServerReady();
  if (absl::IsNotFound(artifact.status())) return false;
  return artifact.status();
}

void OipHandler::ServerMetadata(
    inference::ServerMetadataResponse* response) const {
  response->set_name("modelserver");
  response->set_version(MODELSERVER_VERSION);
  // None of the optional protocol extensions (model repository, binary
  // tensor data, statistics, ...) is implemented: none is announced.
}

absl::Status OipHandler::ModelMetadata(
    const std::string& name, const std::string& version,
    inference::ModelMetadataResponse* response) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const Artifact> artifact,
                   Find(name, version));
  response->set_name(name);
  if (version.empty()) {
    for (const auto& [model, versions] : registry_->List()) {
      if (model != name) continue;
      for (int64_t v : versions) response->add_versions(absl::StrCat(v));
    }
  } else {
    response->add_versions(absl::StrCat(artifact->metadata().version));
  }
  response->set_platform(
      absl::StrCat("modelserver_", ModelKindName(artifact->metadata().kind)));
  for (const oip::TensorSpec& spec : oip::InputSpecs(*artifact)) {
    auto* t = response->add_inputs();
    t->set_name(spec.name);
    t->set_datatype(spec.datatype);
    t->mutable_shape()->Add(spec.shape.begin(), spec.shape.end());
  }
  for (const oip::TensorSpec& spec : oip::OutputSpecs(*artifact)) {
    auto* t = response->add_outputs();
    t->set_name(spec.name);
    t->set_datatype(spec.datatype);
    t->mutable_shape()->Add(spec.shape.begin(), spec.shape.end());
  }
  for (auto& [key, value] : oip::ModelProperties(*artifact)) {
    (*response->mutable_properties())[key] = value;
  }
  return absl::OkStatus();
}

absl::Status OipHandler::Infer(const std::string& name,
                               const std::string& version,
                               const std::vector<oip::Tensor>& inputs,
                               const std::vector<std::string>& requested,
                               std::vector<oip::Tensor>* outputs,
                               int64_t* version_used) const {
  const int64_t start = MonotonicNanos();
  for (const oip::Tensor& input : inputs) {
    const int64_t rows = input.shape.empty() ? 0 : input.shape[0];
    const int64_t columns = input.shape.size() > 1
                                ? input.shape[1]
                                : static_cast<int64_t>(inputs.size());
    RETURN_IF_ERROR(CheckPredictLimits(
        rows, columns, absl::StrCat("input '", input.name, "'"), limits_));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Artifact> artifact,
                   Find(name, version));
  *version_used = artifact->metadata().version;
  absl::StatusOr<std::vector<oip::Tensor>> result =
      oip::Infer(*artifact, inputs, requested);
  if (metrics_ != nullptr) {
    metrics_->Model(name, *version_used)
        ->Record(result.ok(),
                 static_cast<uint64_t>(result.ok() ? RowsOf(*result) : 0),
                 MonotonicNanos() - start);
  }
  if (!result.ok()) return result.status();
  *outputs = *std::move(result);
  return absl::OkStatus();
}

absl::Status OipHandler::ModelInfer(
    const inference::ModelInferRequest& request,
    inference::ModelInferResponse* response) const {
  RETURN_IF_ERROR(CheckModelName("model_name", request.model_name()));
  if (!ValidateLabel(request.model_version()).ok()) {
    RETURN_IF_ERROR(
        oip::ParseVersion("model_version", request.model_version()).status());
  }
  ASSIGN_OR_RETURN(std::vector<oip::Tensor> inputs,
                   oip::DecodeInputs(request));
  std::vector<std::string> requested;
  for (const auto& output : request.outputs()) {
    requested.push_back(output.name());
  }
  std::vector<oip::Tensor> outputs;
  int64_t version = 0;
  RETURN_IF_ERROR(Infer(request.model_name(), request.model_version(), inputs,
                        requested, &outputs, &version));
  response->set_model_name(request.model_name());
  response->set_model_version(absl::StrCat(version));
  response->set_id(request.id());
  oip::EncodeOutputs(outputs, request.raw_input_contents_size() > 0,
                     response);
  return absl::OkStatus();
}

InferenceServiceImpl::InferenceServiceImpl(const OipHandler* handler,
                                           Metrics* metrics,
                                           const Authenticator* auth)
    : handler_(handler), metrics_(metrics), auth_(auth) {
  SetMessageAllocatorFor_ModelInfer(&infer_allocator_);
}

grpc::ServerUnaryReactor* InferenceServiceImpl::ServerLive(
    grpc::CallbackServerContext* context,
    const inference::ServerLiveRequest* /*request*/,
    inference::ServerLiveResponse* response) {
  RpcScope scope(metrics_, Rpc::kServerLive);
  response->set_live(true);
  return Answer(context, scope, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceServiceImpl::ServerReady(
    grpc::CallbackServerContext* context,
    const inference::ServerReadyRequest* /*request*/,
    inference::ServerReadyResponse* response) {
  RpcScope scope(metrics_, Rpc::kServerReady);
  response->set_ready(handler_->ServerReady());
  return Answer(context, scope, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceServiceImpl::ModelReady(
    grpc::CallbackServerContext* context,
    const inference::ModelReadyRequest* request,
    inference::ModelReadyResponse* response) {
  RpcScope scope(metrics_, Rpc::kModelReady);
  if (absl::Status allowed = Authorize(auth_, *context, Rpc::kModelReady);
      !allowed.ok()) {
    return Answer(context, scope, allowed);
  }
  absl::StatusOr<bool> ready =
      handler_->ModelReady(request->name(), request->version());
  if (ready.ok()) response->set_ready(*ready);
  return Answer(context, scope, ready.status(), request->name());
}

grpc::ServerUnaryReactor* InferenceServiceImpl::ServerMetadata(
    grpc::CallbackServerContext* context,
    const inference::ServerMetadataRequest* /*request*/,
    inference::ServerMetadataResponse* response) {
  RpcScope scope(metrics_, Rpc::kServerMetadata);
  if (absl::Status allowed = Authorize(auth_, *context, Rpc::kServerMetadata);
      !allowed.ok()) {
    return Answer(context, scope, allowed);
  }
  handler_->ServerMetadata(response);
  return Answer(context, scope, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceServiceImpl::ModelMetadata(
    grpc::CallbackServerContext* context,
    const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* response) {
  RpcScope scope(metrics_, Rpc::kModelMetadata);
  if (absl::Status allowed = Authorize(auth_, *context, Rpc::kModelMetadata);
      !allowed.ok()) {
    return Answer(context, scope, allowed);
  }
  absl::Status status =
      handler_->ModelMetadata(request->name(), request->version(), response);
  return Answer(context, scope, status, request->name());
}

grpc::ServerUnaryReactor* InferenceServiceImpl::ModelInfer(
    grpc::CallbackServerContext* context,
    const inference::ModelInferRequest* request,
    inference::ModelInferResponse* response) {
  RpcScope scope(metrics_, Rpc::kModelInfer);
  if (absl::Status allowed = Authorize(auth_, *context, Rpc::kModelInfer);
      !allowed.ok()) {
    return Answer(context, scope, allowed);
  }
  absl::Status status = handler_->ModelInfer(*request, response);
  return Answer(context, scope, status, request->model_name());
}

}  // namespace modelserver::server
