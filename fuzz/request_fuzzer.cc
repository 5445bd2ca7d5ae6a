// Fuzz target: request validation and conversion in server/ -- the code
// between a decoded wire message and core: ModelServiceImpl::DoPredict and
// Evaluate, Train's validation and its job body, the Open Inference
// Protocol's ModelInfer (gRPC) and REST infer (JSON), and the conversions
// they use (server/proto_convert.h, server/inference.h,
// server/data_source.h, server/limits.h).
//
// At start-up the four models of fuzz/fuzz_models.h are trained and
// published into a registry in a temporary directory (removed at exit),
// served by a real ModelServiceImpl and OipHandler with small limits (so
// that the limit checks are fuzzed too and every input runs fast).
//
// Input: 2 header bytes, then a message.
//   byte 0  surface (mod 5): 0 PredictRequest, 1 EvaluateRequest,
//           2 TrainRequest, 3 inference.ModelInferRequest (protobuf binary),
//           4 REST infer body (JSON)
//   byte 1  bits 0-1: the model (linear, logistic, mlp_cls, numeric) whose
//           name replaces the request's, unless bit 7 is set (then the
//           fuzzed name stays); unless bit 6 is set, the version is reset to
//           the latest (0 / "") and the label cleared
// Checks, beyond "no crash, no sanitizer report, no leak":
//   - a successful Predict answers one prediction per row;
//   - NumericFeaturesFromRows gives exactly what TableFromRows + the
//     pipeline's Transform give whenever it accepts a request (its
//     contract), and tables built from rows or columns satisfy the Table
//     invariants;
//   - a Train request that passes validation and trains gives an artifact
//     that encodes, decodes, and predicts on its own training table;
//   - a successful REST infer's response body is valid JSON.
#include <stdlib.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/artifact/artifact.h"
#include "core/registry/model_registry.h"
#include "core/train/trainer.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_models.h"
#include "google/protobuf/stubs/logging.h"
#include "inference/open_inference_grpc.pb.h"
#include "modelserver/v1/model_service.pb.h"
#include "nlohmann/json.hpp"
#include "server/data_source.h"
#include "server/http_server.h"
#include "server/inference.h"
#include "server/inference_service.h"
#include "server/limits.h"
#include "server/model_service.h"
#include "server/proto_convert.h"
#include "server/upload_store.h"

