"""Conan recipe for cnai: `conan create . -pr:a conan/profiles/debian12` builds
and packages the library with cnai's own CMake install rules, and runs the
consumer in tests/consumer/conan (built with the Conan toolchain) against it.

The third-party libraries are Debian's: the recipe requires them by version
range, and the profile's [platform_requires] says the platform provides them,
so no remote is needed; system_requirements() checks (or, with
tools.system.package_manager:mode=install, installs) the Debian packages.
Consumers find the package through cnai's own cnaiConfig.cmake (the targets
cnai::cnai, cnai::local, cnai::cloud ...), which CMakeToolchain puts on
CMAKE_PREFIX_PATH."""
import re

from conan import ConanFile
from conan.tools.cmake import CMake, CMakeToolchain
from conan.tools.files import load
from conan.tools.system.package_manager import Apt


class CnaiConan(ConanFile):
    name = "cnai"
    description = "Embeddable C++20 library for local (GGUF, CPU) and cloud LLM inference"
    license = "MIT"
    topics = ("llm", "inference", "gguf", "openai")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False], "fPIC": [True, False], "with_server": [True, False], "with_cuda": [True, False]}
    default_options = {"shared": False, "fPIC": True, "with_server": False, "with_cuda": False}
    exports_sources = ("CMakeLists.txt", "LICENSE", "cmake/*", "include/*", "src/*", "cuda/*")

    def set_version(self):
        text = load(self, self.recipe_folder + "/CMakeLists.txt")
        self.version = re.search(r"project\(cnai VERSION ([0-9.]+)", text).group(1)

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def requirements(self):
        # Provided by the platform ([platform_requires] in conan/profiles/debian12).
        for ref in ("fmt/[>=9.1]", "boost/[>=1.81]", "openssl/[>=3.0]", "zlib/[>=1.2.13]", "pcre2/[>=10.40]"):
            self.requires(ref)
        if self.options.with_server:
            for ref in ("sqlite3/[>=3.40]", "libpq/[>=15]", "hiredis/[>=0.14]"):
                self.requires(ref)

    def system_requirements(self):
        packages = ["libfmt-dev", "libboost-json1.81-dev", "libssl-dev", "zlib1g-dev", "libpcre2-dev", "pkg-config"]
        if self.options.with_server:
            packages += ["libsqlite3-dev", "libpq-dev", "libhiredis-dev"]
        Apt(self).install(packages, update=False, check=True)

    def validate(self):
        from conan.tools.build import check_min_cppstd
        check_min_cppstd(self, 20)

    def layout(self):
        # The build tree in <source>/build, as a checkout's own: the compile
        # commands (relative to CCACHE_BASEDIR) are the same, so ccache shares objects.
        self.folders.build = "build"
        self.folders.generators = "build/generators"

    def generate(self):
        tc = CMakeToolchain(self)
        # -m64 and the libstdc++11 ABI are GCC's defaults here; leaving the flags
        # out keeps the compile commands identical to a plain build's.
        tc.blocks.remove("arch_flags")
        tc.blocks.remove("libcxx")
        tc.cache_variables.update({
            "CNAI_WITH_SERVER": bool(self.options.with_server),
            "CNAI_WITH_CUDA": bool(self.options.with_cuda),
            "CNAI_WITH_PYTHON": False,
            "CNAI_INSTALL": True,
            "CNAI_BUILD_TESTS": False, "CNAI_BUILD_TOOLS": False,
            "CNAI_BUILD_BENCHMARKS": False, "CNAI_BUILD_EXAMPLES": False,
        })
        tc.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        CMake(self).install()

    def package_info(self):
        # Consumers use cnai's own exported targets (lib/cmake/cnai/cnaiConfig.cmake).
        self.cpp_info.set_property("cmake_find_mode", "none")
        self.cpp_info.builddirs = ["lib/cmake/cnai"]
        self.cpp_info.set_property("pkg_config_name", "none")
