#include "core/error.h"

namespace simsage {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
      return "ERR_SIMSAGE_INVALID_ARGUMENT";
    case ErrorCode::DimMismatch:
      return "ERR_SIMSAGE_DIM_MISMATCH";
    case ErrorCode::InvalidK:
      return "ERR_SIMSAGE_INVALID_K";
    case ErrorCode::UnknownMetric:
      return "ERR_SIMSAGE_UNKNOWN_METRIC";
    case ErrorCode::NonFinite:
      return "ERR_SIMSAGE_NON_FINITE";
    case ErrorCode::InvalidId:
      return "ERR_SIMSAGE_INVALID_ID";
    case ErrorCode::Disposed:
      return "ERR_SIMSAGE_DISPOSED";
    case ErrorCode::CorruptFile:
      return "ERR_SIMSAGE_CORRUPT_FILE";
    case ErrorCode::StateMismatch:
      return "ERR_SIMSAGE_STATE_MISMATCH";
    case ErrorCode::Unsupported:
      return "ERR_SIMSAGE_UNSUPPORTED";
    case ErrorCode::OutOfMemory:
      return "ERR_SIMSAGE_OUT_OF_MEMORY";
    case ErrorCode::Cuda:
      return "ERR_SIMSAGE_CUDA";
    case ErrorCode::Internal:
      return "ERR_SIMSAGE_INTERNAL";
  }
  return "ERR_SIMSAGE_INTERNAL";
}

void throw_error(ErrorCode code, const std::string& message) { throw Error(code, message); }

}  // namespace simsage
