# JIT-compiled kernels against the reference interpreter (optimized build; LLVM 19).
llmc_test(test_jit_elementwise jit ${CMAKE_CURRENT_LIST_DIR}/test_jit_elementwise.c LIBS llmc_compiler)
llmc_test(test_jit_matmul jit ${CMAKE_CURRENT_LIST_DIR}/test_jit_matmul.c LIBS llmc_compiler)
llmc_test(test_jit_reduce jit ${CMAKE_CURRENT_LIST_DIR}/test_jit_reduce.c LIBS llmc_compiler llmc_frontend)
llmc_test(test_objcache jit ${CMAKE_CURRENT_LIST_DIR}/test_objcache.c LIBS llmc_compiler)
llmc_test(test_jit_index jit ${CMAKE_CURRENT_LIST_DIR}/test_jit_index.c LIBS llmc_compiler)
llmc_test(test_jit_movement jit ${CMAKE_CURRENT_LIST_DIR}/test_jit_movement.c LIBS llmc_compiler)
llmc_test(test_jit_matmul_epilogue jit ${CMAKE_CURRENT_LIST_DIR}/test_jit_matmul_epilogue.c LIBS llmc_compiler llmc_frontend)
llmc_test(test_jit_math jit ${CMAKE_CURRENT_LIST_DIR}/test_jit_math.c LIBS llmc_compiler)
# LLVM IR of a few small kernels (elementwise, reduce, scatter_add, matmul) as golden text,
# before LLVM's optimizer; LLMC_UPDATE_GOLDEN=1 rewrites tests/jit/golden/.
llmc_test(test_jit_golden jit ${CMAKE_CURRENT_LIST_DIR}/test_jit_golden.c ARGS ${CMAKE_SOURCE_DIR} LIBS llmc_compiler)
set_property(TEST test_jit_golden APPEND PROPERTY LABELS golden)
llmc_test(test_jit_features jit ${CMAKE_CURRENT_LIST_DIR}/test_jit_features.c LIBS llmc_compiler)
llmc_test(test_jit_attention jit ${CMAKE_CURRENT_LIST_DIR}/test_jit_attention.c LIBS llmc_runtime llmc_compiler)
llmc_test(test_jit_matmul_bf16 jit ${CMAKE_CURRENT_LIST_DIR}/test_jit_matmul_bf16.c LIBS llmc_runtime llmc_compiler)
