#include "client/promotion_flags.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace modelserver::client {

absl::StatusOr<v1::GateCondition> ParseGateFlag(absl::string_view text) {
  const size_t at = text.find_first_of("<>");
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--gate: '", text,
                     "' is not <metric><op><value> with op one of >=, >, <=, < "
                     "(e.g. 'f1_macro>=0.9')"));
  }
  const size_t op_len = at + 1 < text.size() && text[at + 1] == '=' ? 2 : 1;
  v1::GateCondition c;
  c.set_metric(std::string(absl::StripAsciiWhitespace(text.substr(0, at))));
  c.set_op(std::string(text.substr(at, op_len)));
  const absl::string_view value =
      absl::StripAsciiWhitespace(text.substr(at + op_len));
  double v = 0;
  if (c.metric().empty() || !absl::SimpleAtod(value, &v) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--gate: '", text,
        "' needs a metric name and a finite number (e.g. 'f1_macro>=0.9')"));
  }
  c.set_value(v);
  return c;
}

absl::Status ApplyPromotionFlags(const PromotionFlags& f,
                                 v1::TrainRequest* request) {
  v1::TrainOptions* o = request->mutable_options();
  if (f.class_weight.find('=') != std::string::npos) {
    for (absl::string_view pair : absl::StrSplit(f.class_weight, ',')) {
      const size_t eq = pair.rfind('=');
      double w = 0;
      if (eq == absl::string_view::npos || eq == 0 ||
          !absl::SimpleAtod(pair.substr(eq + 1), &w)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--class-weight: '", pair,
                         "' is not LABEL=WEIGHT (expected balanced, none or "
                         "LABEL=WEIGHT,...)"));
      }
      v1::ClassWeight* cw = o->add_class_weights();
      cw->set_label(std::string(pair.substr(0, eq)));
      cw->set_weight(w);
    }
  } else {
    o->set_class_weight(f.class_weight);
  }
  o->set_rebalance(f.rebalance);
  if (f.augment_noise) o->mutable_augmentation()->set_noise(*f.augment_noise);
  if (f.augment_copies) {
    o->mutable_augmentation()->set_copies(*f.augment_copies);
  }
  if (f.holdout_fraction) request->set_holdout_fraction(*f.holdout_fraction);
  for (const std::string& g : f.gates) {
    absl::StatusOr<v1::GateCondition> c = ParseGateFlag(g);
    if (!c.ok()) return c.status();
    *request->mutable_gate()->add_conditions() = *std::move(c);
  }
  request->mutable_gate()->set_better_than_label(f.gate_better_than);
  request->mutable_gate()->set_compare_metric(f.gate_metric);
  request->set_promote_label(f.promote_label);
  return absl::OkStatus();
}

std::string PromotionText(const v1::TrainResult& r) {
  std::string out;
  if (r.rows_oversampled() != 0 || r.rows_augmented() != 0) {
    absl::StrAppend(
        &out, absl::StrFormat(
                  "training rows added: %d by oversampling, %d "
                  "by augmentation (the optimizer saw %d)\n",
                  r.rows_oversampled(), r.rows_augmented(),
                  r.rows_train() + r.rows_oversampled() + r.rows_augmented()));
  }
  if (!r.has_gate()) return out;
  const v1::GateResult& g = r.gate();
  if (g.passed() && !g.promoted_label().empty()) {
    absl::StrAppend(&out, "gate PASSED on ", g.holdout_rows(),
                    " holdout rows: label '", g.promoted_label(),
                    "' now points to version ", r.version(), "\n");
  } else {
    absl::StrAppend(&out, "gate ", g.passed() ? "PASSED" : "FAILED", " on ",
                    g.holdout_rows(), " holdout rows: version ", r.version(),
                    " published without the label\n");
  }
  absl::StrAppend(&out, "  reason: ", g.reason(), "\n");
  for (const v1::GateConditionResult& c : g.conditions()) {
    absl::StrAppend(&out, "  ", c.passed() ? "pass" : "FAIL", "  ",
                    c.condition(), ": ", absl::StrFormat("%.6g", c.value()));
    if (c.baseline_version() != 0) {
      absl::StrAppend(
          &out, absl::StrFormat(" vs %.6g (version %d)", c.baseline_value(),
                                c.baseline_version()));
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string AugmentationText(const v1::AugmentationSummary& a) {
  std::string out;
  if (a.rows_oversampled() != 0 || a.rows_augmented() != 0) {
    absl::StrAppend(&out, "training rows added: ", a.rows_oversampled(),
                    " by oversampling, ", a.rows_augmented(),
                    " by augmentation\n");
  }
  if (a.class_weights_size() > 0) {
    absl::StrAppend(&out, "class weights:");
    for (const v1::ClassWeight& w : a.class_weights()) {
      absl::StrAppend(&out, " ", w.label(), "=",
                      absl::StrFormat("%.6g", w.weight()));
    }
    absl::StrAppend(&out, "\n");
  }
  if (a.has_gate()) {
    absl::StrAppend(
        &out, "gate at training: ", a.gate().passed() ? "passed" : "failed",
        " on ", a.gate().holdout_rows(), " holdout rows: ", a.gate().reason(),
        "\n");
  }
  return out;
}

}  // namespace modelserver::client
