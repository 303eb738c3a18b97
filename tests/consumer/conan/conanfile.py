"""The Conan consumer (conan create's test package): a project built with the
Conan-generated toolchain that finds the cnai package and answers a question
on the default model (run_answer.cmake checks it)."""
import os

from conan import ConanFile
from conan.tools.build import can_run
from conan.tools.cmake import CMake, cmake_layout


class CnaiConsumer(ConanFile):
    settings = "os", "arch", "compiler", "build_type"
    generators = "CMakeToolchain", "CMakeDeps"

    def requirements(self):
        self.requires(self.tested_reference_str)

    def layout(self):
        cmake_layout(self)

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def test(self):
        if can_run(self):
            app = os.path.join(self.cpp.build.bindir, "answer")
            check = os.path.join(self.source_folder, "..", "run_answer.cmake")
            self.run(f'cmake -DBINARY="{app}" -DEXPECT_VERSION={self.dependencies["cnai"].ref.version} -P "{check}"',
                     env="conanrun")
