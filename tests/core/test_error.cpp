#include <doctest/doctest.h>

#include <string>

#include "cnai/core/error.hpp"

TEST_CASE("Error carries its code, message and retryability") {
  cnai::Error e(cnai::ErrorCode::model_format, "bad magic");
  CHECK(e.code() == cnai::ErrorCode::model_format);
  CHECK(std::string(e.what()) == "bad magic");  // the code is not repeated in the message
  CHECK(cnai::to_string(e.code()) == "model_format");
  CHECK_FALSE(e.retryable());
  CHECK_FALSE(e.upstream_status().has_value());

  cnai::Error r(cnai::ErrorCode::rate_limited, "slow down", 429, "Rate limit reached");
  CHECK(r.retryable());
  CHECK(r.upstream_status() == 429);
  CHECK(r.upstream_message() == "Rate limit reached");
}
