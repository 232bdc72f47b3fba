# llmir end to end through its command line.
add_test(NAME test_llmir COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_llmir.sh $<TARGET_FILE:llmir>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_llmir PROPERTIES LABELS unit TIMEOUT 300)
# llmc --emit=llvm|asm on gpt2-tiny: a define / a label per kernel function, only llvm.*
# declarations, zmm FMAs in matmul kernels on AVX-512 hosts.
add_test(NAME test_emit_llvm COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_emit_llvm.sh $<TARGET_FILE:llmc>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_emit_llvm PROPERTIES LABELS jit TIMEOUT 600)
