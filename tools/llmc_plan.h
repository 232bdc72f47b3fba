/* tools/llmc_plan.h — `llmc plan`: what a training run costs and what it should achieve
 * (tools/llmc_plan.c). Not a library header: only tools/llmc.c includes it. */
#ifndef LLMC_PLAN_H
#define LLMC_PLAN_H

/* main() of `llmc plan ARGS...`: argv[0] is "plan". Exit 0 done, 1 bad input, 2 usage. */
int llmc_plan_main(int argc, char **argv);

#endif /* LLMC_PLAN_H */
