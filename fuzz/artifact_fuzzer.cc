// Fuzz target: the artifact decoder (core/artifact/artifact.h) and its parts
// (Pipeline::Decode in core/prep/pipeline.h, DecodeModel in
// core/model/model_codec.h).
//
// Input: 1 mode byte, then the bytes to decode. Mode (byte 0 mod 4):
//   0  a whole artifact file -> Artifact::Decode (envelope, checksum, ...)
//   1  an artifact payload (the sections): the harness adds the envelope
//      with a correct length and CRC-32C, so that mutations reach the
//      section decoders instead of stopping at the checksum
//   2  a pipeline section body -> Pipeline::Decode
//   3  a model section body -> DecodeModel
// Checks, beyond "no crash, no sanitizer report" (Eigen's assertions are on:
// a product of mismatched matrices aborts):
//   - an artifact that decodes predicts on a table of its own input schema
//     (seen and unseen levels, missing values, large numbers) with the
//     right shapes, evaluates against a target column, rejects a table of
//     the wrong types without crashing, and re-encodes canonically:
//     Decode(Encode(a)) succeeds, encodes to the same bytes and predicts
//     bit-identically;
//   - a pipeline that decodes transforms such a table into rows x
//     num_outputs() and re-encodes to bytes that decode again;
//   - a model that decodes predicts rows x num_outputs() on any matrix of
//     num_inputs() columns.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/artifact/artifact.h"
#include "core/model/model_codec.h"
#include "core/prep/pipeline.h"
#include "core/util/bytes.h"
#include "core/util/crc32c.h"
#include "fuzz/fuzz_common.h"

namespace modelserver::fuzz {
namespace {

std::string WithEnvelope(absl::string_view payload) {
  ByteWriter out;
  out.WriteRaw(absl::string_view("\x89MSM\r\n\x1a\n", 8));
  out.WriteU32(kArtifactFormatVersion);
  out.WriteU64(payload.size());
  out.WriteRaw(payload);
  out.WriteU32(Crc32c(out.data()));
  return out.Release();
}

// A table whose columns have the other types than `artifact` expects.
Table WrongTypes(const Artifact& artifact) {
  Table t;
  for (const InputColumn& in : artifact.input_schema()) {
    if (in.type == ColumnType::kCategorical) {
      (void)t.AddColumn(Column::Numeric(in.name, {1.0}));
    } else {
      (void)t.AddColumn(Column::CategoricalFromStrings(in.name, {"1"}));
    }
  }
  return t;
}

void CheckArtifact(const Artifact& a, uint8_t salt) {
  const Table inputs = InputsFor(a, /*with_target=*/true, salt);
  PredictAndCheck(a, inputs);
  // Evaluate may refuse the rows (e.g. no target value), never crash.
  (void)a.Evaluate(inputs);
  if (!a.input_schema().empty()) {
    absl::StatusOr<Predictions> wrong = a.Predict(WrongTypes(a));
    FUZZ_CHECK(!wrong.ok(), "Predict accepted columns of the wrong type");
  }
  const std::string bytes = a.Encode();
  absl::StatusOr<Artifact> b = Artifact::Decode(bytes);
  FUZZ_CHECK(b.ok(), "re-encoded artifact: " + b.status().ToString());
  FUZZ_CHECK(b->Encode() == bytes, "encoding is not canonical");
  absl::StatusOr<Predictions> pa = a.Predict(inputs);
  absl::StatusOr<Predictions> pb = b->Predict(inputs);
  FUZZ_CHECK(pa.ok() && pb.ok(), "Predict after the round trip");
  FUZZ_CHECK(SameBits(Eigen::MatrixXd(pa->values), Eigen::MatrixXd(pb->values)) &&
                 SameBits(pa->probabilities, pb->probabilities) &&
                 pa->classes == pb->classes,
             "predictions differ after the round trip");
}

void CheckPipeline(const Pipeline& p, uint8_t salt) {
  // InputsFor needs an Artifact only for its pipeline: give it a linear
  // model of the right width.
  Table t;
  const double numbers[2] = {salt & 1 ? 1e300 : 0.5,
                             std::numeric_limits<double>::quiet_NaN()};
  for (size_t i = 0; i < p.inputs().size(); ++i) {
    const InputColumn& in = p.inputs()[i];
    if (in.type == ColumnType::kCategorical) {
      const std::vector<std::string>& kept =
          p.one_hot_encoder(static_cast<int>(i)).kept_levels();
      (void)t.AddColumn(Column::CategoricalFromStrings(
          in.name, {kept.empty() ? "a" : kept[salt % kept.size()], ""},
          {false, true}));
    } else if (in.type == ColumnType::kDate) {
      (void)t.AddColumn(Column::Date(in.name, {numbers[0], numbers[1]}));
    } else {
      (void)t.AddColumn(Column::Numeric(in.name, {numbers[0], numbers[1]}));
    }
  }
  absl::StatusOr<Eigen::MatrixXd> x = p.Transform(t);
  if (x.ok()) {
    FUZZ_CHECK(x->rows() == t.num_rows() && x->cols() == p.num_outputs(),
               "Transform shape");
  }
  ByteWriter w;
  p.Encode(&w);
  ByteReader r(w.data());
  absl::StatusOr<Pipeline> again = Pipeline::Decode(&r);
  FUZZ_CHECK(again.ok() && r.done(),
             "re-encoded pipeline: " + again.status().ToString());
}

void CheckModel(const Model& m, uint8_t salt) {
  if (m.num_inputs() > 100000) return;  // bounded by the input size anyway
  Eigen::MatrixXd x(2, m.num_inputs());
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    x.data()[i] = (salt & 1) ? 1e200 * static_cast<double>(i) : -0.5;
  }
  const Eigen::MatrixXd out = m.Predict(x);
  FUZZ_CHECK(out.rows() == 2 && out.cols() == m.num_outputs(),
             absl::StrCat("model output ", out.rows(), "x", out.cols()));
  ByteWriter w;
  EncodeModel(m, &w);
  ByteReader r(w.data());
  absl::StatusOr<std::unique_ptr<Model>> again = DecodeModel(&r);
  FUZZ_CHECK(again.ok() && r.done(),
             "re-encoded model: " + again.status().ToString());
  FUZZ_CHECK(SameBits((*again)->Predict(x), out), "model round trip");
}

}  // namespace
}  // namespace modelserver::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelserver;
  using namespace modelserver::fuzz;
  if (size < 1) return 0;
  const uint8_t mode = data[0] & 3;
  const uint8_t salt = data[0] >> 2;
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1,
                                size - 1);
  switch (mode) {
    case 0:
    case 1: {
      absl::StatusOr<Artifact> a =
          Artifact::Decode(mode == 0 ? std::string(bytes) : WithEnvelope(bytes));
      if (a.ok()) CheckArtifact(*a, salt);
      break;
    }
    case 2: {
      ByteReader r(bytes);
      absl::StatusOr<Pipeline> p = Pipeline::Decode(&r);
      if (p.ok()) CheckPipeline(*p, salt);
      break;
    }
    case 3: {
      ByteReader r(bytes);
      absl::StatusOr<std::unique_ptr<Model>> m = DecodeModel(&r);
      if (m.ok()) CheckModel(**m, salt);
      break;
    }
  }
  return 0;
}
