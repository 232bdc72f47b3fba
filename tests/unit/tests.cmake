llmc_test(test_base unit ${CMAKE_CURRENT_LIST_DIR}/test_base.c)
llmc_test(test_builder unit ${CMAKE_CURRENT_LIST_DIR}/test_builder.c)
llmc_test(test_verify unit ${CMAKE_CURRENT_LIST_DIR}/test_verify.c)
