// OpenAI's JSON shapes for the asynchronous APIs: file objects, batch
// objects (from a JobRecord), the output/error file lines, list envelopes,
// and the ids (file-..., batch_..., resp_...).
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cnai/server/job_store.hpp"

namespace cnai::server {

namespace bj = boost::json;

/// prefix + 24 random hex digits.
std::string new_id(std::string_view prefix);

bj::object file_object(const StoredFile& f);
/// A JobRecord of kind batch as the Batch object: its data plus id, object,
/// status and request_counts.
bj::object batch_object(const JobRecord& job);
/// {"object":"list","data":[...],"first_id","last_id","has_more"}.
bj::object list_object(bj::array data, bool has_more);

/// An output (or, for a non-2xx status, error) file line for a request that ran.
std::string response_line(std::string_view batch_id, std::int64_t line, std::string_view custom_id, int status,
                          std::string_view body_json);
/// An error file line for a request that did not run (expired, cancelled, poison).
std::string error_line(std::string_view batch_id, std::int64_t line, std::string_view custom_id,
                       std::string_view code, std::string_view message);

/// A JSON object's text parsed (Error(internal) when it is not one: stored data only).
bj::object parse_object(std::string_view text);

/// "24h", "90m", "30s" -> seconds; 0 when malformed.
std::int64_t parse_window(std::string_view window);

}  // namespace cnai::server
