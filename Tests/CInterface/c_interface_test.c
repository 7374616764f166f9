/* Tests of libweightjpeg through its header alone (run by scripts/test-interfaces): round trips of
   every dtype the library codes, metadata, files and memory agreeing, every error code, damaged
   files (every byte flipped in turn: a status code, never a crash), and concurrent reads. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weightjpeg.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAILED %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

enum { ROWS = 96, COLUMNS = 200, N = ROWS * COLUMNS };
static float weight[N];
static uint16_t half_weight[N], bf16_weight[N];
static int64_t counts[7];
static float scalar = 3.25f;

static uint16_t to_bf16(float f) { uint32_t u; memcpy(&u, &f, 4); return (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16); }
static float from_bf16(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }
static uint16_t to_f16(float f) { /* finite values in half range, round to nearest (enough for test data) */
    uint32_t u; memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000; int e = (int)((u >> 23) & 0xFF) - 127 + 15; uint32_t m = u & 0x7FFFFF;
    if (e <= 0) return (uint16_t)sign;
    uint32_t h = sign | ((uint32_t)e << 10) | (m >> 13);
    if (m & 0x1000) h++;
    return (uint16_t)h;
}

static int64_t matrix_shape[] = {ROWS, COLUMNS}, count_shape[] = {7};

static size_t make_tensors(wj_tensor *t) {
    uint32_t state = 12345;
    for (int i = 0; i < N; i++) {
        state = state * 1664525u + 1013904223u;
        weight[i] = ((float)(state >> 8) / 16777216.0f - 0.5f) * 0.2f;
        half_weight[i] = to_f16(weight[i]);
        bf16_weight[i] = to_bf16(weight[i]);
    }
    for (int i = 0; i < 7; i++) counts[i] = (int64_t)i * 1000000007LL - 3;
    t[0] = (wj_tensor){"w.f32", "F32", 2, matrix_shape, weight, sizeof weight};
    t[1] = (wj_tensor){"w.f16", "F16", 2, matrix_shape, half_weight, sizeof half_weight};
    t[2] = (wj_tensor){"w.bf16", "BF16", 2, matrix_shape, bf16_weight, sizeof bf16_weight};
    t[3] = (wj_tensor){"counts", "I64", 1, count_shape, counts, sizeof counts};
    t[4] = (wj_tensor){"scale", "F32", 0, NULL, &scalar, sizeof scalar};
    return 5;
}

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END); *size = (size_t)ftell(f); fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc(*size);
    if (fread(bytes, 1, *size, f) != *size) { free(bytes); bytes = NULL; }
    fclose(f);
    return bytes;
}

/* Checks the decoded tensors of `file` against the originals: exact ones bit for bit, lossy ones
   within 5% of the weights' range. */
static void check_contents(wj_file *file) {
    CHECK(wj_tensor_count(file) == 5, "count %zu", wj_tensor_count(file));
    wj_error error;
    for (size_t i = 0; i < wj_tensor_count(file); i++) {
        wj_tensor_info info;
        CHECK(wj_tensor_info_get(file, i, &info, &error) == WJ_OK, "info %zu: %s", i, error.message);
        void *out = malloc(info.decoded_bytes + 1);
        CHECK(wj_tensor_read(file, i, out, info.decoded_bytes, &error) == WJ_OK, "read %s: %s", info.name, error.message);
        double worst = 0;
        if (!strcmp(info.name, "w.f32")) {
            CHECK(info.rank == 2 && info.shape[0] == ROWS && info.shape[1] == COLUMNS && info.shape[2] == 0, "shape");
            CHECK(info.decoded_bytes == sizeof weight && !strcmp(info.dtype, "F32"), "f32 size/dtype");
            for (int k = 0; k < N; k++) worst = fmax(worst, fabs(((float *)out)[k] - weight[k]));
            CHECK(worst < 0.01, "f32 error %g", worst);
        } else if (!strcmp(info.name, "w.f16")) {
            CHECK(info.decoded_bytes == sizeof half_weight && !strcmp(info.dtype, "F16"), "f16 size/dtype");
        } else if (!strcmp(info.name, "w.bf16")) {
            CHECK(info.decoded_bytes == sizeof bf16_weight && !strcmp(info.dtype, "BF16"), "bf16 size/dtype");
            for (int k = 0; k < N; k++) worst = fmax(worst, fabs(from_bf16(((uint16_t *)out)[k]) - weight[k]));
            CHECK(worst < 0.01, "bf16 error %g", worst);
        } else if (!strcmp(info.name, "counts")) {
            CHECK(!strcmp(info.coding, "exact") && memcmp(out, counts, sizeof counts) == 0, "I64 not exact");
        } else if (!strcmp(info.name, "scale")) {
            CHECK(info.rank == 0 && info.decoded_bytes == 4 && fabsf(*(float *)out - scalar) < 1e-3f, "scalar");
        } else {
            CHECK(0, "unexpected tensor %s", info.name);
        }
        free(out);
    }
}

