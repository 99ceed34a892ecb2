// File: base/testing/fuzz_replay_main.cc
//
// The main() of every fuzz target's replay test (herald_fuzz_test in
// bazel/herald.bzl): runs LLVMFuzzerTestOneInput once over each file under
// the directories and files given as arguments, so that `bazel test //...`
// replays every seed corpus, and every crash input kept there, as an
// ordinary regression test under gcc. The fuzzing itself (clang, libFuzzer)
// is tools/fuzz.sh.
//
// A target's properties are checked inside LLVMFuzzerTestOneInput, which
// aborts when one does not hold; this driver fails when it finds no input at
// all, so that a corpus that went missing cannot pass silently.
//
// Example:
//
//   bazel-bin/gateway/fuzz/requests_fuzz_test gateway/fuzz/corpus/requests
//   # replay: 12 inputs from gateway/fuzz/corpus/requests
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv)
    __attribute__((weak));

namespace {

namespace fs = std::filesystem;

// Every regular file at or under `root`, sorted for a stable order.
std::vector<fs::path> InputsUnder(const fs::path& root) {
  std::vector<fs::path> inputs;
  std::error_code ec;
  if (fs::is_regular_file(root, ec)) return {root};
  for (fs::recursive_directory_iterator
           it(root, fs::directory_options::follow_directory_symlink, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) inputs.push_back(it->path());
  }
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::vector<fs::path> inputs = InputsUnder(argv[i]);
    for (const fs::path& path : inputs) {
      std::ifstream in(path, std::ios::binary);
      const std::string data((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return 1;
      }
      // Named before it runs: a failing property aborts the process.
      std::fprintf(stderr, "replay: %s\n", path.c_str());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()),
                             data.size());
    }
    std::printf("replay: %zu inputs from %s\n", inputs.size(), argv[i]);
    replayed += inputs.size();
  }
  if (replayed == 0) {
    std::fprintf(stderr, "replay: no input found; is the corpus missing?\n");
    return 1;
  }
  return 0;
}
