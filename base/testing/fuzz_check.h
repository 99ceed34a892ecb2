// File: base/testing/fuzz_check.h
//
// FUZZ_CHECK(condition) << "what went wrong": the property check of fuzz
// targets. When `condition` is false it prints the file, line, condition and
// message and aborts, which libFuzzer reports as a crash (and saves the
// input) and the replay test (herald_fuzz_test) as a failure. Works the same
// under gcc and clang, with or without sanitizers.
//
// Example:
//
//   absl::StatusOr<Headers> decoded = DecodeHeaders(EncodeHeaders(h, id), id);
//   FUZZ_CHECK(decoded.ok()) << decoded.status();
//   FUZZ_CHECK(*decoded == h) << "headers do not round-trip";
#ifndef HERALD_BASE_TESTING_FUZZ_CHECK_H_
#define HERALD_BASE_TESTING_FUZZ_CHECK_H_

#include <cstdlib>
#include <iostream>
#include <sstream>

namespace herald {
namespace fuzz_internal {

// Collects the message; prints it and aborts when destroyed.
class Failure {
 public:
  Failure(const char* file, int line, const char* condition) {
    message_ << file << ":" << line << ": FUZZ_CHECK(" << condition
             << ") failed: ";
  }
  ~Failure() {
    std::cerr << message_.str() << std::endl;
    std::abort();
  }
  template <typename T>
  Failure& operator<<(const T& value) {
    message_ << value;
    return *this;
  }

 private:
  std::ostringstream message_;
};

}  // namespace fuzz_internal
}  // namespace herald

#define FUZZ_CHECK(condition) \
  if (condition) {            \
  } else                      \
    ::herald::fuzz_internal::Failure(__FILE__, __LINE__, #condition)

#endif  // HERALD_BASE_TESTING_FUZZ_CHECK_H_
