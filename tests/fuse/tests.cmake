# tests/fuse/ — fusion (compiler/fuse.c): kernel counts on builder graphs and the
# partition contract on every model's step (unit); every ELEMENTWISE kernel of
# gpt2-tiny's @micro compiled by cc_codegen_elementwise against the interpreter (jit);
# `llmc --emit=fused` on every model (unit).
llmc_test(test_fuse unit ${CMAKE_CURRENT_LIST_DIR}/test_fuse.c LIBS llmc_compiler llmc_frontend)
llmc_test(test_fuse_jit jit ${CMAKE_CURRENT_LIST_DIR}/test_fuse_jit.c LIBS llmc_compiler llmc_frontend)
add_test(NAME test_fuse_emit COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_emit_fused.sh $<TARGET_FILE:llmc>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_fuse_emit PROPERTIES LABELS unit TIMEOUT 300)
