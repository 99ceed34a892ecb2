// The realtime worker: `bazel run //workers:realtime` (page on :8090).
#include "workers/realtime/realtime_worker.h"

int main(int argc, char** argv) {
  return herald::workers::RealtimeMain(argc, argv);
}
