# cnai_default_model_or_skip(VAR): sets VAR to the default model's path
# (cnai::default_model_path(): $CNAI_CACHE_DIR or ~/.cache/cnai, then
# models/SmolLM2-135M-Instruct.Q4_1.gguf). When it is missing the calling
# script prints SKIPPED and returns (ctest reports the test skipped through
# SKIP_REGULAR_EXPRESSION), or fails under CNAI_REQUIRE_MODEL=1 (CI).
# A macro, so that its return() ends the script that included it.
macro(cnai_default_model_or_skip var)
  if(DEFINED ENV{CNAI_CACHE_DIR} AND NOT "$ENV{CNAI_CACHE_DIR}" STREQUAL "")
    set(${var} "$ENV{CNAI_CACHE_DIR}/models/SmolLM2-135M-Instruct.Q4_1.gguf")
  else()
    set(${var} "$ENV{HOME}/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf")
  endif()
  if(NOT EXISTS "${${var}}")
    if("$ENV{CNAI_REQUIRE_MODEL}" STREQUAL "1")
      message(FATAL_ERROR "the default model ${${var}} is missing and CNAI_REQUIRE_MODEL=1 (run scripts/fetch_model.sh)")
    endif()
    message("SKIPPED: the default model ${${var}} is missing (run scripts/fetch_model.sh)")
    return()
  endif()
endmacro()
