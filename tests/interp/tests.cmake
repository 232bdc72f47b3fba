llmc_test(test_interp_ops unit ${CMAKE_CURRENT_LIST_DIR}/test_interp_ops.c)
llmc_test(test_collectives unit ${CMAKE_CURRENT_LIST_DIR}/test_collectives.c)
llmc_test(test_bf16 unit ${CMAKE_CURRENT_LIST_DIR}/test_bf16.c)
