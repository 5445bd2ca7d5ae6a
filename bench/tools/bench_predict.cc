// bench_predict: where the time of one Predict goes, in process (no
// network): ModelServiceImpl::DoPredict on a linear model and an MLP (64,
// 32) trained on tests/data/diabetes.csv, for 1 and 4,096 rows in each
// request form, and its parts: parsing the request onto an arena, building
// the Table, the model's Predict, and serializing the reply; and the Open
// Inference Protocol's ModelInfer (OipHandler) on the same rows.
// Google Benchmark; bench/serving.py reports the same work over gRPC.
//
//   bench_predict [--benchmark_filter=...]
#include <filesystem>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "core/data/csv_reader.h"
#include "core/registry/model_registry.h"
#include "core/train/trainer.h"
#include "google/protobuf/arena.h"
#include "prometheus/text_serializer.h"
#include "server/inference_service.h"
#include "server/metrics.h"
#include "server/model_service.h"
#include "server/proto_convert.h"

#ifndef MODELSERVER_SOURCE_DIR
#error "MODELSERVER_SOURCE_DIR must be defined"
#endif

namespace modelserver::server {
namespace {

struct Fixture {
  std::string dir;
  std::unique_ptr<ModelRegistry> registry;
  Metrics metrics{nullptr, nullptr};
  std::unique_ptr<ModelServiceImpl> service;             // counts
  std::unique_ptr<ModelServiceImpl> service_no_metrics;  // --metrics-listen ""
  std::atomic<bool> ready{true};
  std::unique_ptr<OipHandler> oip;  // the Open Inference Protocol, counted
  Table data;
};

Fixture& Get() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    f->dir = (std::filesystem::temp_directory_path() /
              ("bench_predict_" + std::to_string(::getpid())))
                 .string();
    f->registry = *ModelRegistry::Open(f->dir, nullptr);
    f->data = *ReadCsvFile(
        std::string(MODELSERVER_SOURCE_DIR) + "/tests/data/diabetes.csv",
        CsvOptions());
    for (const bool mlp : {false, true}) {
      TrainSpec spec;
      spec.target = "progression";
      if (mlp) {
        spec.kind = ModelKind::kMlpRegressor;
        spec.hidden_layers = {64, 32};
        spec.epochs = 5;
      }
      TrainResult r = *Train(f->data, spec, nullptr);
      const std::string name = mlp ? "mlp" : "linear";
      (void)*f->registry->Publish(
          name, Artifact::FromTrainResult(std::move(r), name, 0));
    }
    f->service = std::make_unique<ModelServiceImpl>(
        f->registry.get(), nullptr, nullptr, nullptr, 0, &f->metrics);
    f->service_no_metrics = std::make_unique<ModelServiceImpl>(
        f->registry.get(), nullptr, nullptr, nullptr, 0, nullptr);
    f->oip = std::make_unique<OipHandler>(f->registry.get(), &f->ready,
                                          &f->metrics);
    f->metrics.SetSources(f->registry.get(), nullptr);
    return f;
  }();
  return *f;
}

// `rows` data rows of diabetes.csv (cycled), without the target.
v1::PredictRequest RowsRequest(const std::string& model, int rows) {
  const Table& t = Get().data;
  v1::PredictRequest req;
  req.set_name(model);
  std::vector<const Column*> columns;
  for (const std::string& name : t.column_names()) {
    if (name == "progression") continue;
    req.mutable_rows()->add_columns(name);
    columns.push_back(t.Find(name));
  }
  for (int r = 0; r < rows; ++r) {
    v1::Row* row = req.mutable_rows()->add_rows();
    for (const Column* c : columns) {
      row->add_values()->set_number(c->values()[r % t.num_rows()]);
    }
  }
  return req;
}

