# The chosen dependencies (LLVM 19, libffi, OpenMPI) link and run. Optimized build only:
# OpenMPI's runtime is not ASan-clean.
llmc_test(test_deps deps ${CMAKE_CURRENT_LIST_DIR}/test_deps.c
          LIBS llmc_llvm PkgConfig::FFI MPI::MPI_C)
# OpenMPI keeps process-lifetime allocations that LeakSanitizer reports as leaks.
set_tests_properties(test_deps PROPERTIES ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
