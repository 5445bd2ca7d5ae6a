#include "core/data/csv_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/data/datetime.h"
#include "core/util/status_macros.h"
#include "fast_float/fast_float.h"

namespace modelserver {
namespace {

constexpr size_t kDefaultChunkBytes = size_t{1} << 20;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Longest value text quoted in an error message.
constexpr size_t kSnippetBytes = 40;
// Rows read before the total row count is estimated from the input size.
constexpr int64_t kRowsBeforeEstimate = 4096;

// ---------------------------------------------------------------------------
// Text helpers.

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

absl::string_view TrimBlanks(absl::string_view s) {
  const char* b = s.data();
  const char* e = b + s.size();
  while (b < e && IsBlank(*b)) ++b;
  while (e > b && IsBlank(e[-1])) --e;
  return absl::string_view(b, static_cast<size_t>(e - b));
}

// Offset of the first byte of `s` that does not start a valid UTF-8 sequence
// (overlong forms, surrogates and code points above U+10FFFF are invalid), or
// npos if `s` is valid UTF-8.
size_t FindInvalidUtf8(absl::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char d = p[i + k];
      if ((d & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return i;
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return i;
    i += len;
  }
  return absl::string_view::npos;
}

// `text` quoted for an error message: at most kSnippetBytes bytes (cut at a
// character boundary, then "..."), control bytes and invalid UTF-8 escaped,
// so that the message is always valid UTF-8.
std::string Snippet(absl::string_view text) {
  bool truncated = false;
  if (text.size() > kSnippetBytes) {
    size_t n = kSnippetBytes;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    text = text.substr(0, n);
    truncated = true;
  }
  std::string out = "'";
  if (FindInvalidUtf8(text) != absl::string_view::npos) {
    out += absl::CHexEscape(text);
  } else {
    for (char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {
        out += absl::CHexEscape(absl::string_view(&c, 1));
      } else {
        out += c;
      }
    }
  }
  if (truncated) out += "...";
  out += "'";
  return out;
}

// Up to `max` bytes from `p`, stopping before a line break.
absl::string_view LineStart(const char* p, const char* end, size_t max) {
  const char* e = p;
  while (e < end && static_cast<size_t>(e - p) < max && *e != '\n' &&
         *e != '\r') {
    ++e;
  }
  return absl::string_view(p, static_cast<size_t>(e - p));
}

// Exact powers of ten as doubles (10^22 is the largest exact one).
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

inline bool IsDigit(char c) { return static_cast<unsigned>(c - '0') < 10; }

// Fast path for the common short decimal `[-+]digits[.digits][e[-+]digits]`
// with at most 19 digits whose mantissa fits in 53 bits and whose decimal
// exponent is within +-22: then m * 10^e (or m / 10^-e) is one correctly
// rounded operation (Clinger), bit-identical to fast_float. Returns false
// when the text is anything else; the caller then asks fast_float, which
// decides validity.
inline bool ParseSimpleDecimal(const char* p, const char* end, double* value) {
  bool negative = false;
  if (*p == '-' || *p == '+') {
    negative = *p == '-';
    ++p;
  }
  uint64_t mantissa = 0;
  const char* const int_start = p;
  while (p < end && IsDigit(*p)) {
    mantissa = mantissa * 10 + static_cast<uint64_t>(*p - '0');
    ++p;
  }
  int64_t digits = p - int_start;
  int64_t exponent = 0;
  if (p < end && *p == '.') {
    ++p;
    const char* const frac_start = p;
    while (p < end && IsDigit(*p)) {
      mantissa = mantissa * 10 + static_cast<uint64_t>(*p - '0');
      ++p;
    }
    exponent = -(p - frac_start);
    digits += p - frac_start;
  }
  if (digits == 0 || digits > 19) return false;
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool exp_negative = false;
    if (p < end && (*p == '-' || *p == '+')) {
      exp_negative = *p == '-';
      ++p;
    }
    const char* const exp_start = p;
    int64_t e = 0;
    while (p < end && IsDigit(*p) && p - exp_start < 4) {
      e = e * 10 + (*p - '0');
      ++p;
    }
    if (p == exp_start) return false;
    exponent += exp_negative ? -e : e;
  }
  if (p != end || mantissa > (uint64_t{1} << 53) || exponent < -22 ||
      exponent > 22) {
    return false;
  }
  double v = static_cast<double>(mantissa);
  v = exponent < 0 ? v / kPow10[-exponent] : v * kPow10[exponent];
  *value = negative ? -v : v;
  return true;
}

// Parses all of `s` (already trimmed) as a number: fast_float's general
// format (decimal and scientific notation, inf/infinity/nan in any case),
// plus an optional leading '+'. Non-finite results are returned as such.
inline bool ParseNumber(absl::string_view s, double* value) {
  const char* first = s.data();
  const char* last = first + s.size();
  if (first == last) return false;
  if (ABSL_PREDICT_TRUE(ParseSimpleDecimal(first, last, value))) return true;
  if (*first == '+') {
    ++first;
    if (first == last || *first == '-' || *first == '+') return false;
  }
  const fast_float::from_chars_result r =
      fast_float::from_chars(first, last, *value);
  return r.ec == std::errc() && r.ptr == last;
}

// Missing-value markers, matched against trimmed field texts. Most fields
// are rejected by their first byte or their length.
class MissingMatcher {
 public:
  explicit MissingMatcher(const std::vector<std::string>& markers) {
    for (const std::string& m : markers) {
      const absl::string_view t = TrimBlanks(m);
      if (t.empty()) {
        empty_ = true;
        continue;
      }
      markers_.emplace_back(t);
      first_[static_cast<unsigned char>(t[0])] = true;
      max_size_ = std::max(max_size_, t.size());
    }
  }

