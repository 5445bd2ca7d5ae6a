#include "client/train_flags.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

v1::TrainOptions MustBuild(const TrainFlags& flags) {
  absl::StatusOr<v1::TrainOptions> options = BuildTrainOptions(flags);
  EXPECT_TRUE(options.ok()) << options.status();
  return options.ok() ? *options : v1::TrainOptions();
}

// The error of building `flags`, which must fail with INVALID_ARGUMENT.
std::string BuildError(const TrainFlags& flags) {
  absl::StatusOr<v1::TrainOptions> options = BuildTrainOptions(flags);
  EXPECT_FALSE(options.ok());
  if (options.ok()) return "";
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(options.status().message());
}

// ---------------------------------------------------------- defaults

TEST(BuildTrainOptionsTest, DefaultsLeaveEverythingUnset) {
  TrainFlags flags;
  flags.target = "price";
  const v1::TrainOptions o = MustBuild(flags);
  EXPECT_EQ(o.target(), "price");
  EXPECT_THAT(o.features(), IsEmpty());
  EXPECT_EQ(o.task(), v1::TASK_UNSPECIFIED);
  EXPECT_EQ(o.model(), v1::MODEL_TYPE_UNSPECIFIED);
  EXPECT_EQ(o.optimizer(), v1::OPTIMIZER_UNSPECIFIED);
  EXPECT_EQ(o.activation(), v1::ACTIVATION_UNSPECIFIED);
  EXPECT_EQ(o.epochs(), 0);
  EXPECT_EQ(o.batch_size(), 0);
  EXPECT_EQ(o.learning_rate(), 0.0);
  EXPECT_THAT(o.hidden_layers(), IsEmpty());
  EXPECT_FALSE(o.has_l1());
  EXPECT_FALSE(o.has_l2());
  EXPECT_FALSE(o.has_validation_split());
  EXPECT_FALSE(o.has_early_stopping_patience());
  EXPECT_FALSE(o.has_seed());
  EXPECT_FALSE(o.has_momentum());
  EXPECT_FALSE(o.nesterov());
  EXPECT_EQ(o.preprocessing().scaling(), "");
  EXPECT_EQ(o.preprocessing().numeric_impute(), "");
  EXPECT_EQ(o.preprocessing().categorical_impute(), "");
  EXPECT_EQ(o.preprocessing().outliers(), "");
  EXPECT_EQ(o.preprocessing().max_levels(), 0);
}

// ---------------------------------------------------------- enums

TEST(BuildTrainOptionsTest, TaskNames) {
  TrainFlags flags;
  flags.task = "regression";
  EXPECT_EQ(MustBuild(flags).task(), v1::TASK_REGRESSION);
  flags.task = "classification";
  EXPECT_EQ(MustBuild(flags).task(), v1::TASK_CLASSIFICATION);
}

TEST(BuildTrainOptionsTest, ModelNames) {
  TrainFlags flags;
  flags.model = "linear";
  EXPECT_EQ(MustBuild(flags).model(), v1::MODEL_TYPE_LINEAR);
  flags.model = "logistic";
  EXPECT_EQ(MustBuild(flags).model(), v1::MODEL_TYPE_LOGISTIC);
  flags.model = "mlp";
  EXPECT_EQ(MustBuild(flags).model(), v1::MODEL_TYPE_MLP);
}

TEST(BuildTrainOptionsTest, OptimizerNames) {
  TrainFlags flags;
  flags.optimizer = "exact";
  EXPECT_EQ(MustBuild(flags).optimizer(), v1::OPTIMIZER_EXACT);
  flags.optimizer = "lbfgs";
  EXPECT_EQ(MustBuild(flags).optimizer(), v1::OPTIMIZER_LBFGS);
  flags.optimizer = "sgd";
  EXPECT_EQ(MustBuild(flags).optimizer(), v1::OPTIMIZER_SGD);
  flags.optimizer = "adam";
  EXPECT_EQ(MustBuild(flags).optimizer(), v1::OPTIMIZER_ADAM);
}

