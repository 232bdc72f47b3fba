# tests/exec/ — execution: the memory plan (compiler/memplan.c) on hand-built fusions and
# every tiny model's step (unit); the thread pool (runtime/pool.c) with C kernels (unit)
# and with JIT elementwise kernels (jit), bit-identical across thread counts and grains.
find_package(Threads REQUIRED) # imported targets are per directory: runtime/ finds it too
llmc_test(test_memplan unit ${CMAKE_CURRENT_LIST_DIR}/test_memplan.c LIBS llmc_compiler llmc_frontend)
llmc_test(test_pool unit ${CMAKE_CURRENT_LIST_DIR}/test_pool.c LIBS llmc_compiler Threads::Threads)
llmc_test(test_pool_jit jit ${CMAKE_CURRENT_LIST_DIR}/test_pool_jit.c LIBS llmc_compiler Threads::Threads)
