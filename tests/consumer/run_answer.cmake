# Runs a consumer project's application (common/answer.cpp) on the default
# model and checks its answer: Paris, and a version line from the cnai it was
# built against. Without the model it reports SKIPPED, or fails under
# CNAI_REQUIRE_MODEL=1 (CI).   cmake -DBINARY=<app> [-DEXPECT_VERSION=x.y.z] -P run_answer.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../support/default_model.cmake)
cnai_default_model_or_skip(model)
execute_process(COMMAND ${BINARY} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
message("${BINARY}:\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BINARY} failed (${rc})")
endif()
if(NOT out MATCHES "Paris")
  message(FATAL_ERROR "${BINARY}: the answer does not say Paris")
endif()
if(NOT out MATCHES "\\[cnai ([0-9.]+), ([0-9]+) tokens\\]")
  message(FATAL_ERROR "${BINARY}: no version and token count line")
endif()
if(DEFINED EXPECT_VERSION AND NOT CMAKE_MATCH_1 STREQUAL EXPECT_VERSION)
  message(FATAL_ERROR "${BINARY}: built against cnai ${CMAKE_MATCH_1}, expected ${EXPECT_VERSION}")
endif()
