// Placeholder until the issue-3 kernels land.
#include "check.h"
TEST_MAIN()