  bool Matches(absl::string_view trimmed) const {
    if (trimmed.empty()) return empty_;
    if (trimmed.size() > max_size_ ||
        !first_[static_cast<unsigned char>(trimmed[0])]) {
      return false;
    }
    for (const std::string& m : markers_) {
      if (m == trimmed) return true;
    }
    return false;
  }

 private:
  bool empty_ = false;
  bool first_[256] = {};
  size_t max_size_ = 0;
  std::vector<std::string> markers_;
};

// Categorical dictionary: level text -> code in order of first appearance.
// The hash set stores codes only; hashing and comparison look the text up in
// levels_, so every level is stored once. Not movable (the functors point at
// levels_): hold it by unique_ptr.
class Dictionary {
 public:
  Dictionary() : set_(0, Hash{&levels_}, Eq{&levels_}) {}
  Dictionary(const Dictionary&) = delete;
  Dictionary& operator=(const Dictionary&) = delete;

  // Code of `text`, or -1.
  int32_t Find(absl::string_view text) const {
    auto it = set_.find(text);
    return it == set_.end() ? -1 : *it;
  }
  // REQUIRES: Find(text) == -1 and size() < INT32_MAX.
  int32_t Insert(absl::string_view text) {
    const auto code = static_cast<int32_t>(levels_.size());
    levels_.emplace_back(text);
    set_.insert(code);
    return code;
  }
  size_t size() const { return levels_.size(); }
  std::vector<std::string> TakeLevels() {
    set_.clear();
    return std::move(levels_);
  }

 private:
  struct Hash {
    using is_transparent = void;
    const std::vector<std::string>* levels;
    size_t operator()(absl::string_view s) const {
      return absl::Hash<absl::string_view>{}(s);
    }
    size_t operator()(int32_t code) const {
      return (*this)(absl::string_view((*levels)[code]));
    }
  };
  struct Eq {
    using is_transparent = void;
    const std::vector<std::string>* levels;
    absl::string_view Text(int32_t code) const { return (*levels)[code]; }
    absl::string_view Text(absl::string_view s) const { return s; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return Text(a) == Text(b);
    }
  };

  std::vector<std::string> levels_;
  absl::flat_hash_set<int32_t, Hash, Eq> set_;
};

// Finds the first byte of a set (at most four distinct bytes, NUL always
// included) from `p` on. REQUIRES: a NUL at or after `p`, followed by at least
// kScanPadding readable bytes.
constexpr size_t kScanPadding = 16;

class ByteFinder {
 public:
  ByteFinder(char a, char b, char c) {
#if defined(__SSE2__)
    a_ = _mm_set1_epi8(a);
    b_ = _mm_set1_epi8(b);
    c_ = _mm_set1_epi8(c);
#else
    stop_[static_cast<unsigned char>(a)] = true;
    stop_[static_cast<unsigned char>(b)] = true;
    stop_[static_cast<unsigned char>(c)] = true;
    stop_[0] = true;
#endif
  }

  char* Find(char* p) const {
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    for (;;) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i m = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(x, a_), _mm_cmpeq_epi8(x, b_)),
          _mm_or_si128(_mm_cmpeq_epi8(x, c_), _mm_cmpeq_epi8(x, zero)));
      const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(m));
      if (mask != 0) return p + __builtin_ctz(mask);
      p += 16;
    }
#else
    while (!stop_[static_cast<unsigned char>(*p)]) ++p;
    return p;
#endif
  }

 private:
#if defined(__SSE2__)
  __m128i a_, b_, c_;
#else
  bool stop_[256] = {};
#endif
};

// ---------------------------------------------------------------------------
// Input sources.

class Source {
 public:
  virtual ~Source() = default;
  // Reads up to `n` (> 0) bytes into `dst`; *got = 0 only at the end of input.
  virtual absl::Status Read(char* dst, size_t n, size_t* got) = 0;
  // Restarts at the first byte. `why` explains the need in an error message.
  virtual absl::Status Rewind(absl::string_view why) = 0;
  // Total bytes if known, else -1.
  virtual int64_t SizeHint() const = 0;
};

class StringSource : public Source {
 public:
  explicit StringSource(absl::string_view text) : text_(text) {}
  absl::Status Read(char* dst, size_t n, size_t* got) override {
    n = std::min(n, text_.size() - pos_);
    if (n > 0) std::memcpy(dst, text_.data() + pos_, n);
    pos_ += n;
    *got = n;
    return absl::OkStatus();
  }
  absl::Status Rewind(absl::string_view) override {
    pos_ = 0;
    return absl::OkStatus();
  }
  int64_t SizeHint() const override {
    return static_cast<int64_t>(text_.size());
  }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
};

