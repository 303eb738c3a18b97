# cnai::server — the OpenAI-compatible HTTP server, async jobs and their
# queues/stores (src/server). A target of its own so a host that embeds only
# the engine or the clients needs none of SQLite, hiredis or libpq.
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

file(GLOB_RECURSE CNAI_SERVER_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/server/*.cpp)
add_library(cnai_server ${CNAI_SERVER_SOURCES})
add_library(cnai::server ALIAS cnai_server)
target_include_directories(cnai_server
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>
  PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(cnai_server
  PUBLIC cnai
  PRIVATE fmt::fmt Boost::json Boost::headers OpenSSL::Crypto SQLite::SQLite3 PostgreSQL::PostgreSQL PkgConfig::HIREDIS)
cnai_set_warnings(cnai_server)
