# tests/shard/ — the shard pass (compiler/shard.c, shard_update.c): the plan, the
# collectives and their placement in @micro', and sharded steps on the interpreter with
# simulated ranks — bit-identical across 1, 2 and 4 ranks for every strategy, close to the
# unsharded step. Heavy label `grad`: run in the optimized build.
llmc_test(test_shard grad ${CMAKE_CURRENT_LIST_DIR}/test_shard.c LIBS llmc_compiler llmc_frontend)
# cc_shard_report (llmc --emit=sharded): the collective table against the fusion, the
# forward prefetches, byte totals against a hand computation from the plan; the CLI.
llmc_test(test_shard_report unit ${CMAKE_CURRENT_LIST_DIR}/test_shard_report.c LIBS llmc_compiler llmc_frontend
          ARGS $<TARGET_FILE:llmc>)