TEST(BuildTrainOptionsTest, ActivationNames) {
  TrainFlags flags;
  flags.activation = "relu";
  EXPECT_EQ(MustBuild(flags).activation(), v1::ACTIVATION_RELU);
  flags.activation = "tanh";
  EXPECT_EQ(MustBuild(flags).activation(), v1::ACTIVATION_TANH);
  flags.activation = "sigmoid";
  EXPECT_EQ(MustBuild(flags).activation(), v1::ACTIVATION_SIGMOID);
}

TEST(BuildTrainOptionsTest, UnknownTask) {
  TrainFlags flags;
  flags.task = "clustering";
  const std::string error = BuildError(flags);
  EXPECT_THAT(error, HasSubstr("--task"));
  EXPECT_THAT(error, HasSubstr("'clustering'"));
  EXPECT_THAT(error, HasSubstr("regression, classification"));
}

TEST(BuildTrainOptionsTest, UnknownModel) {
  TrainFlags flags;
  flags.model = "forest";
  EXPECT_EQ(BuildError(flags),
            "--model: unknown value 'forest' (expected linear, logistic, "
            "mlp)");
}

TEST(BuildTrainOptionsTest, UnknownOptimizer) {
  TrainFlags flags;
  flags.optimizer = "rmsprop";
  const std::string error = BuildError(flags);
  EXPECT_THAT(error, HasSubstr("--optimizer"));
  EXPECT_THAT(error, HasSubstr("'rmsprop'"));
  EXPECT_THAT(error, HasSubstr("exact, lbfgs, sgd, adam"));
}

TEST(BuildTrainOptionsTest, UnknownActivation) {
  TrainFlags flags;
  flags.activation = "gelu";
  const std::string error = BuildError(flags);
  EXPECT_THAT(error, HasSubstr("--activation"));
  EXPECT_THAT(error, HasSubstr("'gelu'"));
  EXPECT_THAT(error, HasSubstr("relu, tanh, sigmoid"));
}

TEST(BuildTrainOptionsTest, EnumNamesAreExact) {
  TrainFlags flags;
  flags.model = "MLP";
  EXPECT_THAT(BuildError(flags), HasSubstr("--model"));
  flags.model = " mlp";
  EXPECT_THAT(BuildError(flags), HasSubstr("--model"));
}

// ---------------------------------------------------------- --hidden

TEST(BuildTrainOptionsTest, HiddenLayers) {
  TrainFlags flags;
  flags.hidden = "64,32";
  EXPECT_THAT(MustBuild(flags).hidden_layers(), ElementsAre(64, 32));
  flags.hidden = "8";
  EXPECT_THAT(MustBuild(flags).hidden_layers(), ElementsAre(8));
  flags.hidden = " 128 , 16 ,4";
  EXPECT_THAT(MustBuild(flags).hidden_layers(), ElementsAre(128, 16, 4));
}

TEST(BuildTrainOptionsTest, MalformedHiddenNamesTheFlag) {
  for (const char* hidden : {"64,x", "0", "64,", ",64", "-1", "1.5", "abc",
                             "64,,32", "99999999999"}) {
    TrainFlags flags;
    flags.hidden = hidden;
    const std::string error = BuildError(flags);
    EXPECT_THAT(error, HasSubstr("--hidden")) << hidden;
    EXPECT_THAT(error, HasSubstr("positive integer")) << hidden;
  }
}

TEST(BuildTrainOptionsTest, MalformedHiddenQuotesTheBadPart) {
  TrainFlags flags;
  flags.hidden = "64,x";
  EXPECT_THAT(BuildError(flags), HasSubstr("'x'"));
  flags.hidden = "0";
  EXPECT_THAT(BuildError(flags), HasSubstr("'0'"));
}

// ---------------------------------------------------------- numbers

TEST(BuildTrainOptionsTest, PlainNumbersAreCopied) {
  TrainFlags flags;
  flags.epochs = 200;
  flags.batch_size = 64;
  flags.learning_rate = 0.01;
  const v1::TrainOptions o = MustBuild(flags);
  EXPECT_EQ(o.epochs(), 200);
  EXPECT_EQ(o.batch_size(), 64);
  EXPECT_DOUBLE_EQ(o.learning_rate(), 0.01);
}

