#include "server/data_source.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/upload_store.h"

namespace modelserver::server {
namespace {

using ::testing::HasSubstr;

std::string MakeTempDir() {
  std::string tmpl = testing::TempDir() + "/server_data_XXXXXX";
  char* dir = ::mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

class DataPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir();
    data_ = root_ + "/data";
    std::filesystem::create_directories(data_ + "/sub");
    WriteFile(data_ + "/a.csv", "x,y\n1,2\n");
    WriteFile(data_ + "/sub/b.csv", "x,y\n1,2\n");
    WriteFile(root_ + "/secret.csv", "x,y\n1,2\n");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string root_;
  std::string data_;
};

TEST_F(DataPathTest, FilesInsideAreAccepted) {
  absl::StatusOr<std::string> p = ResolveDataPath(data_, "a.csv");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, std::filesystem::canonical(data_ + "/a.csv").string());
  p = ResolveDataPath(data_, "sub/b.csv");
  ASSERT_TRUE(p.ok()) << p.status();
  p = ResolveDataPath(data_, "./sub/../a.csv");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DataPathTest, DotDotIsRejected) {
  absl::StatusOr<std::string> p = ResolveDataPath(data_, "../secret.csv");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("'../secret.csv'"));
  EXPECT_EQ(ResolveDataPath(data_, "sub/../../secret.csv").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(DataPathTest, AbsolutePathIsRejected) {
  absl::StatusOr<std::string> p = ResolveDataPath(data_, data_ + "/a.csv");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("absolute"));
}

TEST_F(DataPathTest, SymlinkEscapingIsRejected) {
  ASSERT_EQ(
      ::symlink((root_ + "/secret.csv").c_str(), (data_ + "/link.csv").c_str()),
      0);
  ASSERT_EQ(::symlink(root_.c_str(), (data_ + "/up").c_str()), 0);
  absl::StatusOr<std::string> p = ResolveDataPath(data_, "link.csv");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("'link.csv'"));
  EXPECT_EQ(ResolveDataPath(data_, "up/secret.csv").status().code(),
            absl::StatusCode::kPermissionDenied);
  // A symlink that stays inside is fine.
  ASSERT_EQ(::symlink("a.csv", (data_ + "/alias.csv").c_str()), 0);
  EXPECT_TRUE(ResolveDataPath(data_, "alias.csv").ok());
}

TEST_F(DataPathTest, OtherErrors) {
  EXPECT_EQ(ResolveDataPath("", "a.csv").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(ResolveDataPath("", "a.csv").status().message()),
              HasSubstr("without --data-dir"));
  EXPECT_EQ(ResolveDataPath(data_, "nope.csv").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ResolveDataPath(data_, "sub").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveDataPath(data_, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

class DataSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir();
    std::filesystem::create_directories(root_ + "/data");
    WriteFile(root_ + "/data/d.csv", "x,c\n1,a\n2,b\n3,\n");
    UploadStore::Options o;
    o.dir = root_ + "/uploads";
    o.max_bytes = 100;
    uploads_ = *UploadStore::Create(o);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string root_;
  std::unique_ptr<UploadStore> uploads_;
};

TEST_F(DataSourceTest, EverySourceLoads) {
  DataSource source(root_ + "/data", uploads_.get());
  v1::Dataset d;
  d.set_path("d.csv");
  absl::StatusOr<Table> t = source.Load(d);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_rows(), 3);
  EXPECT_EQ(t->column(0).type(), ColumnType::kNumeric);

  // Forced types win over the dataset's overrides.
  (*d.mutable_column_types())["x"] = v1::COLUMN_TYPE_NUMERIC;
  t = source.Load(d, {{"x", ColumnType::kCategorical}});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->column(0).type(), ColumnType::kCategorical);

  d.Clear();
  d.set_csv("x\n1\n2\n");
  (*d.mutable_column_types())["x"] = v1::COLUMN_TYPE_CATEGORICAL;
  t = source.Load(d);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->column(0).type(), ColumnType::kCategorical);

  absl::StatusOr<std::unique_ptr<UploadStore::Writer>> w = uploads_->Begin();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("x,y\n1,").ok());
  ASSERT_TRUE((*w)->Append("2\n").ok());
  ASSERT_TRUE((*w)->Finish().ok());
  d.Clear();
  d.set_upload_id((*w)->id());
  t = source.Load(d);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_rows(), 1);
  EXPECT_EQ(t->column(1).values()[0], 2.0);
}

TEST_F(DataSourceTest, EmptyAndMissingSources) {
  DataSource source("", uploads_.get());
  v1::Dataset d;
  EXPECT_EQ(source.Check(d).code(), absl::StatusCode::kInvalidArgument);
  d.mutable_rows()->add_columns("x");
  EXPECT_EQ(source.Check(d).message(), "data: no rows");
  d.set_csv("");
  EXPECT_EQ(source.Check(d).code(), absl::StatusCode::kInvalidArgument);
  d.set_csv("x,y\n");
  EXPECT_EQ(source.Load(d).status().message(), "data: no rows");
  d.set_path("a.csv");
  EXPECT_EQ(source.Check(d).code(), absl::StatusCode::kFailedPrecondition);
  d.set_upload_id("../../etc/passwd");
  EXPECT_EQ(source.Check(d).code(), absl::StatusCode::kInvalidArgument);
  d.set_upload_id(std::string(32, 'a'));
  EXPECT_EQ(source.Check(d).code(), absl::StatusCode::kNotFound);
}

TEST_F(DataSourceTest, UploadLimitAndAbort) {
  absl::StatusOr<std::unique_ptr<UploadStore::Writer>> w = uploads_->Begin();
  ASSERT_TRUE(w.ok());
  const std::string id = (*w)->id();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_TRUE(std::filesystem::exists(root_ + "/uploads/" + id + ".csv.part"));
  ASSERT_TRUE((*w)->Append(std::string(60, 'x')).ok());
  EXPECT_EQ((*w)->Append(std::string(41, 'x')).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/uploads/" + id + ".csv.part"));
  EXPECT_EQ(uploads_->PathOf(id).status().code(), absl::StatusCode::kNotFound);

  // Abandoned uploads leave nothing behind.
  std::string other;
  {
    absl::StatusOr<std::unique_ptr<UploadStore::Writer>> v = uploads_->Begin();
    ASSERT_TRUE(v.ok());
    other = (*v)->id();
    ASSERT_TRUE((*v)->Append("abc").ok());
  }
  EXPECT_NE(other, id);
  EXPECT_TRUE(std::filesystem::is_empty(root_ + "/uploads"));

  absl::StatusOr<std::unique_ptr<UploadStore::Writer>> e = uploads_->Begin();
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->Finish().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DataSourceTest, SweepDeletesOldUploads) {
  const std::string old_path =
      root_ + "/uploads/" + std::string(32, 'b') + ".csv";
  const std::string new_path =
      root_ + "/uploads/" + std::string(32, 'c') + ".csv";
  WriteFile(old_path, "x\n1\n");
  WriteFile(new_path, "x\n1\n");
  const struct timeval old_time[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimes(old_path.c_str(), old_time), 0);
  EXPECT_EQ(uploads_->Sweep(absl::Now()), 1);
  EXPECT_FALSE(std::filesystem::exists(old_path));
  EXPECT_TRUE(uploads_->PathOf(std::string(32, 'c')).ok());
}

}  // namespace
}  // namespace modelserver::server