class FileSource : public Source {
 public:
  static absl::StatusOr<std::unique_ptr<FileSource>> Open(
      const std::string& path) {
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("cannot open CSV file '", path, "'"));
    }
    auto source = std::unique_ptr<FileSource>(new FileSource(path, fd));
    struct stat st;
    if (::fstat(fd, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", path, "' is a directory, not a CSV file"));
      }
      if (S_ISREG(st.st_mode)) source->size_ = st.st_size;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return source;
  }

  ~FileSource() override { ::close(fd_); }

  absl::Status Read(char* dst, size_t n, size_t* got) override {
    size_t total = 0;
    while (total < n) {
      const ssize_t r = ::read(fd_, dst + total, n - total);
      if (r < 0) {
        if (errno == EINTR) continue;
        return absl::ErrnoToStatus(
            errno, absl::StrCat("error reading CSV file '", path_, "'"));
      }
      if (r == 0) break;
      total += static_cast<size_t>(r);
    }
    *got = total;
    return absl::OkStatus();
  }

  absl::Status Rewind(absl::string_view why) override {
    if (::lseek(fd_, 0, SEEK_SET) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot re-read CSV file '", path_, "' (", std::strerror(errno),
          "), which is needed because ", why));
    }
    return absl::OkStatus();
  }

  int64_t SizeHint() const override { return size_; }

 private:
  FileSource(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_;
  int64_t size_ = -1;
};

// ---------------------------------------------------------------------------
// The reader.

// What a column does with its fields in the current pass.
enum class Mode : uint8_t {
  kUnknown,      // only missing values so far; values holds NaNs
  kNumeric,      // values
  kDate,         // values (seconds since the epoch)
  kCategorical,  // codes + dict
  kDeferred,     // pass 1: found categorical after values were stored as
                 // numbers or dates; its values are read in pass 2
  kSkip,         // pass 2: already complete
};

struct ColumnBuilder {
  std::string name;
  Mode mode = Mode::kUnknown;
  bool forced = false;
  std::vector<double> values;
  std::vector<int32_t> codes;
  std::unique_ptr<Dictionary> dict;
  // First non-finite number while the type was inferred numeric: an error if
  // the column ends numeric.
  int64_t nonfinite_line = 0;
  std::string nonfinite_text;
  // kDeferred: the line of the value that made the column categorical.
  int64_t deferred_line = 0;
  // kSkip: the mode the column ended pass 1 with.
  Mode final_mode = Mode::kUnknown;
};

// One field of the current record: a view into the reader's buffer.
struct Field {
  char* data;
  size_t size;
  int64_t line_offset;  // line breaks in the record before this field
  bool escaped;         // contains doubled quotes still to be collapsed
};

class Reader {
 public:
  Reader(const CsvOptions& options, size_t chunk_bytes, Source* source,
         std::string context)
      : options_(options),
        chunk_bytes_(std::max<size_t>(chunk_bytes, 1)),
        source_(source),
        context_(std::move(context)),
        missing_(options.missing_values),
        unquoted_stops_(options.delimiter, '\n', '\r'),
        quoted_stops_('"', '\n', '\n') {}

  absl::StatusOr<Table> Read(int* passes);

 private:
  enum class Step { kRecord, kBlank, kNeedMore, kEnd };

  absl::Status ValidateOptions() const;
  absl::Status RunPass(bool first_pass);
  absl::Status Refill();
  absl::Status ParseRecord(Step* step);
  absl::Status ProcessHeader(bool first_pass);
  absl::Status ProcessRow(bool first_pass);
  absl::Status CheckTypes();
  Table BuildTable();

  // Column handlers off the fast path.
  absl::Status InferFirstValue(size_t col, const Field& f,
                               absl::string_view trimmed);
  absl::Status OnNonFinite(size_t col, const Field& f,
                           absl::string_view trimmed);
  absl::Status OnMismatch(size_t col, const Field& f,
                          absl::string_view trimmed);
  absl::Status AddNewLevel(size_t col, const Field& f, absl::string_view text);
  void EstimateRows();

  // Error construction.
  absl::Status Error(absl::StatusCode code, absl::string_view message) const {
    return absl::Status(code, absl::StrCat(context_, message));
  }
  std::string ColumnLabel(size_t col) const {
    if (col < cols_.size()) {
      return absl::StrCat("column '", cols_[col].name, "'");
    }
    return absl::StrCat("column ", col + 1);
  }
  std::string Where(int64_t line, size_t col) const {
    return absl::StrCat("line ", line, ", ", ColumnLabel(col), ": ");
  }
  int64_t FieldLine(const Field& f) const {
    return record_line_ + f.line_offset;
  }
  ABSL_ATTRIBUTE_NOINLINE absl::Status FieldTooLong(int64_t line, size_t col,
                                                    bool quoted) const;
  ABSL_ATTRIBUTE_NOINLINE absl::Status TooManyHeaderColumns() const;
  ABSL_ATTRIBUTE_NOINLINE absl::Status BareCr(int64_t line) const;

