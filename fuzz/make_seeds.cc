// fuzz_make_seeds: writes the seed corpora of the fuzz targets into
// <repo>/fuzz/corpus/{csv,artifact,request}/ (run by fuzz/make_seeds.sh;
// the files are committed, so CI never regenerates them). Each file starts
// with its target's header bytes (see the top of each *_fuzzer.cc).
//   csv       the first lines of every tests/data/*.csv, and hand-written
//             cases: quoting, line endings, BOM, missing markers, dates,
//             overflowing numbers, and the reader's error cases
//   artifact  the four models of fuzz_models.h: whole files, payloads,
//             pipeline and model sections
//   request   Predict (rows, columns, csv), Evaluate, Train (rows, csv,
//             path; each model kind), ModelInfer (contents, raw, BYTES,
//             features) and REST bodies for those models
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/util/bytes.h"
#include "fuzz/fuzz_models.h"
#include "inference/open_inference_grpc.pb.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::fuzz {
namespace {

namespace v1 = ::modelserver::v1;
namespace fs = std::filesystem;

std::string out_root;

void Write(const std::string& target, const std::string& name,
           const std::string& bytes) {
  const fs::path dir = fs::path(out_root) / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string Header(std::initializer_list<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// ------------------------------------------------------------------- csv

void CsvSeeds(const std::string& data_dir) {
  for (const char* file : {"iris", "mpg", "airquality", "diabetes",
                           "breast_cancer"}) {
    std::ifstream in(absl::StrCat(data_dir, "/", file, ".csv"));
    std::string line, head;
    for (int i = 0; i < 12 && std::getline(in, line); ++i) {
      // breast_cancer has 31 columns: keep its lines whole but few.
      absl::StrAppend(&head, line, "\n");
    }
    Write("csv", absl::StrCat("data_", file), Header({0, 0, 0, 0}) + head);
  }
  const struct {
    const char* name;
    std::string options;
    std::string text;
  } cases[] = {
      {"quoting", Header({0, 0, 0, 0}),
       "a,b,c\n\"x, y\",\"say \"\"hi\"\"\",3\n\"multi\nline\",,4\n"},
      {"crlf_bom", Header({0, 0x20, 0, 0}),
       "\xEF\xBB\xBFname,value\r\nx,1\r\n\r\ny,2"},
      {"semicolon", Header({1, 0, 0, 0}), "a;b\n1,5;x\n2;y\n"},
      {"tab_missing", Header({2, 1, 0, 0}), "a\tb\n-\tNA\n3\tz\n"},
      {"pipe_no_missing", Header({3, 2, 0, 0}), "a|b\nNA|\n1|2\n"},
      {"dates", Header({0, 0x40, 0, 0}),
       "when,x\n2020-01-02,1\n2021-12-31T23:59:59Z,2\n"
       "2022-06-01T12:00:00+02:00,\n"},
      {"mixed_types", Header({0, 0x60, 0, 0}),
       "a,b\n1,2020-01-01\nx,3\n1e400,NaN\n-0,inf\n"},
      {"force_numeric", Header({0, 0x04, 0, 0}), "a,b\n1,x\n?,y\n"},
      {"force_categorical", Header({0, 0x08, 0, 0}), "a,b\n1,x\n1.0,y\n"},
      {"force_date", Header({0, 0x0C, 0, 0}), "a,b\n2020-01-01,x\nbad,y\n"},
      {"file_read", Header({0, 0x10, 0, 0}), "a,b\n1,x\n2,y\n3,3.5\n"},
      {"limits", Header({0, 0, 2, 0x82}), "a,b,c\n1,2,3\n4,5,6\n7,8,9\n"},
      {"ragged", Header({0, 0, 0, 0}), "a,b\n1,2,3\n"},
      {"unterminated", Header({0, 0, 0, 0}), "a,b\n\"1,2\n"},
      {"after_quote", Header({0, 0, 0, 0}), "a,b\n\"1\"x,2\n"},
      {"bare_cr", Header({0, 0, 0, 0}), "a,b\r1,2\n"},
      {"nul", Header({0, 0, 0, 0}), std::string("a,b\n1,\0\n", 8)},
      {"bad_utf8", Header({0, 0, 0, 0}), "a,\xC3\x28\n1,2\n"},
      {"duplicate", Header({0, 0, 0, 0}), "a,a\n1,2\n"},
      {"empty_name", Header({0, 0, 0, 0}), "a, \n1,2\n"},
      {"header_only", Header({0, 0, 0, 0}), "a,b\n"},
      {"empty", Header({0, 0, 0, 0}), ""},
      {"bad_delimiter", Header({0xFA, 0, 0, 0}), "a\nb\n"},
      {"wide", Header({0, 0xA0, 0, 0x05}), "a,b,c,d,e,f,g\n1,2,3,4,5,6,7\n"},
  };
  for (const auto& c : cases) {
    Write("csv", c.name, c.options + c.text);
  }
}

// -------------------------------------------------------------- artifact

// The sections of an artifact file: tag -> body.
std::vector<std::pair<uint32_t, std::string>> Sections(
    const std::string& file) {
  std::vector<std::pair<uint32_t, std::string>> out;
  ByteReader r(absl::string_view(file).substr(20, file.size() - 24));
  while (!r.done()) {
    const uint32_t tag = *r.ReadU32("tag");
    const uint64_t n = *r.ReadU64("length");
    out.emplace_back(tag, std::string(*r.ReadRaw(n, "body")));
  }
  return out;
}

void ArtifactSeeds(
    const std::vector<std::pair<std::string, Artifact>>& models) {
  for (const auto& [name, artifact] : models) {
    const std::string file = artifact.Encode();
    Write("artifact", name + "_file", Header({0}) + file);
    Write("artifact", name + "_payload",
          Header({1}) + file.substr(20, file.size() - 24));
    for (const auto& [tag, body] : Sections(file)) {
      if (tag == 2) Write("artifact", name + "_pipeline", Header({2}) + body);
      if (tag == 3) Write("artifact", name + "_model", Header({3}) + body);
    }
  }
}

// --------------------------------------------------------------- request

void SetNumber(v1::Value* v, double x) { v->set_number(x); }

void AddRow(v1::InlineRows* rows, double x1, double x2, const char* color,
            const char* when) {
  v1::Row* row = rows->add_rows();
  SetNumber(row->add_values(), x1);
  SetNumber(row->add_values(), x2);
  if (color != nullptr) row->add_values()->set_text(color);
  else row->add_values();  // missing
  row->add_values()->set_text(when);
}

v1::InlineRows Rows() {
  v1::InlineRows rows;
  for (const char* c : {"x1", "x2", "color", "when"}) rows.add_columns(c);
  AddRow(&rows, 1.5, 2, "red", "2020-03-04T05:00:00Z");
  AddRow(&rows, -3, 0.25, nullptr, "2021-01-01");
  AddRow(&rows, 0, 1e6, "purple", "");
  return rows;
}

std::string Request(uint8_t surface, uint8_t model,
                    const google::protobuf::MessageLite& m) {
  return Header({surface, model}) + m.SerializeAsString();
}

void RequestSeeds() {
  const v1::InlineRows rows = Rows();
  // Predict.
  for (uint8_t model = 0; model < 4; ++model) {
    v1::PredictRequest p;
    *p.mutable_rows() = rows;
    Write("request", absl::StrCat("predict_rows_", model),
          Request(0, model, p));
  }
  {
    v1::PredictRequest p;
    p.mutable_rows()->add_columns("x1");
    p.mutable_rows()->add_columns("x2");
    for (double x : {0.5, 2.0, -7.0}) {
      v1::Row* r = p.mutable_rows()->add_rows();
      r->add_values()->set_number(x);
      r->add_values()->set_number(x * 3);
    }
    Write("request", "predict_rows_numeric_short_path", Request(0, 3, p));
    p.set_version(1);
    p.set_version_label("stable");
    Write("request", "predict_version_label", Request(0, 0x43, p));
    p.set_name("../etc");
    Write("request", "predict_bad_name", Request(0, 0x80, p));
  }
  {
    v1::PredictRequest p;
    auto* cols = p.mutable_columns();
    auto* x1 = cols->add_columns();
    x1->set_name("x1");
    for (double x : {1.0, 2.0}) x1->add_numbers(x);
    auto* x2 = cols->add_columns();
    x2->set_name("x2");
    for (double x : {0.0, -1.0}) x2->add_numbers(x);
    auto* color = cols->add_columns();
    color->set_name("color");
    color->add_texts("red");
    color->add_texts("");
    auto* when = cols->add_columns();
    when->set_name("when");
    when->add_texts("2020-01-01");
    when->add_texts("NA");
    for (uint8_t model = 0; model < 4; ++model) {
      Write("request", absl::StrCat("predict_columns_", model),
            Request(0, model, p));
    }
  }
  {
    v1::PredictRequest p;
    p.set_csv("x1,x2,color,when\n1,2,red,2020-01-01\n,3,blue,\n");
    Write("request", "predict_csv", Request(0, 1, p));
  }
  // Evaluate.
  {
    v1::EvaluateRequest e;
    e.mutable_data()->set_csv(TrainingCsv().substr(0, 400));
    for (uint8_t model = 0; model < 4; ++model) {
      Write("request", absl::StrCat("evaluate_csv_", model),
            Request(1, model, e));
    }
    v1::EvaluateRequest e2;
    *e2.mutable_data()->mutable_rows() = rows;
    e2.mutable_data()->mutable_rows()->add_columns("y");
    for (auto& r : *e2.mutable_data()->mutable_rows()->mutable_rows()) {
      r.add_values()->set_number(1.0);
    }
    Write("request", "evaluate_rows", Request(1, 0, e2));
    v1::EvaluateRequest e3;
    e3.mutable_data()->set_path("train.csv");
    Write("request", "evaluate_path", Request(1, 1, e3));
  }
  // Train.
  {
    v1::TrainRequest t;
    t.set_name("t");
    t.mutable_data()->set_csv(TrainingCsv().substr(0, 600));
    t.mutable_options()->set_target("y");
    Write("request", "train_csv_linear", Request(2, 0, t));
    t.mutable_options()->set_target("label");
    t.mutable_options()->set_model(v1::MODEL_TYPE_LOGISTIC);
    t.mutable_options()->set_optimizer(v1::OPTIMIZER_LBFGS);
    t.mutable_options()->set_epochs(5);
    t.mutable_options()->mutable_preprocessing()->set_scaling("minmax");
    t.mutable_options()->mutable_preprocessing()->set_outliers("quantile");
    Write("request", "train_csv_logistic", Request(2, 0, t));
    t.mutable_options()->set_model(v1::MODEL_TYPE_MLP);
    t.mutable_options()->set_optimizer(v1::OPTIMIZER_SGD);
    t.mutable_options()->add_hidden_layers(4);
    t.mutable_options()->add_hidden_layers(3);
    t.mutable_options()->set_activation(v1::ACTIVATION_TANH);
    t.mutable_options()->set_learning_rate(0.05);
    t.mutable_options()->set_batch_size(8);
    t.mutable_options()->set_nesterov(true);
    t.mutable_options()->set_momentum(0.5);
    t.mutable_options()->set_validation_split(0.2);
    t.mutable_options()->set_early_stopping_patience(2);
    t.mutable_options()->set_l1(0.01);
    t.mutable_options()->set_l2(0.01);
    t.mutable_options()->set_seed(7);
    t.mutable_options()->mutable_preprocessing()->set_numeric_impute("median");
    t.mutable_options()->mutable_preprocessing()->set_categorical_impute(
        "constant");
    t.mutable_options()->mutable_preprocessing()->set_max_levels(2);
    Write("request", "train_csv_mlp_classifier", Request(2, 0, t));
    t.mutable_options()->set_target("y");
    t.mutable_options()->set_task(v1::TASK_REGRESSION);
    t.mutable_options()->set_optimizer(v1::OPTIMIZER_ADAM);
    t.mutable_options()->add_features("x1");
    t.mutable_options()->add_features("when");
    (*t.mutable_data()->mutable_column_types())["x1"] =
        v1::COLUMN_TYPE_NUMERIC;
    Write("request", "train_csv_mlp_regressor", Request(2, 0, t));
    v1::TrainRequest r;
    r.set_name("r");
    *r.mutable_data()->mutable_rows() = rows;
    r.mutable_data()->mutable_rows()->set_columns(0, "y");
    r.mutable_options()->set_target("y");
    Write("request", "train_rows", Request(2, 0, r));
    v1::TrainRequest f;
    f.set_name("f");
    f.mutable_data()->set_path("train.csv");
    f.mutable_options()->set_target("flag");
    f.mutable_options()->set_optimizer(v1::OPTIMIZER_EXACT);
    Write("request", "train_path", Request(2, 0, f));
  }
  // ModelInfer.
  {
    inference::ModelInferRequest m;
    m.set_id("seed");
    auto add = [&m](const char* name, const char* type) {
      auto* in = m.add_inputs();
      in->set_name(name);
      in->set_datatype(type);
      in->add_shape(2);
      return in;
    };
    auto* x1 = add("x1", "FP64");
    x1->mutable_contents()->add_fp64_contents(1.0);
    x1->mutable_contents()->add_fp64_contents(-2.0);
    auto* x2 = add("x2", "INT32");
    x2->mutable_contents()->add_int_contents(3);
    x2->mutable_contents()->add_int_contents(0);
    auto* color = add("color", "BYTES");
    color->mutable_contents()->add_bytes_contents("red");
    color->mutable_contents()->add_bytes_contents("NA");
    auto* when = add("when", "BYTES");
    when->mutable_contents()->add_bytes_contents("2020-01-01");
    when->mutable_contents()->add_bytes_contents("2020-02-03T04:05:06Z");
    for (uint8_t model = 0; model < 4; ++model) {
      Write("request", absl::StrCat("infer_contents_", model),
            Request(3, model, m));
    }
    m.add_outputs()->set_name("probabilities");
    Write("request", "infer_outputs", Request(3, 1, m));

    inference::ModelInferRequest raw;
    auto* f = raw.add_inputs();
    f->set_name("features");
    f->set_datatype("FP32");
    f->add_shape(2);
    f->add_shape(2);
    const float values[4] = {1.0f, 2.0f, -1.0f, 0.5f};
    raw.add_raw_input_contents(
        std::string(reinterpret_cast<const char*>(values), sizeof(values)));
    Write("request", "infer_raw_features", Request(3, 3, raw));

    inference::ModelInferRequest bytes;
    auto* c = bytes.add_inputs();
    c->set_name("color");
    c->set_datatype("BYTES");
    c->add_shape(1);
    c->add_shape(1);
    bytes.add_raw_input_contents(std::string("\x04\x00\x00\x00" "blue", 8));
    auto* x = bytes.add_inputs();
    x->set_name("x1");
    x->set_datatype("FP16");
    x->add_shape(1);
    bytes.add_raw_input_contents(std::string("\x00\x3c", 2));
    Write("request", "infer_raw_bytes_fp16", Request(3, 2, bytes));
  }
  // REST.
  const char* bodies[][2] = {
      {"rest_columns",
       R"({"id":"1","inputs":[{"name":"x1","datatype":"FP64","shape":[2],"data":[1.5,null]},)"
       R"({"name":"x2","datatype":"INT64","shape":[2,1],"data":[[1],[2]]},)"
       R"({"name":"color","datatype":"BYTES","shape":[2],"data":["red","blue"]},)"
       R"({"name":"when","datatype":"BYTES","shape":[2],"data":["2020-01-01",""]}],)"
       R"("outputs":[{"name":"labels"},{"name":"probabilities"}],"parameters":{}})"},
      {"rest_features",
       R"({"inputs":[{"name":"features","datatype":"FP32","shape":[2,2],"data":[[1,2],[3,4]]}]})"},
      {"rest_bool",
       R"({"inputs":[{"name":"x1","datatype":"BOOL","shape":[1],"data":[true]},)"
       R"({"name":"color","datatype":"BYTES","shape":[1],"data":["green"]}]})"},
  };
  const uint8_t rest_models[] = {0, 3, 2};
  for (int i = 0; i < 3; ++i) {
    Write("request", bodies[i][0], Header({4, rest_models[i]}) + bodies[i][1]);
    Write("request", absl::StrCat(bodies[i][0], "_logistic"),
          Header({4, 1}) + bodies[i][1]);
  }
}

}  // namespace
}  // namespace modelserver::fuzz

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_make_seeds <corpus-dir> <tests/data>\n");
    return 2;
  }
  using namespace modelserver::fuzz;
  out_root = argv[1];
  CsvSeeds(argv[2]);
  ArtifactSeeds(TrainFuzzModels());
  RequestSeeds();
  return 0;
}
