/* The device-under-test side of the MLPerf Tiny serial protocol (see firmware/README.md).
 *
 * Commands end with '%'. Standard: name, profile, timestamp, db load N, db <hex>, db print,
 * infer N W, results. Replies start with "m-" (or "e-" for errors) and every command ends
 * with "m-ready". tinybench's own reply lines start with "m-tb-"; its one command extension,
 * `db load N I`, loads input I of a model with several inputs. Only th_* functions are used
 * here; the engine and the board stay behind the port layer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "th_api.h"

#ifndef TB_MODEL
#define TB_MODEL "unknown"
#endif
#ifndef TB_DB_CAPACITY
#define TB_DB_CAPACITY 1024 /* bytes; backends raise it to the sum of their input sizes */
#endif

enum {
    CMD_MAX = 128,     /* longest command; a `db` chunk of 60 bytes fits */
    MAX_RECORDED = 32, /* timed inferences whose cycles are reported one by one */
};

static int init_status; /* tb_backend_init()'s result: nothing runs on a failed engine */
static uint8_t db[TB_DB_CAPACITY]; /* the inputs back to back, in the model's order */
static size_t db_input;            /* the input `db load` selected */
static size_t db_expected;         /* set by `db load N` */
static size_t db_filled[TB_INPUTS]; /* bytes of each input loaded */