TEST(BuildTrainOptionsTest, OptionalFieldsSetToZeroArePresent) {
  TrainFlags flags;
  flags.l1 = 0.0;
  flags.l2 = 0.0;
  flags.validation_split = 0.0;
  flags.early_stopping_patience = 0;
  flags.seed = 0;
  flags.momentum = 0.0;
  const v1::TrainOptions o = MustBuild(flags);
  EXPECT_TRUE(o.has_l1());
  EXPECT_EQ(o.l1(), 0.0);
  EXPECT_TRUE(o.has_l2());
  EXPECT_EQ(o.l2(), 0.0);
  EXPECT_TRUE(o.has_validation_split());
  EXPECT_EQ(o.validation_split(), 0.0);
  EXPECT_TRUE(o.has_early_stopping_patience());
  EXPECT_EQ(o.early_stopping_patience(), 0);
  EXPECT_TRUE(o.has_seed());
  EXPECT_EQ(o.seed(), 0u);
  EXPECT_TRUE(o.has_momentum());
  EXPECT_EQ(o.momentum(), 0.0);
}

TEST(BuildTrainOptionsTest, OptionalFieldsKeepTheirValues) {
  TrainFlags flags;
  flags.l1 = 0.5;
  flags.l2 = 1e-4;
  flags.validation_split = 0.25;
  flags.early_stopping_patience = 7;
  flags.seed = 18446744073709551615u;
  flags.momentum = 0.9;
  flags.nesterov = true;
  const v1::TrainOptions o = MustBuild(flags);
  EXPECT_EQ(o.l1(), 0.5);
  EXPECT_EQ(o.l2(), 1e-4);
  EXPECT_EQ(o.validation_split(), 0.25);
  EXPECT_EQ(o.early_stopping_patience(), 7);
  EXPECT_EQ(o.seed(), 18446744073709551615u);
  EXPECT_EQ(o.momentum(), 0.9);
  EXPECT_TRUE(o.nesterov());
}

TEST(BuildTrainOptionsTest, OnlyTheSetOptionalFieldIsPresent) {
  TrainFlags flags;
  flags.l2 = 0.0;
  const v1::TrainOptions o = MustBuild(flags);
  EXPECT_TRUE(o.has_l2());
  EXPECT_EQ(o.l2(), 0.0);
  EXPECT_FALSE(o.has_l1());
  EXPECT_FALSE(o.has_seed());
  EXPECT_FALSE(o.has_validation_split());
  EXPECT_FALSE(o.has_early_stopping_patience());
  EXPECT_FALSE(o.has_momentum());
}

// ---------------------------------------------------------- --features

TEST(BuildTrainOptionsTest, FeaturesSplitAndTrimmed) {
  TrainFlags flags;
  flags.features = "a, b";
  EXPECT_THAT(MustBuild(flags).features(), ElementsAre("a", "b"));
  flags.features = " sq ft ,\tyear,zip ";
  EXPECT_THAT(MustBuild(flags).features(), ElementsAre("sq ft", "year", "zip"));
  flags.features = "only";
  EXPECT_THAT(MustBuild(flags).features(), ElementsAre("only"));
}

TEST(BuildTrainOptionsTest, EmptyFeatureNameIsInvalid) {
  for (const char* features : {"a,,b", "a,", ",a", " , "}) {
    TrainFlags flags;
    flags.features = features;
    const std::string error = BuildError(flags);
    EXPECT_THAT(error, HasSubstr("--features")) << features;
    EXPECT_THAT(error, HasSubstr("empty column name")) << features;
  }
}

// ---------------------------------------------------------- preprocessing

TEST(BuildTrainOptionsTest, PreprocessingCopied) {
  TrainFlags flags;
  flags.scaling = "minmax";
  flags.numeric_impute = "median";
  flags.categorical_impute = "constant";
  flags.outliers = "zscore";
  flags.max_levels = 12;
  const v1::TrainOptions o = MustBuild(flags);
  ASSERT_TRUE(o.has_preprocessing());
  EXPECT_EQ(o.preprocessing().scaling(), "minmax");
  EXPECT_EQ(o.preprocessing().numeric_impute(), "median");
  EXPECT_EQ(o.preprocessing().categorical_impute(), "constant");
  EXPECT_EQ(o.preprocessing().outliers(), "zscore");
  EXPECT_EQ(o.preprocessing().max_levels(), 12);
}

