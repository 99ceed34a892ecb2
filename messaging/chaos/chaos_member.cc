// The chaos test's child member: one ChaosMember (messaging/chaos/member.h)
// in a process of its own, so that the test can kill it with SIGKILL in the
// middle of its work. It consumes until SIGTERM/SIGINT (or death).
//
//   chaos_member --brokers=127.0.0.1:PORT --group=G --db=sqlite:PATH
//                --seed=N --name=child
#include <glog/logging.h>

#include <cstdint>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "base/process.h"
#include "messaging/chaos/member.h"
#include "messaging/chaos/plan.h"

ABSL_FLAG(std::string, brokers, "", "bootstrap servers of the mock cluster");
ABSL_FLAG(std::string, group, "", "consumer group");
ABSL_FLAG(std::string, db, "", "database URL shared by the members");
ABSL_FLAG(uint64_t, seed, 0, "the run's seed (messaging/chaos/plan.h)");
ABSL_FLAG(std::string, name, "child", "member name recorded in effect rows");

int main(int argc, char** argv) {
  herald::Usage usage;
  usage.synopsis =
      "chaos_member --brokers=HOST:PORT --group=G --db=URL --seed=N "
      "[--name=child]";
  usage.description = "The chaos test's child member (messaging/chaos).\n";
  herald::InitProcess(argc, argv, usage);
  herald::chaos::MemberOptions options;
  options.brokers = absl::GetFlag(FLAGS_brokers);
  options.group = absl::GetFlag(FLAGS_group);
  options.db_url = absl::GetFlag(FLAGS_db);
  options.name = absl::GetFlag(FLAGS_name);
  options.params = herald::chaos::ParamsForSeed(absl::GetFlag(FLAGS_seed));
  auto member = herald::chaos::ChaosMember::Create(options);
  if (!member.ok()) {
    LOG(ERROR) << "chaos member: " << member.status();
    return 1;
  }
  absl::Status result;
  std::thread run([&] { result = (*member)->Run(); });
  herald::WaitForStopSignal();
  (*member)->Stop();
  run.join();
  if (!result.ok()) LOG(ERROR) << "chaos member: " << result;
  return result.ok() ? 0 : 1;
}