/* Parse a decimal number; returns a pointer past it, or NULL if there is none. */
static const char *parse_uint(const char *s, uint32_t *value)
{
    if (*s < '0' || *s > '9') {
        return NULL;
    }
    uint32_t v = 0;
    for (; *s >= '0' && *s <= '9'; ++s) {
        v = v * 10u + (uint32_t)(*s - '0');
    }
    *value = v;
    return s;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Where input `i` starts in db: the inputs before it, at their sizes. */
static size_t db_start(size_t i)
{
    size_t start = 0;
    for (size_t j = 0; j < i; ++j) {
        start += th_input_size(j);
    }
    return start;
}

/* `db load N` (input 0) or tinybench's `db load N I` (input I). */
static void db_load(const char *arg)
{
    uint32_t n, input = 0;
    const char *end = parse_uint(arg, &n);
    if (end != NULL && *end == ' ') {
        end = parse_uint(end + 1, &input);
    }
    if (end == NULL || *end != '\0') {
        th_printf("e-[db load needs a byte count and optionally an input number]\r\n");
    } else if (input >= TB_INPUTS) {
        th_printf("e-[db load input %lu: the model has %u inputs]\r\n", (unsigned long)input,
                  (unsigned)TB_INPUTS);
    } else if (input > 0 && init_status != 0) { /* a failed engine cannot tell input sizes */
        th_printf("e-[the engine failed to initialise: %d]\r\n", init_status);
    } else if (db_start(input) + n > TB_DB_CAPACITY) {
        th_printf("e-[db load %lu exceeds the harness buffer of %u bytes]\r\n", (unsigned long)n,
                  (unsigned)TB_DB_CAPACITY);
    } else {
        db_input = input;
        db_expected = n;
        db_filled[input] = 0;
        th_printf("m-[Expecting %lu bytes]\r\n", (unsigned long)n);
    }
}

static void db_append(const char *hex)
{
    uint8_t *input = db + db_start(db_input);
    size_t *filled = &db_filled[db_input];
    for (; hex[0] != '\0'; hex += 2) {
        int hi = hex_digit(hex[0]);
        int lo = hex[1] == '\0' ? -1 : hex_digit(hex[1]);
        if (hi < 0 || lo < 0) {
            th_printf("e-[db expects pairs of hex digits]\r\n");
            return;
        }
        if (*filled >= db_expected) {
            th_printf("e-[db got more than the %lu bytes announced]\r\n",
                      (unsigned long)db_expected);
            return;
        }
        input[(*filled)++] = (uint8_t)(hi << 4 | lo);
    }
    if (*filled == db_expected) {
        th_printf("m-load-done\r\n");
    }
}

/* The bytes of the input `db load` selected loaded so far. */
static void db_print(void)
{
    const uint8_t *input = db + db_start(db_input);
    th_printf("m-buffer-");
    for (size_t i = 0; i < db_filled[db_input]; ++i) {
        th_printf(i == 0 ? "%02x" : " %02x", input[i]);
    }
    th_printf("\r\n");
}

/* Load the inputs before every inference: engines may reuse the input tensors' memory. */
static int infer_once(struct th_lap *lap)
{
    for (size_t i = 0; i < TB_INPUTS; ++i) {
        th_load_tensor(i, db + db_start(i), db_filled[i]);
    }
    int status = th_infer(lap);
    if (status != 0) {
        th_printf("e-[tb_backend_invoke failed: %d]\r\n", status);
    }
    return status;
}

static void infer(const char *arg)
{
    uint32_t runs, warmups;
    const char *end = parse_uint(arg, &runs);
    if (end == NULL || *end++ != ' ' || (end = parse_uint(end, &warmups)) == NULL || *end != '\0' ||
        runs == 0) {
        th_printf("e-[infer needs N W: N >= 1 timed runs after W warm-ups]\r\n");
        return;
    }
    if (init_status != 0) {
        th_printf("e-[the engine failed to initialise: %d]\r\n", init_status);
        return;
    }
    for (size_t i = 0; i < TB_INPUTS; ++i) {
        if (db_filled[i] != th_input_size(i)) {
            th_printf("e-[input %lu has %lu of %lu bytes; send db load and db first]\r\n",
                      (unsigned long)i, (unsigned long)db_filled[i],
                      (unsigned long)th_input_size(i));
            return;
        }
    }
    struct th_lap lap;
    th_printf("m-warmup-start-%lu\r\n", (unsigned long)warmups);
    for (uint32_t i = 0; i < warmups; ++i) {
        if (infer_once(&lap) != 0) {
            return;
        }
    }
    th_printf("m-warmup-done\r\n");

    uint32_t cycles[MAX_RECORDED];
    uint64_t first = 0;
    th_printf("m-infer-start-%lu\r\n", (unsigned long)runs);
    for (uint32_t i = 0; i < runs; ++i) {
        if (infer_once(&lap) != 0) {
            return;
        }
        if (i == 0) {
            first = lap.start;
        }
        if (i < MAX_RECORDED) {
            cycles[i] = (uint32_t)(lap.end - lap.start);
        }
    }
    th_printf("m-lap-us-%llu\r\n", (unsigned long long)th_cycles_to_us(first));
    th_printf("m-lap-us-%llu\r\n", (unsigned long long)th_cycles_to_us(lap.end));
    th_printf("m-tb-cycles-[");
    for (uint32_t i = 0; i < runs && i < MAX_RECORDED; ++i) {
        th_printf(i == 0 ? "%lu" : ",%lu", (unsigned long)cycles[i]);
    }
    th_printf("]\r\n");
    th_printf("m-tb-arena-bytes-%lu\r\n", (unsigned long)th_arena_used());
    th_printf("m-tb-stack-bytes-%lu\r\n", (unsigned long)th_stack_used());
#ifdef TB_PROFILE_LAYERS
    th_report_layers();
#endif
    th_printf("m-infer-done\r\n");
}

static void dispatch(const char *cmd)
{
    if (strcmp(cmd, "name") == 0) {
        th_printf("m-name-dut-[tinybench-%s]\r\n", th_engine_name());
    } else if (strcmp(cmd, "profile") == 0) {
        th_printf("m-profile-[tinybench]\r\n");
        th_printf("m-model-%s\r\n", TB_MODEL);
        th_printf("m-tb-clock-hz-%lu\r\n", (unsigned long)th_clock_hz());
    } else if (strcmp(cmd, "timestamp") == 0) {
        th_printf("m-lap-us-%llu\r\n", (unsigned long long)th_timestamp_us());
    } else if (strncmp(cmd, "db load ", 8) == 0) {
        db_load(cmd + 8);
    } else if (strcmp(cmd, "db print") == 0) {
        db_print();
    } else if (strncmp(cmd, "db ", 3) == 0) {
        db_append(cmd + 3);
    } else if (strncmp(cmd, "infer ", 6) == 0) {
        infer(cmd + 6);
    } else if (strcmp(cmd, "results") == 0) {
        th_results();
    } else {
        th_printf("e-[Unknown command: %s]\r\n", cmd);
    }
    th_printf("m-ready\r\n");
}

int main(void)
{
    init_status = th_final_initialize();
    if (init_status != 0) {
        th_printf("e-[tb_backend_init failed: %d]\r\n", init_status);
    }
    th_printf("m-init-done\r\n");
    th_printf("m-ready\r\n");

    char cmd[CMD_MAX + 1];
    size_t len = 0;
    int overflow = 0;
    for (;;) {
        char c = (char)th_getchar();
        if (c == '%') {
            cmd[len] = '\0';
            if (overflow) {
                th_printf("e-[command longer than %d characters]\r\nm-ready\r\n", CMD_MAX);
            } else {
                dispatch(cmd);
            }
            len = 0;
            overflow = 0;
        } else if (c == '\r' || c == '\n') {
            continue;
        } else if (len < CMD_MAX) {
            cmd[len++] = c;
        } else {
            overflow = 1;
        }
    }
}
