// Errors with stable codes. Library code throws simsage::Error (never aborts); the addon maps the
// code to a JS Error whose `code` property is the string from error_code_name().
#pragma once
#include <stdexcept>
#include <string>

namespace simsage {

enum class ErrorCode {
  InvalidArgument,  // ERR_SIMSAGE_INVALID_ARGUMENT
  DimMismatch,      // ERR_SIMSAGE_DIM_MISMATCH
  InvalidK,         // ERR_SIMSAGE_INVALID_K
  UnknownMetric,    // ERR_SIMSAGE_UNKNOWN_METRIC
  NonFinite,        // ERR_SIMSAGE_NON_FINITE
  InvalidId,        // ERR_SIMSAGE_INVALID_ID
  Disposed,         // ERR_SIMSAGE_DISPOSED
  CorruptFile,      // ERR_SIMSAGE_CORRUPT_FILE
  StateMismatch,    // ERR_SIMSAGE_STATE_MISMATCH
  Unsupported,      // ERR_SIMSAGE_UNSUPPORTED
  OutOfMemory,      // ERR_SIMSAGE_OUT_OF_MEMORY
  Cuda,             // ERR_SIMSAGE_CUDA
  Internal,         // ERR_SIMSAGE_INTERNAL
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }
  const char* code_name() const { return error_code_name(code_); }

 private:
  ErrorCode code_;
};

[[noreturn]] void throw_error(ErrorCode code, const std::string& message);

// The argument check of every entry point: throws `code` with "fn: what" unless ok.
inline void need(bool ok, ErrorCode code, const char* fn, const std::string& what) {
  if (!ok) throw_error(code, std::string(fn) + ": " + what);
}

}  // namespace simsage
