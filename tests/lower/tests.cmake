# tests/lower/ — the frontend's lowering: composites against naive loops (f64
# interpreter) and whole programs through fe_parse + fe_lower.
llmc_test(test_composites unit ${CMAKE_CURRENT_LIST_DIR}/test_composites.c LIBS llmc_frontend)
llmc_test(test_lower unit ${CMAKE_CURRENT_LIST_DIR}/test_lower.c LIBS llmc_frontend)
