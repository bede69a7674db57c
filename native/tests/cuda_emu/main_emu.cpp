// The CPU emulation's test entry: runs a CUDA test file's cases (compiled with -Dmain=...) on the
// emulated device. Cases that need the real backend registry (dispatch) fail here by design.
#include "check.h"

int main() { return simsage_test::run_all(); }
