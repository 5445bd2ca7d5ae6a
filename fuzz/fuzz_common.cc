#include "fuzz/fuzz_common.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/model/model.h"

namespace modelserver::fuzz {

void Fail(const char* file, int line, const char* cond,
          const std::string& what) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", file, line, cond,
               what.c_str());
  std::abort();
}

bool SameBits(double a, double b) {
  return std::memcmp(&a, &b, sizeof(double)) == 0;
}

bool SameBits(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (Eigen::Index i = 0; i < a.size(); ++i) {
    if (!SameBits(a.data()[i], b.data()[i])) return false;
  }
  return true;
}

std::string TableDifference(const Table& a, const Table& b) {
  if (a.num_rows() != b.num_rows()) {
    return absl::StrCat("rows ", a.num_rows(), " vs ", b.num_rows());
  }
  if (a.num_columns() != b.num_columns()) {
    return absl::StrCat("columns ", a.num_columns(), " vs ", b.num_columns());
  }
  for (int c = 0; c < a.num_columns(); ++c) {
    const Column& x = a.column(c);
    const Column& y = b.column(c);
    const std::string where = absl::StrCat("column ", c, " '", x.name(), "'");
    if (x.name() != y.name()) return absl::StrCat(where, ": name");
    if (x.type() != y.type()) return absl::StrCat(where, ": type");
    if (x.levels() != y.levels()) return absl::StrCat(where, ": levels");
    if (x.codes() != y.codes()) return absl::StrCat(where, ": codes");
    if (x.values().size() != y.values().size()) {
      return absl::StrCat(where, ": value count");
    }
    for (size_t i = 0; i < x.values().size(); ++i) {
      if (!SameBits(x.values()[i], y.values()[i])) {
        return absl::StrCat(where, ": value of row ", i);
      }
    }
  }
  return "";
}

std::string TableViolation(const Table& t) {
  absl::flat_hash_set<std::string> names;
  for (int c = 0; c < t.num_columns(); ++c) {
    const Column& col = t.column(c);
    const std::string where = absl::StrCat("column ", c, " '", col.name(), "'");
    if (col.name().empty()) return absl::StrCat(where, ": empty name");
    if (!names.insert(col.name()).second) {
      return absl::StrCat(where, ": duplicate name");
    }
    if (col.size() != t.num_rows()) {
      return absl::StrCat(where, ": ", col.size(), " values for ",
                          t.num_rows(), " rows");
    }
    if (col.type() == ColumnType::kCategorical) {
      absl::flat_hash_set<std::string> levels(col.levels().begin(),
                                              col.levels().end());
      if (levels.size() != col.levels().size()) {
        return absl::StrCat(where, ": repeated level");
      }
      for (int32_t code : col.codes()) {
        if (code < kMissingCode ||
            code >= static_cast<int64_t>(col.levels().size())) {
          return absl::StrCat(where, ": code ", code, " out of range");
        }
      }
    } else {
      for (double v : col.values()) {
        if (std::isinf(v)) return absl::StrCat(where, ": infinite value");
      }
    }
  }
  return "";
}

Table InputsFor(const Artifact& artifact, bool with_target, uint8_t salt) {
  Table t;
  const Pipeline& p = artifact.pipeline();
  const double numbers[3] = {0.0, salt & 1 ? 1e300 : -2.5,
                             std::numeric_limits<double>::quiet_NaN()};
  const double dates[3] = {0.0, salt & 2 ? -6e10 : 1.7e9,
                           std::numeric_limits<double>::quiet_NaN()};
  for (size_t i = 0; i < p.inputs().size(); ++i) {
    const InputColumn& in = p.inputs()[i];
    switch (in.type) {
      case ColumnType::kNumeric:
        (void)t.AddColumn(Column::Numeric(
            in.name, std::vector<double>(numbers, numbers + 3)));
        break;
      case ColumnType::kDate:
        (void)t.AddColumn(
            Column::Date(in.name, std::vector<double>(dates, dates + 3)));
        break;
      case ColumnType::kCategorical: {
        const std::vector<std::string>& kept =
            p.one_hot_encoder(static_cast<int>(i)).kept_levels();
        std::vector<std::string> values = {
            kept.empty() ? std::string("a") : kept[salt % kept.size()],
            "never seen at fit", ""};
        (void)t.AddColumn(Column::CategoricalFromStrings(
            in.name, values, {false, false, true}));
        break;
      }
    }
  }
  const ModelMetadata& m = artifact.metadata();
  if (with_target && t.Find(m.target) == nullptr && !m.target.empty()) {
    if (IsClassifier(m.kind)) {
      std::vector<std::string> labels = {"x", "y", "z"};
      for (size_t i = 0; i < 3 && i < m.class_labels.size(); ++i) {
        labels[i] = m.class_labels[(i + salt) % m.class_labels.size()];
      }
      (void)t.AddColumn(Column::CategoricalFromStrings(
          m.target, labels, {false, false, (salt & 4) != 0}));
    } else {
      (void)t.AddColumn(Column::Numeric(m.target, {1.0, -3.0, 0.5}));
    }
  }
  return t;
}

void PredictAndCheck(const Artifact& artifact, const Table& table) {
  absl::StatusOr<Predictions> p = artifact.Predict(table);
  FUZZ_CHECK(p.ok(), "Predict on a table of the input schema: " +
                         p.status().ToString());
  const int64_t n = table.num_rows();
  if (IsClassifier(artifact.model().kind())) {
    const size_t k = artifact.metadata().class_labels.size();
    FUZZ_CHECK(p->probabilities.rows() == n &&
                   static_cast<size_t>(p->probabilities.cols()) == k,
               "probabilities shape");
    FUZZ_CHECK(static_cast<int64_t>(p->classes.size()) == n, "class count");
    for (int32_t c : p->classes) {
      FUZZ_CHECK(c >= 0 && static_cast<size_t>(c) < k, "class index");
    }
  } else {
    FUZZ_CHECK(p->values.size() == n, "value count");
  }
}

}  // namespace modelserver::fuzz
