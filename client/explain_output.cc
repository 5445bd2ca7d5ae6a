#include "client/explain_output.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/output.h"

namespace modelserver::client {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

// JSON numbers; NaN and infinities as null (as output.cc prints metrics).
Value Number(double x) {
  Value v;
  if (std::isfinite(x)) {
    v.set_number_value(x);
  } else {
    v.set_null_value(google::protobuf::NULL_VALUE);
  }
  return v;
}

Value Text(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}

Value List(ListValue l) {
  Value v;
  *v.mutable_list_value() = std::move(l);
  return v;
}

Value Object(Struct s) {
  Value v;
  *v.mutable_struct_value() = std::move(s);
  return v;
}

// The contribution of column c to score s of `p`, or NaN when absent.
double Contribution(const v1::Explanation& e, const v1::Prediction& p, int s,
                    int c) {
  const int i = s * e.columns_size() + c;
  return i < p.contributions_size() ? p.contributions(i) : std::nan("");
}

}  // namespace

std::string ExplainText(const v1::PredictResponse& r) {
  const v1::Explanation& e = r.explanation();
  const int scores = e.base_values_size();
  const bool classification = r.class_labels_size() > 0;
  std::vector<std::string> header = {"row"};
  if (!classification) {
    header.push_back("prediction");
  } else {
    header.push_back("label");
    header.push_back("class");
    header.push_back("probability");
  }
  header.push_back(e.score());
  header.push_back("base");
  for (const std::string& c : e.columns()) header.push_back(c);
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < r.predictions_size(); ++i) {
    const v1::Prediction& p = r.predictions(i);
    for (int s = 0; s < scores; ++s) {
      std::vector<std::string> row = {absl::StrCat(i + 1)};
      if (!classification) {
        row.push_back(FormatNumber(p.value()));
      } else {
        const std::string& cls =
            s < e.score_labels_size() ? e.score_labels(s) : std::string("?");
        int k = 0;
        while (k < r.class_labels_size() && r.class_labels(k) != cls) ++k;
        row.push_back(p.label());
        row.push_back(cls);
        row.push_back(k < p.probabilities_size()
                          ? FormatNumber(p.probabilities(k))
                          : std::string("-"));
      }
      row.push_back(s < p.scores_size() ? FormatNumber(p.scores(s))
                                        : std::string("-"));
      row.push_back(FormatNumber(e.base_values(s)));
      for (int c = 0; c < e.columns_size(); ++c) {
        row.push_back(FormatNumber(Contribution(e, p, s, c)));
      }
      rows.push_back(std::move(row));
    }
  }
  return FormatTable(header, rows);
}

std::string ImportanceText(const v1::FeatureImportanceReport& r) {
  if (r.columns_size() == 0) return "";
  std::string out = absl::StrFormat(
      "permutation importance: %s drop on %d %s rows, %d repeats (seed %d, "
      "baseline %s)\n",
      r.metric(), r.rows(), r.data(), r.repeats(), r.seed(),
      FormatNumber(r.baseline()));
  std::vector<const v1::FeatureImportance*> order;
  for (const v1::FeatureImportance& c : r.columns()) order.push_back(&c);
  std::stable_sort(
      order.begin(), order.end(),
      [](const v1::FeatureImportance* a, const v1::FeatureImportance* b) {
        return a->mean() > b->mean();
      });
  std::vector<std::vector<std::string>> rows;
  for (const v1::FeatureImportance* c : order) {
    rows.push_back(
        {c->column(), FormatNumber(c->mean()), FormatNumber(c->std())});
  }
  absl::StrAppend(&out, FormatTable({"column", "mean", "std"}, rows));
  return out;
}

Value ImportanceJson(const v1::FeatureImportanceReport& r) {
  Struct s;
  auto& f = *s.mutable_fields();
  f["metric"] = Text(r.metric());
  f["baseline"] = Number(r.baseline());
  f["data"] = Text(r.data());
  f["rows"] = Number(static_cast<double>(r.rows()));
  f["repeats"] = Number(r.repeats());
  f["seed"] = Number(static_cast<double>(r.seed()));
  ListValue columns;
  for (const v1::FeatureImportance& c : r.columns()) {
    Struct one;
    auto& g = *one.mutable_fields();
    g["column"] = Text(c.column());
    g["mean"] = Number(c.mean());
    g["std"] = Number(c.std());
    ListValue drops;
    for (double d : c.drops()) *drops.add_values() = Number(d);
    g["drops"] = List(std::move(drops));
    *columns.add_values() = Object(std::move(one));
  }
  f["columns"] = List(std::move(columns));
  return Object(std::move(s));
}

Value ExplanationJson(const v1::Explanation& e) {
  Struct s;
  auto& f = *s.mutable_fields();
  f["score"] = Text(e.score());
  ListValue columns, labels, base;
  for (const std::string& c : e.columns()) *columns.add_values() = Text(c);
  for (const std::string& l : e.score_labels()) *labels.add_values() = Text(l);
  for (double b : e.base_values()) *base.add_values() = Number(b);
  f["columns"] = List(std::move(columns));
  f["score_labels"] = List(std::move(labels));
  f["base_values"] = List(std::move(base));
  return Object(std::move(s));
}

Value ContributionsJson(const v1::Explanation& e, const v1::Prediction& p) {
  auto block = [&](int s) {
    Struct b;
    for (int c = 0; c < e.columns_size(); ++c) {
      (*b.mutable_fields())[e.columns(c)] = Number(Contribution(e, p, s, c));
    }
    return Object(std::move(b));
  };
  if (e.base_values_size() <= 1) return block(0);
  Struct per_class;
  for (int s = 0; s < e.base_values_size() && s < e.score_labels_size(); ++s) {
    (*per_class.mutable_fields())[e.score_labels(s)] = block(s);
  }
  return Object(std::move(per_class));
}

}  // namespace modelserver::client
