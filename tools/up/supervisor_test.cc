// The supervisor's decisions with small stand-in processes (sh, and
// python3's http.server as something that listens): stages start in order,
// each once the one before is ready; a stage not ready in time stops
// everything; a process that ignores SIGTERM is killed after the stop
// timeout; --keep_going reports a dead process and lets the others run.
#include "tools/up/supervisor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/testing/free_port.h"
#include "tools/up/log_printer.h"
#include "tools/up/stack.h"

namespace herald {
namespace up {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A process that listens on `port` (ready when it accepts), running
// `before` in its shell first.
ProcessSpec Listener(const std::string& name, int port, int stage,
                     const std::string& before = "") {
  return {name,
          {"/bin/sh", "-c",
           absl::StrCat(before, "exec python3 -m http.server --bind 127.0.0.1 ",
                        port)},
          {port, ""},
          stage};
}

// Runs Supervise with its log in a file; `when_logged` sends this process
// SIGTERM once the log holds it (empty: never).
class SuperviseRun {
 public:
  SuperviseRun() {
    static int n = 0;
    path_ = absl::StrCat(getenv("TEST_TMPDIR"), "/supervise", ++n, ".log");
    // Blocked here, so that the thread below inherits it and the signal
    // reaches Supervise's signalfd.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  }

  // `on_ready`: also called when everything is ready.
  int Run(const std::vector<ProcessSpec>& plan,
          const SupervisorOptions& options, const std::string& when_logged = "",
          const std::function<void()>& on_ready = nullptr) {
    std::FILE* out = std::fopen(path_.c_str(), "w");
    LogPrinter log(out, /*colour=*/false);
    std::atomic<bool> done{false};
    std::thread stopper([&] {
      if (when_logged.empty()) return;
      while (!done && !absl::StrContains(Output(), when_logged)) {
        absl::SleepFor(absl::Milliseconds(20));
      }
      if (!done) kill(getpid(), SIGTERM);
    });
    const int code = Supervise(plan, options, log, [&] {
      ready_ = true;
      log.Say("READY");
      if (on_ready) on_ready();
    });
    done = true;
    stopper.join();
    std::fclose(out);
    return code;
  }

  std::string Output() const { return ReadFile(path_); }
  bool ready() const { return ready_; }

 private:
  std::string path_;
  bool ready_ = false;
};

TEST(SupervisorTest, StartsStageByStageAndStopsInReverse) {
  SuperviseRun run;
  const int code = run.Run(
      {Listener("first", FreePort(), 0), Listener("second", FreePort(), 1),
       Listener("third", FreePort(), 2)},
      SupervisorOptions(), "READY");
  const std::string log = run.Output();
  EXPECT_EQ(code, 0) << log;
  EXPECT_TRUE(run.ready());
  auto at = [&](const std::string& text) {
    const size_t i = log.find(text);
    EXPECT_NE(i, std::string::npos) << text << "\n" << log;
    return i;
  };
  EXPECT_LT(at("| first ready"), at("| started second"));
  EXPECT_LT(at("| second ready"), at("| started third"));
  EXPECT_LT(at("| third ready"), at("| READY"));
  EXPECT_LT(at("| READY"), at("| stopping ("));
  EXPECT_LT(at("| third stopped"), at("| second stopped"));
  EXPECT_LT(at("| second stopped"), at("| first stopped"));
}

TEST(SupervisorTest, AStageNotReadyInTimeStopsEverything) {
  SuperviseRun run;
  SupervisorOptions options;
  options.ready_timeout = absl::Seconds(1);
  const int nobody = FreePort();  // nothing will listen there
  const int code =
      run.Run({Listener("first", FreePort(), 0),
               {"slow", {"/bin/sh", "-c", "exec sleep 600"}, {nobody, ""}, 1}},
              options);
  const std::string log = run.Output();
  EXPECT_EQ(code, 1) << log;
  EXPECT_FALSE(run.ready());
  EXPECT_THAT(log, HasSubstr("| not ready after 1s: slow\n"));
  EXPECT_THAT(log, HasSubstr("| slow stopped"));
  EXPECT_THAT(log, HasSubstr("| first stopped"));
}

TEST(SupervisorTest, AProcessThatIgnoresSigtermIsKilledAfterTheTimeout) {
  SuperviseRun run;
  SupervisorOptions options;
  options.stop_timeout = absl::Seconds(1);
  const int code =
      run.Run({Listener("stubborn", FreePort(), 0, "trap '' TERM; ")}, options,
              "READY");
  const std::string log = run.Output();
  EXPECT_EQ(code, 1) << log;
  EXPECT_THAT(log, HasSubstr("| stubborn did not stop within 1s: killing it"));
  EXPECT_THAT(log, HasSubstr("| stubborn stopped (signal 9"));
}

TEST(SupervisorTest, KeepGoingReportsADeadProcessAndRunsTheOthers) {
  SuperviseRun run;
  SupervisorOptions options;
  options.keep_going = true;
  const int port = FreePort();
  const std::string go = absl::StrCat(getenv("TEST_TMPDIR"), "/go");
  // "brief" is ready as soon as "steady" listens; once everything is ready
  // (the file `go` exists) it says its last words and exits on its own.
  const int code = run.Run(
      {Listener("steady", port, 0),
       {"brief",
        {"/bin/sh", "-c",
         absl::StrCat("while [ ! -e ", go,
                      " ]; do sleep 0.05; done; echo last words; exit 3")},
        {port, ""},
        1}},
      options, "the others go on", [&] { std::ofstream(go) << "go"; });
  const std::string log = run.Output();
  EXPECT_EQ(code, 0) << log;  // stopped by the signal afterwards
  EXPECT_THAT(log, HasSubstr("exited unexpectedly (exit code 3); its last "
                             "lines:\nup     |   brief: last words\n"));
  // Stopped by the signal, after the report.
  EXPECT_LT(log.find("the others go on"), log.find("| steady stopped"));
}

TEST(SupervisorTest, WithoutKeepGoingADeadProcessStopsTheOthers) {
  SuperviseRun run;
  const int port = FreePort();
  const int code =
      run.Run({Listener("steady", port, 0),
               {"brief",
                {"/bin/sh", "-c", "echo last words; sleep 0.5; exit 3"},
                {port, ""},
                1}},
              SupervisorOptions());
  const std::string log = run.Output();
  EXPECT_EQ(code, 1) << log;
  EXPECT_THAT(log, HasSubstr("|   brief: last words\n"));
  EXPECT_THAT(log, HasSubstr("| steady stopped"));
}

}  // namespace
}  // namespace up
}  // namespace herald