  const CsvOptions& options_;
  const size_t chunk_bytes_;
  Source* const source_;
  const std::string context_;
  const MissingMatcher missing_;
  size_t max_field_bytes_ = 0;  // SIZE_MAX = unlimited
  // Ends of unquoted fields (delimiter, LF, CR, NUL) and the bytes that
  // matter inside quoted ones (quote, LF, NUL).
  const ByteFinder unquoted_stops_;
  const ByteFinder quoted_stops_;

  // Buffer: bytes [pos_, len_) are unparsed; buf_[len_] is a NUL sentinel.
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t len_ = 0;
  size_t pos_ = 0;
  int64_t buf_offset_ = 0;  // input offset of buf_[0]
  bool eof_ = false;

  int64_t line_ = 1;         // line of the next unparsed byte
  int64_t record_line_ = 1;  // line where the current record starts
  std::vector<Field> fields_;
  size_t num_fields_ = 0;
  bool have_header_ = false;

  std::vector<ColumnBuilder> cols_;
  int64_t rows_ = 0;
  int64_t pass1_rows_ = 0;
  int64_t data_offset_ = 0;  // input offset of the first data record
  bool estimated_ = false;
  bool any_deferred_ = false;
};

absl::Status Reader::ValidateOptions() const {
  const char d = options_.delimiter;
  if (d == '"' || d == '\n' || d == '\r' || d == '\0') {
    return absl::InvalidArgumentError(absl::StrCat(
        "CSV delimiter ", Snippet(absl::string_view(&d, 1)),
        " is not allowed (it must not be a quote, CR, LF or NUL)"));
  }
  if (options_.max_rows < 0 || options_.max_columns < 0 ||
      options_.max_field_bytes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("CSV limits must be >= 0 (0 = unlimited); got max_rows=",
                     options_.max_rows, ", max_columns=", options_.max_columns,
                     ", max_field_bytes=", options_.max_field_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<Table> Reader::Read(int* passes) {
  RETURN_IF_ERROR(ValidateOptions());
  max_field_bytes_ = options_.max_field_bytes == 0
                         ? std::numeric_limits<size_t>::max()
                         : static_cast<size_t>(options_.max_field_bytes);

  RETURN_IF_ERROR(RunPass(/*first_pass=*/true));
  RETURN_IF_ERROR(CheckTypes());
  int n = 1;
  if (any_deferred_) {
    // Re-read to get the exact text of the columns that turned categorical.
    const ColumnBuilder* first = nullptr;
    for (const ColumnBuilder& c : cols_) {
      if (c.mode == Mode::kDeferred &&
          (first == nullptr || c.deferred_line < first->deferred_line)) {
        first = &c;
      }
    }
    RETURN_IF_ERROR(source_->Rewind(absl::StrCat(
        "column '", first->name, "' is categorical (line ",
        first->deferred_line,
        ") after numbers or dates; set its type in column_types to read the "
        "input once")));
    pass1_rows_ = rows_;
    RETURN_IF_ERROR(RunPass(/*first_pass=*/false));
    if (rows_ != pass1_rows_) {
      return Error(absl::StatusCode::kAborted,
                   absl::StrCat("the input changed while it was read (",
                                pass1_rows_, " rows, then ", rows_, ")"));
    }
    n = 2;
  }
  if (passes != nullptr) *passes = n;
  return BuildTable();
}

absl::Status Reader::RunPass(bool first_pass) {
  len_ = pos_ = 0;
  buf_offset_ = 0;
  eof_ = false;
  line_ = record_line_ = 1;
  have_header_ = false;
  rows_ = 0;
  num_fields_ = 0;
  if (!first_pass) {
    for (ColumnBuilder& c : cols_) {
      if (c.mode == Mode::kDeferred) {
        c.mode = Mode::kCategorical;
        c.values = {};
        c.codes.clear();
        c.codes.reserve(static_cast<size_t>(pass1_rows_));
        c.dict = std::make_unique<Dictionary>();
      } else {
        c.final_mode = c.mode;
        c.mode = Mode::kSkip;
      }
    }
  }
  // A leading UTF-8 byte order mark is skipped.
  while (len_ < 3 && !eof_) RETURN_IF_ERROR(Refill());
  if (len_ >= 3 && std::memcmp(buf_.get(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;

  for (;;) {
    Step step;
    RETURN_IF_ERROR(ParseRecord(&step));
    switch (step) {
      case Step::kRecord:
        if (ABSL_PREDICT_FALSE(!have_header_)) {
          RETURN_IF_ERROR(ProcessHeader(first_pass));
        } else {
          RETURN_IF_ERROR(ProcessRow(first_pass));
        }
        break;
      case Step::kBlank:
        break;
      case Step::kNeedMore:
        RETURN_IF_ERROR(Refill());
        break;
      case Step::kEnd:
        if (!have_header_) {
          return Error(
              absl::StatusCode::kInvalidArgument,
              "no header row (the input is empty or has only empty lines)");
        }
        return absl::OkStatus();
    }
  }
}

absl::Status Reader::Refill() {
  const size_t tail = len_ - pos_;
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, tail);
    buf_offset_ += static_cast<int64_t>(pos_);
    pos_ = 0;
    len_ = tail;
  }
  if (cap_ == 0 || tail > cap_ / 2) {
    // The unparsed record fills half the buffer: grow it geometrically so
    // that a long record is re-scanned O(log) times.
    const size_t new_cap = std::max(cap_ * 2, chunk_bytes_);
    // +1 for the sentinel; the padding keeps ByteFinder's reads in bounds.
    auto bigger = std::make_unique<char[]>(new_cap + 1 + kScanPadding);
    if (tail > 0) std::memcpy(bigger.get(), buf_.get(), tail);
    buf_ = std::move(bigger);
    cap_ = new_cap;
  }
  size_t got = 0;
  RETURN_IF_ERROR(source_->Read(buf_.get() + len_, cap_ - len_, &got));
  if (got == 0) eof_ = true;
  len_ += got;
  buf_[len_] = '\0';
  return absl::OkStatus();
}

absl::Status Reader::FieldTooLong(int64_t line, size_t col, bool quoted) const {
  return Error(
      absl::StatusCode::kResourceExhausted,
      absl::StrCat(Where(line, col), "field is longer than max_field_bytes=",
                   options_.max_field_bytes, " bytes",
                   quoted ? " (is a closing quote missing?)" : ""));
}

absl::Status Reader::TooManyHeaderColumns() const {
  return Error(
      absl::StatusCode::kResourceExhausted,
      absl::StrCat("line ", line_, ": the header has more than max_columns=",
                   options_.max_columns, " columns"));
}

absl::Status Reader::BareCr(int64_t line) const {
  return Error(absl::StatusCode::kInvalidArgument,
               absl::StrCat("line ", line,
                            ": carriage return not followed by a line feed "
                            "(line endings must be LF or CRLF)"));
}

absl::Status Reader::ParseRecord(Step* step) {
  char* const base = buf_.get();
  char* p = base + pos_;
  char* const end = base + len_;
  if (p == end) {
    *step = eof_ ? Step::kEnd : Step::kNeedMore;
    return absl::OkStatus();
  }
  // Completely empty lines are skipped.
  if (*p == '\n') {
    ++pos_;
    ++line_;
    *step = Step::kBlank;
    return absl::OkStatus();
  }
  if (*p == '\r') {
    if (p + 1 == end && !eof_) {
      *step = Step::kNeedMore;
      return absl::OkStatus();
    }
    if (p + 1 == end || p[1] != '\n') return BareCr(line_);
    pos_ += 2;
    ++line_;
    *step = Step::kBlank;
    return absl::OkStatus();
  }

  const char delim = options_.delimiter;
  num_fields_ = 0;
  int64_t nl = 0;  // line breaks seen in this record
  for (;;) {
    Field f;
    f.line_offset = nl;
    f.escaped = false;
    if (*p == '"') {
      char* const start = ++p;
      for (;;) {
        p = quoted_stops_.Find(p);
        if (*p == '"') {
          // Safe at the end of the data: the sentinel is not a quote.
          if (p[1] == '"') {
            f.escaped = true;
            p += 2;
            continue;
          }
          break;
        }
        if (*p == '\n') {
          ++nl;
          ++p;
          continue;
        }
        break;  // NUL: a real one or the end sentinel
      }
      // A quote as the last byte of the data may be the first of a pair.
      const bool closed = *p == '"' && (p + 1 != end || eof_);
      if (!closed) {
        // Length first: a read in smaller chunks finds a field too long
        // before it reaches a NUL beyond the limit (found by
        // fuzz/csv_fuzzer.cc).
        if (static_cast<size_t>(p - start) > max_field_bytes_) {
          return FieldTooLong(line_ + f.line_offset, num_fields_, true);
        }
        if (*p == '\0' && p != end) {
          return Error(absl::StatusCode::kInvalidArgument,
                       absl::StrCat(Where(line_ + nl, num_fields_),
                                    "NUL byte in a quoted field (is this a "
                                    "binary file?)"));
        }
        if (!eof_) {
          *step = Step::kNeedMore;
          return absl::OkStatus();
        }
        return Error(absl::StatusCode::kInvalidArgument,
                     absl::StrCat(Where(line_ + f.line_offset, num_fields_),
                                  "unterminated quoted field starting here"));
      }
      f.data = start;
      f.size = static_cast<size_t>(p - start);
      // Before anything after the closing quote: a read in smaller chunks
      // finds the field too long before it sees that quote, so the answer
      // and its hint must not depend on it (found by fuzz/csv_fuzzer.cc).
      if (f.size > max_field_bytes_) {
        return FieldTooLong(line_ + f.line_offset, num_fields_, true);
      }
      ++p;  // the closing quote
      const char c = *p;
      if (c != delim && c != '\n' && c != '\r' && p != end) {
        // The message quotes up to 10 bytes of the line: wait for them (or
        // the end of the input), so that it does not depend on where a
        // chunk happened to end (found by fuzz/csv_fuzzer.cc).
        const absl::string_view excerpt = LineStart(p, end, 10);
        if (excerpt.size() < 10 && p + excerpt.size() == end && !eof_) {
          *step = Step::kNeedMore;
          return absl::OkStatus();
        }
        return Error(
            absl::StatusCode::kInvalidArgument,
            absl::StrCat(Where(line_ + nl, num_fields_),
                         "unexpected text after the closing quote: ",
                         Snippet(excerpt),
                         " (a quote inside a quoted field must be doubled)"));
      }
    } else {
      char* const start = p;
      p = unquoted_stops_.Find(p);
      f.data = start;
      f.size = static_cast<size_t>(p - start);
      if (ABSL_PREDICT_FALSE(*p == '\0')) {
        // Length first, as for quoted fields.
        if (f.size > max_field_bytes_) {
          return FieldTooLong(line_ + nl, num_fields_, false);
        }
        if (p != end) {
          return Error(absl::StatusCode::kInvalidArgument,
                       absl::StrCat(Where(line_ + nl, num_fields_),
                                    "NUL byte in a field (is this a binary "
                                    "file?)"));
        }
        if (!eof_) {
          *step = Step::kNeedMore;
          return absl::OkStatus();
        }
      }
    }
    // The field is complete; p is at a delimiter, CR, LF or the end of input.
    if (ABSL_PREDICT_FALSE(f.size > max_field_bytes_)) {
      return FieldTooLong(line_ + f.line_offset, num_fields_, false);
    }
    if (ABSL_PREDICT_TRUE(num_fields_ < fields_.size())) {
      fields_[num_fields_] = f;
    } else if (!have_header_) {
      if (options_.max_columns > 0 &&
          fields_.size() >= static_cast<size_t>(options_.max_columns)) {
        return TooManyHeaderColumns();
      }
      fields_.push_back(f);
    }
    ++num_fields_;
    const char c = *p;
    if (c == delim) {
      ++p;
      continue;
    }
    if (c == '\n') {
      ++p;
      ++nl;
      break;
    }
    if (c == '\r') {
      if (p + 1 == end) {
        if (!eof_) {
          *step = Step::kNeedMore;
          return absl::OkStatus();
        }
        return BareCr(line_ + nl);
      }
      if (p[1] != '\n') return BareCr(line_ + nl);
      p += 2;
      ++nl;
      break;
    }
    // End of input (the sentinel); eof_ is set here.
    break;
  }
  record_line_ = line_;
  line_ += nl;
  pos_ = static_cast<size_t>(p - base);
  *step = Step::kRecord;
  return absl::OkStatus();
}

// Collapses the doubled quotes of an escaped field in place.
void Unescape(Field& f) {
  char* w = f.data;
  const char* r = f.data;
  const char* const e = f.data + f.size;
  while (r < e) {
    const char c = *r++;
    if (c == '"') ++r;  // the second quote of the pair
    *w++ = c;
  }
  f.size = static_cast<size_t>(w - f.data);
  f.escaped = false;
}

absl::Status Reader::ProcessHeader(bool first_pass) {
  have_header_ = true;
  if (!first_pass) {
    if (num_fields_ != cols_.size()) {
      return Error(absl::StatusCode::kAborted,
                   "the input changed while it was read (the header differs)");
    }
    data_offset_ = buf_offset_ + static_cast<int64_t>(pos_);
    return absl::OkStatus();
  }
  const size_t n = num_fields_;
  cols_.resize(n);
  absl::flat_hash_map<absl::string_view, size_t> seen;
  seen.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Field& f = fields_[i];
    if (f.escaped) Unescape(f);
    const absl::string_view name =
        TrimBlanks(absl::string_view(f.data, f.size));
    const int64_t line = record_line_ + f.line_offset;
    if (name.empty()) {
      return Error(absl::StatusCode::kInvalidArgument,
                   absl::StrCat("line ", line, ": column ", i + 1,
                                " of the header has an empty name"));
    }
    if (const size_t bad = FindInvalidUtf8(name);
        bad != absl::string_view::npos) {
      return Error(absl::StatusCode::kInvalidArgument,
                   absl::StrCat("line ", line, ": the name of column ", i + 1,
                                ", ", Snippet(name),
                                ", is not valid UTF-8 (byte ", bad + 1, ")"));
    }
    auto [it, inserted] = seen.try_emplace(name, i);
    if (!inserted) {
      return Error(
          absl::StatusCode::kInvalidArgument,
          absl::StrCat("line ", line, ": duplicate column name ", Snippet(name),
                       " (columns ", it->second + 1, " and ", i + 1, ")"));
    }
    ColumnBuilder& c = cols_[i];
    c.name = std::string(name);
    auto type = options_.column_types.find(c.name);
    if (type != options_.column_types.end()) {
      c.forced = true;
      switch (type->second) {
        case ColumnType::kNumeric:
          c.mode = Mode::kNumeric;
          break;
        case ColumnType::kDate:
          c.mode = Mode::kDate;
          break;
        case ColumnType::kCategorical:
          c.mode = Mode::kCategorical;
          c.dict = std::make_unique<Dictionary>();
          break;
      }
    }
  }
  fields_.resize(n);
  data_offset_ = buf_offset_ + static_cast<int64_t>(pos_);
  return absl::OkStatus();
}

void Reader::EstimateRows() {
  estimated_ = true;
  const int64_t total = source_->SizeHint();
  const int64_t done = buf_offset_ + static_cast<int64_t>(pos_) - data_offset_;
  if (total <= 0 || done <= 0) return;
  const double per_row = static_cast<double>(done) / rows_;
  double estimate = static_cast<double>(total - data_offset_) / per_row;
  estimate = estimate * 1.05 + 64;
  if (options_.max_rows > 0) {
    estimate = std::min(estimate, static_cast<double>(options_.max_rows));
  }
  const auto rows = static_cast<size_t>(estimate);
  for (ColumnBuilder& c : cols_) {
    if (c.mode == Mode::kCategorical) {
      c.codes.reserve(rows);
    } else if (c.mode != Mode::kDeferred) {
      c.values.reserve(rows);
    }
  }
}

absl::Status Reader::ProcessRow(bool first_pass) {
  const size_t n = cols_.size();
  if (ABSL_PREDICT_FALSE(num_fields_ != n)) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("line ", record_line_, ": expected ", n,
                              " fields, found ", num_fields_));
  }
  ++rows_;
  if (first_pass) {
    if (ABSL_PREDICT_FALSE(options_.max_rows > 0 &&
                           rows_ > options_.max_rows)) {
      return Error(absl::StatusCode::kResourceExhausted,
                   absl::StrCat("line ", record_line_, ": more than max_rows=",
                                options_.max_rows, " data rows"));
    }
    if (ABSL_PREDICT_FALSE(rows_ == kRowsBeforeEstimate && !estimated_)) {
      EstimateRows();
    }
  }
  for (size_t i = 0; i < n; ++i) {
    Field& f = fields_[i];
    ColumnBuilder& c = cols_[i];
    switch (c.mode) {
      case Mode::kNumeric: {
        if (ABSL_PREDICT_FALSE(f.escaped)) Unescape(f);
        const absl::string_view t =
            TrimBlanks(absl::string_view(f.data, f.size));
        double v;
        if (missing_.Matches(t)) {
          c.values.push_back(kNaN);
        } else if (ABSL_PREDICT_TRUE(ParseNumber(t, &v))) {
          if (ABSL_PREDICT_FALSE(!std::isfinite(v))) {
            RETURN_IF_ERROR(OnNonFinite(i, f, t));
          }
          c.values.push_back(v);
        } else {
          RETURN_IF_ERROR(OnMismatch(i, f, t));
        }
        break;
      }
      case Mode::kCategorical: {
        if (ABSL_PREDICT_FALSE(f.escaped)) Unescape(f);
        const absl::string_view text(f.data, f.size);
        if (missing_.Matches(TrimBlanks(text))) {
          c.codes.push_back(kMissingCode);
          break;
        }
        const int32_t code = c.dict->Find(text);
        if (code >= 0) {
          c.codes.push_back(code);
        } else {
          RETURN_IF_ERROR(AddNewLevel(i, f, text));
        }
        break;
      }
      case Mode::kDate: {
        if (ABSL_PREDICT_FALSE(f.escaped)) Unescape(f);
        const absl::string_view t =
            TrimBlanks(absl::string_view(f.data, f.size));
        if (missing_.Matches(t)) {
          c.values.push_back(kNaN);
        } else if (std::optional<double> s = ParseIsoDateTime(t)) {
          c.values.push_back(*s);
        } else {
          RETURN_IF_ERROR(OnMismatch(i, f, t));
        }
        break;
      }
      case Mode::kUnknown: {
        if (ABSL_PREDICT_FALSE(f.escaped)) Unescape(f);
        const absl::string_view t =
            TrimBlanks(absl::string_view(f.data, f.size));
        if (missing_.Matches(t)) {
          c.values.push_back(kNaN);
        } else {
          RETURN_IF_ERROR(InferFirstValue(i, f, t));
        }
        break;
      }
      case Mode::kDeferred:
      case Mode::kSkip:
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status Reader::InferFirstValue(size_t col, const Field& f,
                                     absl::string_view trimmed) {
  ColumnBuilder& c = cols_[col];
  double v;
  if (ParseNumber(trimmed, &v)) {
    c.mode = Mode::kNumeric;
    if (!std::isfinite(v)) RETURN_IF_ERROR(OnNonFinite(col, f, trimmed));
    c.values.push_back(v);
    return absl::OkStatus();
  }
  if (std::optional<double> s = ParseIsoDateTime(trimmed)) {
    c.mode = Mode::kDate;
    c.values.push_back(*s);
    return absl::OkStatus();
  }
  // Every earlier value was missing: no text was lost, no re-read needed.
  c.mode = Mode::kCategorical;
  c.codes.reserve(c.values.capacity());
  c.codes.assign(c.values.size(), kMissingCode);
  c.values = {};
  c.dict = std::make_unique<Dictionary>();
  return AddNewLevel(col, f, absl::string_view(f.data, f.size));
}

absl::Status Reader::OnNonFinite(size_t col, const Field& f,
                                 absl::string_view trimmed) {
  ColumnBuilder& c = cols_[col];
  if (c.forced) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat(Where(FieldLine(f), col), Snippet(trimmed),
                              " is not a finite number"));
  }
  // Inferred: an error only if the column stays numeric.
  if (c.nonfinite_line == 0) {
    c.nonfinite_line = FieldLine(f);
    c.nonfinite_text = std::string(trimmed.substr(0, kSnippetBytes + 4));
  }
  return absl::OkStatus();
}

absl::Status Reader::OnMismatch(size_t col, const Field& f,
                                absl::string_view trimmed) {
  ColumnBuilder& c = cols_[col];
  if (c.forced) {
    if (c.mode == Mode::kNumeric) {
      return Error(absl::StatusCode::kInvalidArgument,
                   absl::StrCat(Where(FieldLine(f), col), Snippet(trimmed),
                                " is not a number (the column's type is set "
                                "to numeric)"));
    }
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat(Where(FieldLine(f), col), Snippet(trimmed),
                              " is not an ISO-8601 date or date-time (the "
                              "column's type is set to date)"));
  }
  // Numbers or dates were stored as doubles; the exact text of those rows is
  // gone, so the column is read again in a second pass.
  c.mode = Mode::kDeferred;
  c.deferred_line = FieldLine(f);
  c.values = {};
  c.nonfinite_line = 0;
  any_deferred_ = true;
  return absl::OkStatus();
}

absl::Status Reader::AddNewLevel(size_t col, const Field& f,
                                 absl::string_view text) {
  ColumnBuilder& c = cols_[col];
  if (const size_t bad = FindInvalidUtf8(text);
      ABSL_PREDICT_FALSE(bad != absl::string_view::npos)) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat(Where(FieldLine(f), col), "value ", Snippet(text),
                              " is not valid UTF-8 (byte ", bad + 1, ")"));
  }
  if (ABSL_PREDICT_FALSE(
          c.dict->size() >=
          static_cast<size_t>(std::numeric_limits<int32_t>::max()))) {
    return Error(
        absl::StatusCode::kResourceExhausted,
        absl::StrCat(Where(FieldLine(f), col), "too many distinct values"));
  }
  c.codes.push_back(c.dict->Insert(text));
  return absl::OkStatus();
}

