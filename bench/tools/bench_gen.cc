// bench_gen: writes a seeded synthetic data set as two CSV files (train and
// test) for the comparison with scikit-learn (bench/compare.py).
//
//   bench_gen --task regression|classification --rows N --cols D --seed S
//             --test-fraction F --train FILE --test FILE
//
// Features x_j ~ N(0, 1), written with the shortest float text (about 9
// characters each). A tenth of the columns get a random scale and offset so
// that scaling matters.
//   regression:      y = x.w + 0.5 sin(2 x_0) + 0.5 x_1 x_2 + N(0, 0.5^2)
//   classification:  3 classes "c0", "c1", "c2": argmax of x.W_k plus a
//                    nonlinear term plus Gumbel noise (about 10% label noise)
// Each row goes to the test file with probability F (seeded).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/util/rng.h"

namespace {

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "bench_gen: %s\nusage: bench_gen --task regression|"
               "classification --rows N --cols D --seed S --test-fraction F "
               "--train FILE --test FILE\n",
               why);
  std::exit(2);
}

void Append(std::string* out, float v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) Usage("float formatting failed");
  out->append(buf, end);
}

}  // namespace

int main(int argc, char** argv) {
  std::string task, train_path, test_path;
  int64_t rows = 0;
  int cols = 0;
  uint64_t seed = 1;
  double test_fraction = 0.2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* v = argv[i + 1];
    if (flag == "--task") {
      task = v;
    } else if (flag == "--rows") {
      rows = std::atoll(v);
    } else if (flag == "--cols") {
      cols = std::atoi(v);
    } else if (flag == "--seed") {
      seed = std::strtoull(v, nullptr, 10);
    } else if (flag == "--test-fraction") {
      test_fraction = std::atof(v);
    } else if (flag == "--train") {
      train_path = v;
    } else if (flag == "--test") {
      test_path = v;
    } else {
      Usage(("unknown flag " + flag).c_str());
    }
  }
  const bool classification = task == "classification";
  if (!classification && task != "regression") Usage("bad --task");
  if (rows < 1 || cols < 3) Usage("need --rows >= 1 and --cols >= 3");
  if (train_path.empty() || test_path.empty()) Usage("need --train and --test");

  modelserver::Rng rng(seed);
  const int k = classification ? 3 : 1;
  std::vector<double> w(static_cast<size_t>(cols) * k);
  for (double& v : w) v = rng.Normal() / std::sqrt(cols / 4.0);
  std::vector<double> scale(cols, 1.0), offset(cols, 0.0);
  for (int j = 0; j < cols; j += 10) {
    scale[j] = std::exp(3.0 * rng.Uniform());
    offset[j] = 100.0 * rng.Normal();
  }

  std::FILE* files[2] = {std::fopen(train_path.c_str(), "w"),
                         std::fopen(test_path.c_str(), "w")};
  if (files[0] == nullptr || files[1] == nullptr) Usage("cannot open output");
  std::string header;
  for (int j = 0; j < cols; ++j) {
    header.push_back('x');
    header.append(std::to_string(j));
    header.push_back(',');
  }
  header += "y\n";
  for (std::FILE* f : files) std::fputs(header.c_str(), f);

  std::string buf[2];
  std::vector<float> x(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int j = 0; j < cols; ++j) x[j] = static_cast<float>(rng.Normal());
    const int which = rng.Uniform() < test_fraction ? 1 : 0;
    std::string& out = buf[which];
    for (int j = 0; j < cols; ++j) {
      Append(&out, static_cast<float>(x[j] * scale[j] + offset[j]));
      out.push_back(',');
    }
    const double nonlinear = 0.5 * std::sin(2.0 * x[0]) + 0.5 * x[1] * x[2];
    if (!classification) {
      double y = nonlinear + 0.5 * rng.Normal();
      for (int j = 0; j < cols; ++j) y += w[j] * x[j];
      Append(&out, static_cast<float>(y));
    } else {
      int best = 0;
      double best_score = -1e300;
      for (int c = 0; c < k; ++c) {
        double s = (c == 0 ? nonlinear : 0.0) -
                   0.3 * std::log(-std::log(rng.Uniform() + 1e-300));
        for (int j = 0; j < cols; ++j) s += w[c * cols + j] * x[j];
        if (s > best_score) best_score = s, best = c;
      }
      out.push_back('c');
      out.push_back(static_cast<char>('0' + best));
    }
    out.push_back('\n');
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), files[which]);
      out.clear();
    }
  }
  for (int i = 0; i < 2; ++i) {
    std::fwrite(buf[i].data(), 1, buf[i].size(), files[i]);
    if (std::fclose(files[i]) != 0) Usage("write failed");
  }
  return 0;
}
