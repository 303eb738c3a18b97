# cnai::server — the OpenAI-compatible HTTP server, async jobs and their
# queues/stores, the router's spend counters and response cache in Redis (src/server). A group of its own so a host that embeds only
# the engine or the clients needs none of SQLite, hiredis or libpq.
option(CNAI_WITH_SERVER "Build cnai::server (needs SQLite, hiredis, libpq)" ON)
if(CNAI_WITH_SERVER AND NOT (CNAI_WITH_LOCAL AND CNAI_WITH_CLOUD AND CNAI_WITH_ROUTER))
  message(STATUS "cnai: CNAI_WITH_SERVER needs CNAI_WITH_LOCAL, CNAI_WITH_CLOUD and the router; turned off")
  set(CNAI_WITH_SERVER OFF)
endif()
if(CNAI_WITH_SERVER)
  find_package(PkgConfig REQUIRED)
  find_package(SQLite3 REQUIRED)
  find_package(PostgreSQL REQUIRED)
  pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
endif()
cnai_add_layer(server WHEN CNAI_WITH_SERVER FOLDERS server USES local cloud router
  PRIVATE_LIBS fmt::fmt Boost::json Boost::headers OpenSSL::Crypto SQLite::SQLite3 PostgreSQL::PostgreSQL
               PkgConfig::HIREDIS)