// The same rows as ColumnarRows.
v1::PredictRequest ColumnsRequest(const std::string& model, int rows) {
  const v1::PredictRequest by_rows = RowsRequest(model, rows);
  v1::PredictRequest req;
  req.set_name(model);
  for (int c = 0; c < by_rows.rows().columns_size(); ++c) {
    auto* col = req.mutable_columns()->add_columns();
    col->set_name(by_rows.rows().columns(c));
    for (const v1::Row& r : by_rows.rows().rows()) {
      col->add_numbers(r.values(c).number());
    }
  }
  return req;
}

void Predict(benchmark::State& state, const std::string& model,
             bool columns = false, bool metrics = true, bool explain = false) {
  ModelServiceImpl& service =
      metrics ? *Get().service : *Get().service_no_metrics;
  const int rows = static_cast<int>(state.range(0));
  v1::PredictRequest req =
      columns ? ColumnsRequest(model, rows) : RowsRequest(model, rows);
  req.set_explain(explain);
  PredictArenaAllocator allocator;  // what the server hands gRPC
  for (auto _ : state) {
    auto* holder = allocator.AllocateMessages();
    grpc::Status s = service.DoPredict(req, holder->response());
    if (!s.ok()) {
      state.SkipWithError(s.error_message().c_str());
      break;
    }
    benchmark::DoNotOptimize(holder->response());
    holder->Release();
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
void BM_PredictLinear(benchmark::State& s) { Predict(s, "linear"); }
void BM_PredictMlp(benchmark::State& s) { Predict(s, "mlp"); }
void BM_PredictLinearColumns(benchmark::State& s) {
  Predict(s, "linear", true);
}
void BM_PredictMlpColumns(benchmark::State& s) { Predict(s, "mlp", true); }
void BM_PredictLinearNoMetrics(benchmark::State& s) {
  Predict(s, "linear", false, false);
}
// With `explain` (docs/explanations.md): contributions per input column.
void BM_PredictLinearExplain(benchmark::State& s) {
  Predict(s, "linear", false, true, true);
}
void BM_PredictLinearColumnsExplain(benchmark::State& s) {
  Predict(s, "linear", true, true, true);
}
BENCHMARK(BM_PredictLinear)->Arg(1)->Arg(4096);
BENCHMARK(BM_PredictLinearExplain)->Arg(1)->Arg(4096);
BENCHMARK(BM_PredictLinearColumnsExplain)->Arg(1)->Arg(4096);
BENCHMARK(BM_PredictLinearNoMetrics)->Arg(1);
BENCHMARK(BM_PredictMlp)->Arg(1)->Arg(4096);
BENCHMARK(BM_PredictLinearColumns)->Arg(1)->Arg(4096);
BENCHMARK(BM_PredictMlpColumns)->Arg(1)->Arg(4096);

void ParseRequest(benchmark::State& state, bool columns) {
  const int rows = static_cast<int>(state.range(0));
  const std::string bytes =
      (columns ? ColumnsRequest("linear", rows) : RowsRequest("linear", rows))
          .SerializeAsString();
  PredictArenaAllocator allocator;
  for (auto _ : state) {
    auto* holder = allocator.AllocateMessages();
    benchmark::DoNotOptimize(holder->request()->ParseFromString(bytes));
    holder->Release();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * bytes.size());
}
void BM_ParseRequest(benchmark::State& s) { ParseRequest(s, false); }
void BM_ParseRequestColumns(benchmark::State& s) { ParseRequest(s, true); }
BENCHMARK(BM_ParseRequest)->Arg(1)->Arg(4096);
BENCHMARK(BM_ParseRequestColumns)->Arg(1)->Arg(4096);

void BM_TableFromRows(benchmark::State& state) {
  const v1::PredictRequest req =
      RowsRequest("linear", static_cast<int>(state.range(0)));
  const auto artifact = *Get().registry->Get("linear", 0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        TableFromRows(req.rows(), artifact->input_types()));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_TableFromRows)->Arg(1)->Arg(4096);

void ArtifactPredict(benchmark::State& state, const std::string& model) {
  const v1::PredictRequest req =
      RowsRequest(model, static_cast<int>(state.range(0)));
  const auto artifact = *Get().registry->Get(model, 0);
  const Table table = *TableFromRows(req.rows(), artifact->input_types());
  for (auto _ : state) benchmark::DoNotOptimize(artifact->Predict(table));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void BM_ArtifactPredictLinear(benchmark::State& s) {
  ArtifactPredict(s, "linear");
}
void BM_ArtifactPredictMlp(benchmark::State& s) { ArtifactPredict(s, "mlp"); }
BENCHMARK(BM_ArtifactPredictLinear)->Arg(1)->Arg(4096);
BENCHMARK(BM_ArtifactPredictMlp)->Arg(1)->Arg(4096);

// The same rows as ModelInferRequests: one FP64 tensor per column, or one
// `features` tensor [rows, 10] (in contents, or raw).
inference::ModelInferRequest InferRequest(const std::string& model, int rows,
                                          bool features, bool raw) {
  const v1::PredictRequest by_rows = RowsRequest(model, rows);
  const int n = by_rows.rows().columns_size();
  inference::ModelInferRequest req;
  req.set_model_name(model);
  if (features) {
    auto* t = req.add_inputs();
    t->set_name("features");
    t->set_datatype("FP64");
    t->add_shape(rows);
    t->add_shape(n);
    std::vector<double> values;
    for (const v1::Row& r : by_rows.rows().rows()) {
      for (const v1::Value& v : r.values()) values.push_back(v.number());
    }
    if (raw) {
      req.add_raw_input_contents(std::string(
          reinterpret_cast<const char*>(values.data()), values.size() * 8));
    } else {
      t->mutable_contents()->mutable_fp64_contents()->Add(values.begin(),
                                                           values.end());
    }
    return req;
  }
  for (int c = 0; c < n; ++c) {
    auto* t = req.add_inputs();
    t->set_name(by_rows.rows().columns(c));
    t->set_datatype("FP64");
    t->add_shape(rows);
    for (const v1::Row& r : by_rows.rows().rows()) {
      t->mutable_contents()->add_fp64_contents(r.values(c).number());
    }
  }
  return req;
}

void ModelInfer(benchmark::State& state, bool features, bool raw) {
  const int rows = static_cast<int>(state.range(0));
  const inference::ModelInferRequest req =
      InferRequest("linear", rows, features, raw);
  ArenaAllocator<inference::ModelInferRequest, inference::ModelInferResponse>
      allocator;
  for (auto _ : state) {
    auto* holder = allocator.AllocateMessages();
    absl::Status s = Get().oip->ModelInfer(req, holder->response());
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(holder->response());
    holder->Release();
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
void BM_ModelInferColumns(benchmark::State& s) { ModelInfer(s, false, false); }
void BM_ModelInferFeatures(benchmark::State& s) { ModelInfer(s, true, false); }
void BM_ModelInferFeaturesRaw(benchmark::State& s) {
  ModelInfer(s, true, true);
}
BENCHMARK(BM_ModelInferColumns)->Arg(1)->Arg(4096);
BENCHMARK(BM_ModelInferFeatures)->Arg(1)->Arg(4096);
BENCHMARK(BM_ModelInferFeaturesRaw)->Arg(1)->Arg(4096);

// One scrape: Collect (two models with traffic, process figures) and the
// text serialization that the exposer sends.
void BM_Scrape(benchmark::State& state) {
  for (const char* model : {"linear", "mlp"}) {
    auto* holder = PredictArenaAllocator().AllocateMessages();
    (void)Get().service->DoPredict(RowsRequest(model, 1), holder->response());
    holder->Release();
  }
  prometheus::TextSerializer serializer;
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = serializer.Serialize(Get().metrics.Collect());
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Scrape);

}  // namespace
}  // namespace modelserver::server

BENCHMARK_MAIN();