namespace modelserver::fuzz {
namespace {

namespace v1 = ::modelserver::v1;
using server::ColumnTypes;

// Small enough that a fuzzed request never trains or predicts for long.
server::Limits FuzzLimits() {
  server::Limits l;
  l.max_rows = 256;
  l.max_columns = 64;
  l.max_categorical_levels = 64;
  l.max_hidden_units = 16;
  l.max_hidden_layers = 3;
  l.max_epochs = 20;
  l.max_predict_rows = 256;
  return l;
}

struct Env {
  std::string root;
  std::unique_ptr<ModelRegistry> registry;
  std::unique_ptr<server::UploadStore> uploads;
  std::unique_ptr<server::DataSource> data;
  std::unique_ptr<server::ModelServiceImpl> service;
  std::atomic<bool> ready{true};
  std::unique_ptr<server::OipHandler> oip;
  std::vector<std::string> names;
  std::vector<std::shared_ptr<const Artifact>> artifacts;
};

Env* env = nullptr;

template <typename T>
T OrDie(absl::StatusOr<T> v, const char* what) {
  FUZZ_CHECK(v.ok(), std::string(what) + ": " + v.status().ToString());
  return *std::move(v);
}

void RemoveRoot() {
  if (env != nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(env->root, ec);
  }
}

void SetUp() {
  // Protobuf logs every string field with invalid UTF-8 it parses: mutated
  // messages have many.
  google::protobuf::SetLogHandler(nullptr);
  env = new Env;
  char tmpl[] = "/tmp/request_fuzzer.XXXXXX";
  FUZZ_CHECK(mkdtemp(tmpl) != nullptr, "mkdtemp");
  env->root = tmpl;
  std::atexit(RemoveRoot);
  const std::string data_dir = env->root + "/data";
  std::filesystem::create_directories(data_dir);
  std::ofstream(data_dir + "/train.csv") << TrainingCsv();

  env->registry = OrDie(ModelRegistry::Open(env->root + "/models"),
                        "ModelRegistry::Open");
  for (auto& [name, artifact] : TrainFuzzModels()) {
    OrDie(env->registry->Publish(name, std::move(artifact)), "Publish");
    env->names.push_back(name);
    env->artifacts.push_back(OrDie(env->registry->Get(name, 0), "Get"));
  }
  server::UploadStore::Options upload_options;
  upload_options.dir = env->root + "/uploads";
  upload_options.max_bytes = 1 << 20;
  env->uploads = OrDie(server::UploadStore::Create(upload_options),
                       "UploadStore::Create");
  env->data = std::make_unique<server::DataSource>(
      data_dir, env->uploads.get(), FuzzLimits());
  env->service = std::make_unique<server::ModelServiceImpl>(
      env->registry.get(), /*jobs=*/nullptr, env->uploads.get(),
      env->data.get(), /*training_threads=*/1, /*metrics=*/nullptr,
      FuzzLimits());
  env->oip = std::make_unique<server::OipHandler>(
      env->registry.get(), &env->ready, /*metrics=*/nullptr, FuzzLimits());
}

// NumericFeaturesFromRows' contract and the Table invariants of
// TableFromRows / TableFromColumns.
void CheckConversions(const v1::PredictRequest& request, const Artifact& a) {
  const ColumnTypes& types = a.input_types();
  if (request.has_rows()) {
    absl::StatusOr<Table> t = server::TableFromRows(request.rows(), types);
    if (t.ok()) FUZZ_CHECK(TableViolation(*t).empty(), TableViolation(*t));
    Eigen::MatrixXd x;
    if (server::NumericFeaturesFromRows(request.rows(), a, &x)) {
      FUZZ_CHECK(t.ok(), "short path accepted rows TableFromRows refuses: " +
                             t.status().ToString());
      absl::StatusOr<Eigen::MatrixXd> want = a.pipeline().Transform(*t);
      FUZZ_CHECK(want.ok(), "short path accepted rows Transform refuses: " +
                                want.status().ToString());
      FUZZ_CHECK(SameBits(x, *want),
                 "short path features differ from Transform's");
    }
  }
  if (request.has_columns()) {
    absl::StatusOr<Table> t =
        server::TableFromColumns(request.columns(), types);
    if (t.ok()) FUZZ_CHECK(TableViolation(*t).empty(), TableViolation(*t));
  }
}

void FuzzPredict(v1::PredictRequest& request, int model) {
  v1::PredictResponse response;
  const grpc::Status status = env->service->DoPredict(request, &response);
  CheckConversions(request, *env->artifacts[model]);
  if (!status.ok()) return;
  const int64_t answered = response.predictions_size() +
                           response.values_size() +
                           response.label_indices_size();
  if (request.has_rows()) {
    FUZZ_CHECK(answered == request.rows().rows_size(),
               absl::StrCat(answered, " predictions for ",
                            request.rows().rows_size(), " rows"));
  } else if (request.has_columns()) {
    const auto& c = request.columns().columns(0);
    FUZZ_CHECK(answered == c.numbers_size() + c.texts_size(),
               absl::StrCat(answered, " predictions for a column of ",
                            c.numbers_size() + c.texts_size()));
  }
}

void FuzzTrain(const v1::TrainRequest& request) {
  // Train's checks, in its order (ModelServiceImpl::Train), then the job's
  // body (RunTrainJob) without publishing.
  const server::Limits limits = FuzzLimits();
  if (!server::ValidateTrainOptions(request.options()).ok()) return;
  if (!server::CheckTrainLimits(request.options(), limits).ok()) return;
  if (!request.has_data() || !env->data->Check(request.data()).ok()) return;
  absl::StatusOr<Table> table = env->data->Load(request.data());
  if (!table.ok()) return;
  FUZZ_CHECK(TableViolation(*table).empty(), TableViolation(*table));
  const Column* target = table->Find(request.options().target());
  if (target == nullptr) return;
  absl::StatusOr<TrainSpec> spec =
      server::TrainSpecFromProto(request.options(), target->type());
  if (!spec.ok()) return;
  spec->threads = 1;
  // Unset epochs mean 200-500: fewer keep an input fast (bugs do not hide
  // in epoch 21).
  if (spec->epochs == 0 || spec->epochs > 20) spec->epochs = 20;
  absl::StatusOr<TrainResult> result = Train(*table, *spec);
  if (!result.ok()) return;
  const Artifact a = Artifact::FromTrainResult(*std::move(result), "f", 1);
  absl::StatusOr<Artifact> b = Artifact::Decode(a.Encode());
  FUZZ_CHECK(b.ok(), "a trained artifact does not decode: " +
                         b.status().ToString());
  absl::StatusOr<Predictions> p = b->Predict(*table);
  FUZZ_CHECK(p.ok(), "a trained model does not predict its training data: " +
                         p.status().ToString());
}

void FuzzRest(const std::string& body, int model) {
  absl::StatusOr<server::JsonInferRequest> request =
      server::JsonToInferRequest(body);
  if (!request.ok()) return;
  std::vector<server::oip::Tensor> outputs;
  int64_t version = 0;
  const absl::Status status =
      env->oip->Infer(env->names[model], "", request->inputs,
                      request->outputs, &outputs, &version);
  if (!status.ok()) return;
  const std::string reply = server::InferResponseToJson(
      env->names[model], version, *request, outputs);
  FUZZ_CHECK(nlohmann::json::accept(reply), "invalid JSON reply: " + reply);
}

}  // namespace
}  // namespace modelserver::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  modelserver::fuzz::SetUp();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelserver::fuzz;
  namespace v1 = ::modelserver::v1;
  if (size < 2) return 0;
  const int model = data[1] & 3;
  const bool keep_name = (data[1] & 0x80) != 0;
  const bool keep_version = (data[1] & 0x40) != 0;
  const uint8_t* msg = data + 2;
  const int msg_size = static_cast<int>(size - 2);
  const std::string& name = env->names[model];
  switch (data[0] % 5) {
    case 0: {
      v1::PredictRequest r;
      if (!r.ParseFromArray(msg, msg_size)) return 0;
      if (!keep_name) r.set_name(name);
      if (!keep_version) {
        r.set_version(0);
        r.clear_version_label();
      }
      FuzzPredict(r, model);
      break;
    }
    case 1: {
      v1::EvaluateRequest r;
      if (!r.ParseFromArray(msg, msg_size)) return 0;
      if (!keep_name) r.set_name(name);
      if (!keep_version) {
        r.set_version(0);
        r.clear_version_label();
      }
      v1::EvaluateResponse response;
      grpc::ServerContext context;
      (void)env->service->Evaluate(&context, &r, &response);
      break;
    }
    case 2: {
      v1::TrainRequest r;
      if (!r.ParseFromArray(msg, msg_size)) return 0;
      FuzzTrain(r);
      break;
    }
    case 3: {
      inference::ModelInferRequest r;
      if (!r.ParseFromArray(msg, msg_size)) return 0;
      if (!keep_name) r.set_model_name(name);
      if (!keep_version) r.clear_model_version();
      inference::ModelInferResponse response;
      (void)env->oip->ModelInfer(r, &response);
      break;
    }
    case 4:
      FuzzRest(std::string(reinterpret_cast<const char*>(msg), size - 2),
               model);
      break;
  }
  return 0;
}
