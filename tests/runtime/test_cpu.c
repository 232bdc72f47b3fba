/* tests/runtime/test_cpu.c — rt_cpu_bf16_detect reads the same bf16 and AMX capabilities as
 * the kernel reports in /proc/cpuinfo (flags avx512_bf16, amx_tile, amx_bf16), and the
 * AMX line of a report says what was found. On a machine without /proc/cpuinfo the
 * comparison is skipped. */
#include "runtime.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

/* True when /proc/cpuinfo's first "flags" line lists `flag` as a whole word. */
static int cpuinfo_flag(const char *flag) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return -1;
    char line[8192];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        found = 0;
        size_t n = strlen(flag);
        for (char *p = strstr(line, flag); p && !found; p = strstr(p + 1, flag))
            found = p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' || p[n] == 0);
    }
    fclose(f);
    return found;
}

int main(void) {
    RtCpuBf16 c;
    rt_cpu_bf16_detect(&c);
    int bf16 = cpuinfo_flag("avx512_bf16"), tile = cpuinfo_flag("amx_tile"), amx16 = cpuinfo_flag("amx_bf16");
    printf("cpuid: avx512bf16 %d, amx_tile %d, amx_bf16 %d, os %d, permitted %d; cpuinfo: %d %d %d\n", c.avx512bf16,
           c.amx_tile, c.amx_bf16, c.amx_os, c.amx_permitted, bf16, tile, amx16);
    if (bf16 >= 0) {
        CHECK_EQ_INT(c.avx512bf16, bf16);
        CHECK_EQ_INT(c.amx_tile, tile);
        CHECK_EQ_INT(c.amx_bf16, amx16);
    }
    CHECK(!c.amx_permitted || (c.amx_os && c.amx_tile));
    char text[160];
    rt_cpu_bf16_amx_text(&c, text, sizeof text);
    printf("AMX: %s\n", text);
    CHECK(strstr(text, c.amx_tile && c.amx_bf16 ? "on this CPU" : "not on this CPU") == text);
    /* a second request is answered the same way (the permission is per process) */
    RtCpuBf16 again;
    rt_cpu_bf16_detect(&again);
    CHECK(memcmp(&c, &again, sizeof c) == 0);
    TEST_MAIN();
}
