// ReadFile on what may be found where a file belongs: a FIFO must not block,
// a device must not be read forever, a directory is refused (found by
// tests/e2e/bad_input_catalogue_test.py: a FIFO named model.msm hung the
// registry's re-scan, and with it every Train).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "core/artifact/model_store.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

class ReadFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("read_file_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

void ExpectNotARegularFile(const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> bytes = ReadFile(path);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_FALSE(bytes.ok()) << path;
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(bytes.status().message(),
                                "'" + path + "' is not a regular file"))
      << bytes.status();
}

TEST_F(ReadFileTest, FifoIsRefusedWithoutBlocking) {
  const std::string fifo = (dir_ / "model.msm").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ExpectNotARegularFile(fifo);
}

// /dev/null rather than /dev/zero, so that a regression fails here instead of
// reading forever.
TEST_F(ReadFileTest, DevicesAndDirectoriesAreRefused) {
  ExpectNotARegularFile("/dev/null");
  ExpectNotARegularFile(dir_.string());
}

TEST_F(ReadFileTest, RegularFilesStillRead) {
  const std::string path = (dir_ / "labels").string();
  std::ofstream(path) << "stable=1\n";
  absl::StatusOr<std::string> bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, "stable=1\n");
  EXPECT_EQ(ReadFile((dir_ / "absent").string()).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace modelserver
