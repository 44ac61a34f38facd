/* Host driver for TVM backend tests: reads inputs of tb_backend_input_size(0) bytes from
 * stdin until EOF, runs one inference per input and writes each output to stdout. */
#include <stdio.h>

#include "tb_backend.h"

int main(void) {
    if (tb_backend_init() != 0) return 2;
    while (fread(tb_backend_input(0), 1, tb_backend_input_size(0), stdin) == tb_backend_input_size(0)) {
        int status = tb_backend_invoke();
        if (status != 0) return 3;
        fwrite(tb_backend_output(0), 1, tb_backend_output_size(0), stdout);
    }
    fprintf(stderr, "arena_used %zu\n", tb_backend_arena_used());
    return 0;
}
