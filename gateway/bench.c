#include <stdio.h>

int kura_bench_main(int argc, char **argv);

int kura_bench_main(int argc, char **argv) {
    fputs("kura bench: not built yet\n", stderr);
    return 1;
}
