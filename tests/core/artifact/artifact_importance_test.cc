// Permutation importance in the artifact: metadata tag 30 and Evaluate.
#include <string>
#include <utility>

#include "core/artifact/artifact.h"
#include "core/data/csv_reader.h"
#include "core/train/importance.h"
#include "core/train/trainer.h"
#include "core/util/bytes.h"
#include "core/util/crc32c.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/test_tables.h"

namespace modelserver {
namespace {

using test_tables::Load;

using ::testing::HasSubstr;

Artifact TrainIris(int repeats) {
  TrainSpec s;
  s.kind = ModelKind::kLogisticRegression;
  s.target = "species";
  s.importance_repeats = repeats;
  auto r = Train(Load("iris.csv"), s);
  EXPECT_TRUE(r.ok()) << r.status();
  return Artifact::FromTrainResult(*std::move(r), "iris", 1);
}

void ExpectSameReport(const FeatureImportanceReport& a,
                      const FeatureImportanceReport& b) {
  EXPECT_EQ(a.metric, b.metric);
  EXPECT_EQ(a.baseline, b.baseline);
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.repeats, b.repeats);
  EXPECT_EQ(a.seed, b.seed);
  ASSERT_EQ(a.columns.size(), b.columns.size());
  for (size_t c = 0; c < a.columns.size(); ++c) {
    EXPECT_EQ(a.columns[c].column, b.columns[c].column);
    EXPECT_EQ(a.columns[c].mean, b.columns[c].mean);
    EXPECT_EQ(a.columns[c].std, b.columns[c].std);
    EXPECT_EQ(a.columns[c].drops, b.columns[c].drops);
  }
}

TEST(ArtifactImportanceTest, RoundTripsInTheMetadata) {
  const Artifact a = TrainIris(3);
  ASSERT_TRUE(a.metadata().importance.has_value());
  const FeatureImportanceReport& imp = *a.metadata().importance;
  EXPECT_EQ(imp.metric, "accuracy");
  EXPECT_EQ(imp.data, "training");  // L-BFGS: no validation rows
  EXPECT_EQ(imp.rows, 150);
  ASSERT_EQ(imp.columns.size(), 4u);
  EXPECT_EQ(imp.columns[2].column, "petal_length_cm");
  // Shuffling a petal measurement costs accuracy.
  EXPECT_GT(imp.columns[2].mean + imp.columns[3].mean, 0.1);
  auto b = Artifact::Decode(a.Encode());
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(b->metadata().importance.has_value());
  ExpectSameReport(imp, *b->metadata().importance);
  EXPECT_EQ(b->Encode(), a.Encode());

  // Without importance: no tag 30, decoded as unset.
  const Artifact none = TrainIris(0);
  EXPECT_FALSE(none.metadata().importance.has_value());
  auto c = Artifact::Decode(none.Encode());
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->metadata().importance.has_value());
}

// Rewrites the body of metadata field `tag` and fixes every length and the
// checksum, so that only the field's contents are wrong.
std::string ReplaceMetadataField(const std::string& bytes, uint32_t tag,
                                 const std::string& body) {
  ByteReader in(absl::string_view(bytes).substr(20, bytes.size() - 24));
  ByteWriter payload;
  while (!in.done()) {
    const uint32_t section = *in.ReadU32("section");
    const uint64_t size = *in.ReadU64("size");
    const absl::string_view content = *in.ReadRaw(size, "section");
    if (section != 1) {
      payload.WriteU32(section);
      payload.WriteString(content);
      continue;
    }
    ByteReader fields(content);
    ByteWriter meta;
    while (!fields.done()) {
      const uint32_t t = *fields.ReadU32("tag");
      const std::string b = *fields.ReadString("body");
      meta.WriteU32(t);
      meta.WriteString(t == tag ? body : b);
    }
    payload.WriteU32(1);
    payload.WriteString(meta.data());
  }
  ByteWriter out;
  out.WriteRaw(absl::string_view(bytes).substr(0, 12));
  out.WriteU64(payload.data().size());
  out.WriteRaw(payload.data());
  out.WriteU32(Crc32c(out.data()));
  return out.Release();
}

TEST(ArtifactImportanceTest, CorruptedFieldIsDataLoss) {
  const std::string bytes = TrainIris(2).Encode();
  // Rewriting a field with its own body keeps the artifact valid (the
  // helper is right): the name field, tag 1.
  auto same = Artifact::Decode(ReplaceMetadataField(bytes, 1, "iris"));
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->metadata().name, "iris");
  ByteWriter b;
  b.WriteString("accuracy");
  b.WriteF64(1.0);
  b.WriteString("training");
  b.WriteU64(150);
  b.WriteU64(2);
  b.WriteU64(42);
  b.WriteU64(1000000);  // columns: more than the bytes can hold
  auto bad = Artifact::Decode(ReplaceMetadataField(bytes, 30, b.data()));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("implausible importance columns"));

  ByteWriter truncated;
  truncated.WriteString("accuracy");
  truncated.WriteF64(1.0);
  auto cut =
      Artifact::Decode(ReplaceMetadataField(bytes, 30, truncated.data()));
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss);

  ByteWriter repeats;
  repeats.WriteString("accuracy");
  repeats.WriteF64(1.0);
  repeats.WriteString("training");
  repeats.WriteU64(150);
  repeats.WriteU64(101);  // more repeats than allowed
  auto many = Artifact::Decode(ReplaceMetadataField(bytes, 30, repeats.data()));
  EXPECT_EQ(many.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(many.status().message()),
              HasSubstr("implausible importance repeats 101"));
}

// Evaluate with options computes the importance on the given rows: the
// same report as PermutationImportance on the transformed rows.
TEST(ArtifactImportanceTest, EvaluateComputesItOnTheGivenRows) {
  const Artifact a = TrainIris(0);
  const Table iris = Load("iris.csv");
  FeatureImportanceOptions o;
  o.repeats = 4;
  o.max_rows = 100;
  o.seed = 9;
  auto e = a.Evaluate(iris, &o);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_TRUE(e->importance.has_value());
  EXPECT_EQ(e->importance->data, "evaluation");
  EXPECT_EQ(e->importance->rows, 100);
  EXPECT_EQ(e->importance->repeats, 4);
  EXPECT_EQ(e->importance->seed, 9u);
  auto x = a.pipeline().Transform(iris);
  ASSERT_TRUE(x.ok());
  auto y = EncodeTarget(*iris.Find("species"), a.model().kind(),
                        a.metadata().class_labels);
  ASSERT_TRUE(y.ok());
  auto direct = PermutationImportance(a.model(), *x, y->y, y->classes,
                                      a.pipeline().output_sources(),
                                      {"sepal_length_cm", "sepal_width_cm",
                                       "petal_length_cm", "petal_width_cm"},
                                      o, "evaluation");
  ASSERT_TRUE(direct.ok());
  ExpectSameReport(*direct, *e->importance);
  // Without options: no importance.
  auto plain = a.Evaluate(iris);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->importance.has_value());
  // Invalid options are INVALID_ARGUMENT naming the field.
  o.repeats = 0;
  auto bad = a.Evaluate(iris, &o);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("importance repeats"));
}

}  // namespace
}  // namespace modelserver