absl::Status Reader::CheckTypes() {
  for (size_t i = 0; i < cols_.size(); ++i) {
    const ColumnBuilder& c = cols_[i];
    if (c.mode == Mode::kNumeric && c.nonfinite_line > 0) {
      return Error(
          absl::StatusCode::kInvalidArgument,
          absl::StrCat(Where(c.nonfinite_line, i), Snippet(c.nonfinite_text),
                       " is not a finite number"));
    }
  }
  return absl::OkStatus();
}

template <typename T>
void ShrinkIfSlack(std::vector<T>& v) {
  if (v.capacity() > v.size() + v.size() / 8 + 64) v.shrink_to_fit();
}

Table Reader::BuildTable() {
  Table table;
  for (ColumnBuilder& c : cols_) {
    const Mode mode = c.mode == Mode::kSkip ? c.final_mode : c.mode;
    std::optional<Column> column;
    if (mode == Mode::kCategorical) {
      ShrinkIfSlack(c.codes);
      column = Column::Categorical(std::move(c.name), std::move(c.codes),
                                   c.dict->TakeLevels());
    } else {
      // kUnknown (no value at all) is numeric.
      ShrinkIfSlack(c.values);
      column = mode == Mode::kDate
                   ? Column::Date(std::move(c.name), std::move(c.values))
                   : Column::Numeric(std::move(c.name), std::move(c.values));
    }
    // Names are unique and lengths equal: AddColumn cannot fail.
    table.AddColumn(*std::move(column)).IgnoreError();
  }
  return table;
}

}  // namespace

absl::StatusOr<Table> ReadCsvFile(const std::string& path,
                                  const CsvOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<FileSource> source, FileSource::Open(path));
  Reader reader(options, kDefaultChunkBytes, source.get(),
                absl::StrCat("CSV file '", path, "': "));
  return reader.Read(nullptr);
}

absl::StatusOr<Table> ReadCsvString(absl::string_view text,
                                    const CsvOptions& options) {
  StringSource source(text);
  Reader reader(options, kDefaultChunkBytes, &source, "");
  return reader.Read(nullptr);
}

namespace csv_internal {

absl::StatusOr<Table> ReadCsvStringInChunks(absl::string_view text,
                                            const CsvOptions& options,
                                            size_t chunk_bytes, int* passes) {
  StringSource source(text);
  Reader reader(options, chunk_bytes, &source, "");
  return reader.Read(passes);
}

}  // namespace csv_internal
}  // namespace modelserver
