# tests/ckpt/ — checkpoints (runtime/ckpt.c): round trips, retention, every bad input,
# a bounded manifest mutation loop, and disk-full / SIGKILL faults in forked children.
# Fast (well under 5 s), so it runs with the other unit tests under ASan+UBSan too.
llmc_test(test_ckpt unit ${CMAKE_CURRENT_LIST_DIR}/test_ckpt.c)