struct reader_job { wj_file *file; size_t index; void *expected; size_t size; int ok; };

static void *read_in_thread(void *p) {
    struct reader_job *job = p;
    job->ok = 1;
    for (int round = 0; round < 20; round++) {
        void *out = malloc(job->size);
        job->ok &= wj_tensor_read(job->file, job->index, out, job->size, NULL) == WJ_OK && !memcmp(out, job->expected, job->size);
        free(out);
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    char path[4096], other[4096];
    snprintf(path, sizeof path, "%s/c-test.wjpg", dir);
    wj_error error;
    wj_tensor tensors[8];
    size_t count = make_tensors(tensors);

    CHECK(wj_api_version() == WJ_API_VERSION, "api version %d", wj_api_version());
    CHECK(strlen(wj_version()) >= 5, "version '%s'", wj_version());

    /* Round trips: a file and a buffer, the same bytes. */
    wj_metadata_item metadata[] = {{"format", "pt"}, {"author", "c test"}};
    wj_options options;
    wj_options_init(&options);
    options.quality = 90;
    options.jobs = 2;
    CHECK(wj_compress(tensors, count, metadata, 2, &options, path, &error) == WJ_OK, "compress: %s", error.message);
    void *memory = NULL;
    size_t memory_size = 0;
    CHECK(wj_compress_to_memory(tensors, count, metadata, 2, &options, &memory, &memory_size, &error) == WJ_OK, "to memory: %s", error.message);
    size_t file_size = 0;
    unsigned char *file_bytes = read_file(path, &file_size);
    CHECK(file_bytes && file_size == memory_size && !memcmp(file_bytes, memory, file_size), "file and memory differ");

    wj_file *file = NULL, *in_memory = NULL;
    CHECK(wj_open(path, &file, &error) == WJ_OK, "open: %s", error.message);
    CHECK(wj_open_memory(memory, memory_size, &in_memory, &error) == WJ_OK, "open memory: %s", error.message);
    wj_free(memory);  /* the file keeps its own copy */
    check_contents(file);
    check_contents(in_memory);

    CHECK(wj_has_metadata(file) == 1 && wj_metadata_count(file) == 2, "metadata count");
    const char *key, *value;
    CHECK(wj_metadata_get(file, 0, &key, &value, &error) == WJ_OK && !strcmp(key, "author") && !strcmp(value, "c test"), "metadata 0 (key order)");
    CHECK(wj_metadata_get(file, 2, &key, &value, &error) == WJ_ERROR_ARGUMENT, "metadata index out of range");

    /* Errors: codes and messages. */
    size_t index;
    CHECK(wj_tensor_find(file, "w.bf16", &index, &error) == WJ_OK && index == 2, "find");
    CHECK(wj_tensor_find(file, "nope", &index, &error) == WJ_ERROR_NOT_FOUND && strstr(error.message, "nope"), "not found: %s", error.message);
    CHECK(wj_tensor_find(NULL, "nope", &index, &error) == WJ_ERROR_ARGUMENT, "NULL file");
    CHECK(wj_tensor_find(file, NULL, &index, &error) == WJ_ERROR_ARGUMENT, "NULL name");
    wj_tensor_info info;
    CHECK(wj_tensor_info_get(file, 5, &info, &error) == WJ_ERROR_ARGUMENT && strstr(error.message, "out of range"), "index: %s", error.message);
    CHECK(wj_tensor_info_get(file, (size_t)-1, &info, &error) == WJ_ERROR_ARGUMENT, "index -1");
    CHECK(wj_tensor_info_get(file, 0, NULL, &error) == WJ_ERROR_ARGUMENT, "NULL info");
    float small[4];
    CHECK(wj_tensor_read(file, 0, small, sizeof small, &error) == WJ_ERROR_BUFFER && strstr(error.message, "w.f32"), "buffer: %s", error.message);
    CHECK(wj_tensor_read(file, 0, NULL, sizeof weight, &error) == WJ_ERROR_ARGUMENT, "NULL buffer");
    CHECK(wj_tensor_count(NULL) == 0 && wj_has_metadata(NULL) == 0, "NULL file counts");
    CHECK(wj_open("/nonexistent/m.wjpg", &in_memory, &error) == WJ_ERROR_IO && strstr(error.message, "/nonexistent/m.wjpg"), "missing: %s", error.message);
    CHECK(wj_open(argv[0], &in_memory, &error) == WJ_ERROR_FORMAT && in_memory == NULL, "foreign file: %s", error.message);
    CHECK(wj_open(path, NULL, &error) == WJ_ERROR_ARGUMENT, "NULL handle address");
    CHECK(wj_open_memory(file_bytes, 10, &in_memory, &error) == WJ_ERROR_FORMAT, "truncated: %s", error.message);
    CHECK(wj_open_memory(NULL, 10, &in_memory, &error) == WJ_ERROR_ARGUMENT, "NULL data");
    CHECK(wj_open(path, &in_memory, NULL) == WJ_OK, "NULL error pointer is allowed");
    wj_close(in_memory);
    wj_close(NULL);

    snprintf(other, sizeof other, "%s/c-test-bad.wjpg", dir);
    wj_tensor bad = tensors[0];
    bad.size -= 4;
    CHECK(wj_compress(&bad, 1, NULL, 0, NULL, other, &error) == WJ_ERROR_ARGUMENT && strstr(error.message, "w.f32"), "size: %s", error.message);
    bad = tensors[0]; bad.dtype = "F33";
    CHECK(wj_compress(&bad, 1, NULL, 0, NULL, other, &error) == WJ_ERROR_ARGUMENT && strstr(error.message, "F33"), "dtype: %s", error.message);
    bad = tensors[0]; bad.rank = 9;
    CHECK(wj_compress(&bad, 1, NULL, 0, NULL, other, &error) == WJ_ERROR_ARGUMENT, "rank: %s", error.message);
    wj_tensor twice[] = {tensors[3], tensors[3]};
    CHECK(wj_compress(twice, 2, NULL, 0, NULL, other, &error) == WJ_ERROR_ARGUMENT && strstr(error.message, "twice"), "duplicate: %s", error.message);
    options.quality = 101;
    CHECK(wj_compress(tensors, count, NULL, 0, &options, other, &error) == WJ_ERROR_ARGUMENT, "quality 101: %s", error.message);
    options.quality = 0; options.max_rel_error = 1.5;
    CHECK(wj_compress(tensors, count, NULL, 0, &options, other, &error) == WJ_ERROR_ARGUMENT, "error bound 1.5: %s", error.message);
    float with_nan[N];
    memcpy(with_nan, weight, sizeof weight);
    with_nan[17] = NAN;
    bad = tensors[0]; bad.data = with_nan;
    CHECK(wj_compress(&bad, 1, NULL, 0, NULL, other, &error) == WJ_ERROR_CODING && strstr(error.message, "w.f32"), "NaN: %s", error.message);
    CHECK(wj_compress(tensors, count, NULL, 0, NULL, "/nonexistent/dir/x.wjpg", &error) == WJ_ERROR_IO, "unwritable: %s", error.message);
    FILE *probe = fopen(other, "rb");
    CHECK(probe == NULL, "a failed compress left %s behind", other);
    if (probe) fclose(probe);

    /* Concurrent reads of one file agree with a single-threaded read. */
    pthread_t threads[4];
    struct reader_job jobs[4];
    for (int t = 0; t < 4; t++) {
        wj_tensor_info_get(file, (size_t)t % 3, &info, NULL);
        jobs[t] = (struct reader_job){file, (size_t)t % 3, malloc(info.decoded_bytes), info.decoded_bytes, 0};
        wj_tensor_read(file, jobs[t].index, jobs[t].expected, jobs[t].size, NULL);
        pthread_create(&threads[t], NULL, read_in_thread, &jobs[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        CHECK(jobs[t].ok, "thread %d read different bytes", t);
        free(jobs[t].expected);
    }
    wj_close(file);

    /* Damage: each of the first 640 bytes of the file (preamble, header) and every 257th byte after them
       flipped in turn opens or reads as a status code, never a crash; damage past the header is
       found by a read (payload CRC-32). */
    size_t damaged_reads = 0, flipped = 0;
    for (size_t at = 0; at < file_size; at += at < 640 ? 1 : 257) {
        flipped++;
        file_bytes[at] ^= 0x5A;
        wj_file *damaged = NULL;
        int status = wj_open_memory(file_bytes, file_size, &damaged, &error);
        CHECK(status == WJ_OK || status == WJ_ERROR_FORMAT, "byte %zu: open status %d", at, status);
        if (status == WJ_OK) {
            int all_ok = 1;
            for (size_t i = 0; i < wj_tensor_count(damaged); i++) {
                wj_tensor_info_get(damaged, i, &info, NULL);
                void *out = malloc(info.decoded_bytes + 1);
                status = wj_tensor_read(damaged, i, out, info.decoded_bytes, &error);
                CHECK(status == WJ_OK || status == WJ_ERROR_FORMAT, "byte %zu: read status %d", at, status);
                all_ok &= status == WJ_OK;
                free(out);
            }
            damaged_reads += !all_ok;
            wj_close(damaged);
        }
        file_bytes[at] ^= 0x5A;
    }
    CHECK(damaged_reads > (flipped - 640) / 2, "only %zu of %zu flipped bytes were found on read", damaged_reads, flipped);
    free(file_bytes);
    remove(path);

    if (failures) { fprintf(stderr, "c_interface_test: %d FAILED\n", failures); return 1; }
    printf("c_interface_test: ok (%zu-byte file; %zu bytes flipped in turn: %zu found on read, the rest on open)\n",
           file_size, flipped, damaged_reads);
    return 0;
}