TEST(BuildTrainOptionsTest, EverythingAtOnce) {
  TrainFlags flags;
  flags.target = "species";
  flags.task = "classification";
  flags.model = "mlp";
  flags.optimizer = "adam";
  flags.activation = "tanh";
  flags.hidden = "16,8";
  flags.features = "sepal_length,petal_width";
  flags.epochs = 50;
  flags.seed = 7;
  const v1::TrainOptions o = MustBuild(flags);
  EXPECT_EQ(o.target(), "species");
  EXPECT_EQ(o.task(), v1::TASK_CLASSIFICATION);
  EXPECT_EQ(o.model(), v1::MODEL_TYPE_MLP);
  EXPECT_EQ(o.optimizer(), v1::OPTIMIZER_ADAM);
  EXPECT_EQ(o.activation(), v1::ACTIVATION_TANH);
  EXPECT_THAT(o.hidden_layers(), ElementsAre(16, 8));
  EXPECT_THAT(o.features(), ElementsAre("sepal_length", "petal_width"));
  EXPECT_EQ(o.epochs(), 50);
  EXPECT_EQ(o.seed(), 7u);
  EXPECT_FALSE(o.has_l1());
}

// ---------------------------------------------------------- AddColumnType

TEST(AddColumnTypeTest, GoodSpecs) {
  google::protobuf::Map<std::string, v1::ColumnType> types;
  ASSERT_TRUE(AddColumnType("price=numeric", &types).ok());
  ASSERT_TRUE(AddColumnType("zip=categorical", &types).ok());
  ASSERT_TRUE(AddColumnType("sold=date", &types).ok());
  EXPECT_THAT(types,
              UnorderedElementsAre(Pair("price", v1::COLUMN_TYPE_NUMERIC),
                                   Pair("zip", v1::COLUMN_TYPE_CATEGORICAL),
                                   Pair("sold", v1::COLUMN_TYPE_DATE)));
}

TEST(AddColumnTypeTest, LaterSpecReplacesEarlier) {
  google::protobuf::Map<std::string, v1::ColumnType> types;
  ASSERT_TRUE(AddColumnType("zip=numeric", &types).ok());
  ASSERT_TRUE(AddColumnType("zip=categorical", &types).ok());
  EXPECT_THAT(types,
              UnorderedElementsAre(Pair("zip", v1::COLUMN_TYPE_CATEGORICAL)));
}

TEST(AddColumnTypeTest, ColumnNameMayHoldEqualsAndSpaces) {
  google::protobuf::Map<std::string, v1::ColumnType> types;
  ASSERT_TRUE(AddColumnType("a=b=numeric", &types).ok());
  ASSERT_TRUE(AddColumnType("sale date=date", &types).ok());
  EXPECT_THAT(types,
              UnorderedElementsAre(Pair("a=b", v1::COLUMN_TYPE_NUMERIC),
                                   Pair("sale date", v1::COLUMN_TYPE_DATE)));
}

TEST(AddColumnTypeTest, MissingColumnOrEquals) {
  for (const char* spec : {"price", "=numeric", ""}) {
    google::protobuf::Map<std::string, v1::ColumnType> types;
    const absl::Status status = AddColumnType(spec, &types);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << spec;
    EXPECT_THAT(std::string(status.message()), HasSubstr("--type")) << spec;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("COLUMN=numeric|categorical|date"))
        << spec;
    EXPECT_THAT(types, IsEmpty());
  }
}

TEST(AddColumnTypeTest, UnknownType) {
  for (const char* spec : {"price=text", "price=", "price=Numeric"}) {
    google::protobuf::Map<std::string, v1::ColumnType> types;
    const absl::Status status = AddColumnType(spec, &types);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << spec;
    EXPECT_THAT(std::string(status.message()), HasSubstr("--type")) << spec;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("numeric, categorical, date"))
        << spec;
    EXPECT_THAT(types, IsEmpty());
  }
  google::protobuf::Map<std::string, v1::ColumnType> types;
  EXPECT_EQ(AddColumnType("price=text", &types).message(),
            "--type: unknown value 'text' (expected numeric, categorical, "
            "date)");
}

}  // namespace
}  // namespace modelserver::client
