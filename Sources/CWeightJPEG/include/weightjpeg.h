/*
 * weightjpeg.h: the C interface of libweightjpeg, which reads and writes WeightJPEG's .wjpg files
 * (neural-network weights compressed with JPEG and scalar/entropy codings; docs/FORMAT.md).
 *
 * Versioning: WJ_API_VERSION changes when a declaration below changes incompatibly; wj_version()
 * returns the library's semantic version and wj_api_version() the API version it was built with.
 *
 * Errors: every function that can fail returns a status (WJ_OK or a WJ_ERROR_* code) and, when
 * `error` is not NULL, fills it with the code and a NUL-terminated message naming the file and the
 * tensor (truncated to fit). No function aborts the process on bad input: a damaged or foreign
 * file, a null pointer, an index out of range or a buffer of the wrong size is a status code.
 *
 * Threads: a wj_file may be used from several threads at once (wj_tensor_read decodes tensors in
 * parallel when called concurrently); wj_close must not race with other calls on the same file.
 *
 * Memory: wj_open maps the file and validates its header only; wj_tensor_read reads (and checks
 * the CRC-32 of) that tensor's payloads alone, so reading one tensor of a large file costs about
 * that tensor's payload bytes plus its decoded size.
 */
#ifndef WEIGHTJPEG_H
#define WEIGHTJPEG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WJ_API_VERSION 1

/* The largest tensor rank a .wjpg file holds. */
#define WJ_MAX_RANK 8

/* Status codes. */
#define WJ_OK 0
#define WJ_ERROR_ARGUMENT 1   /* a NULL pointer, an index out of range, an invalid option or tensor */
#define WJ_ERROR_NOT_FOUND 2  /* no tensor of that name */
#define WJ_ERROR_BUFFER 3     /* the caller's buffer is smaller than the decoded tensor */
#define WJ_ERROR_IO 4         /* a file cannot be opened, read or written */
#define WJ_ERROR_FORMAT 5     /* not a .wjpg file, or a damaged one (checksum, bounds, corrupt payload) */
#define WJ_ERROR_CODING 6     /* a tensor cannot be compressed (e.g. NaN or infinity in a lossy coding) */
#define WJ_ERROR_INTERNAL 7   /* anything else; the message says what */

/* An error: its code and a message. */
typedef struct wj_error {
    int code;
    char message[1024];
} wj_error;

/* An opened .wjpg file (opaque). */
typedef struct wj_file wj_file;

/* What the header says about one tensor. The strings belong to the wj_file and stay valid until
   wj_close. */
typedef struct wj_tensor_info {
    const char *name;        /* as in the source model, e.g. "encoder.layer.0.attention.self.query.weight" */
    const char *dtype;       /* safetensors spelling: "F32", "F16", "BF16", "I64", ... */
    const char *coding;      /* how the file codes it: "exact", "float16", "int8-row", "jpeg", ... */
    int32_t rank;            /* 0 ... WJ_MAX_RANK */
    int64_t shape[WJ_MAX_RANK]; /* dimensions of the decoded tensor, outermost first; unused ones 0 */
    uint64_t decoded_bytes;  /* bytes wj_tensor_read writes: product(shape) x size of dtype */
    uint64_t stored_bytes;   /* bytes of its payloads in the file */
} wj_tensor_info;

/* One tensor to compress: row-major, `size` bytes of `dtype` at `data` (size must equal
   product(shape) x size of dtype). */
typedef struct wj_tensor {
    const char *name;
    const char *dtype;
    int32_t rank;
    const int64_t *shape;    /* `rank` dimensions (may be NULL when rank is 0) */
    const void *data;
    uint64_t size;
} wj_tensor;

/* One `__metadata__` pair (UTF-8). */
typedef struct wj_metadata_item {
    const char *key;
    const char *value;
} wj_metadata_item;

/* How wj_compress codes the tensors (as `weightjpeg compress` with the same options); start from
   wj_options_init. The defaults keep every float tensor within relative RMS error 0.002 (1-D ones
   0.0002), which real networks survive; JPEG needs a quality. */
typedef struct wj_options {
    int32_t quality;         /* 1-100: JPEG at this quality for image-like tensors (the others stay
                                error-bounded); 0: no quality, every float tensor error-bounded */
    double max_rel_error;    /* 0 < e < 1: the bound on each float tensor's relative RMS error
                                ||dW||/||W|| (e/10 for 1-D tensors); 0: the default (0.002 without
                                a quality, none for the JPEG-coded tensors with one) */
    int32_t jobs;            /* worker threads; 0: one per core */
} wj_options;

/* The library's version, "MAJOR.MINOR.PATCH" (static string). */
const char *wj_version(void);
/* WJ_API_VERSION of the library. */
int wj_api_version(void);

/* Fills `options` with the defaults (no quality, the default error bound, one job per core). */
void wj_options_init(wj_options *options);

/* Opens the .wjpg file at `path` (memory-mapped; only the header is read and validated). */
int wj_open(const char *path, wj_file **file, wj_error *error);
/* Opens a .wjpg file held in memory: the `size` bytes at `data` are copied. */
int wj_open_memory(const void *data, size_t size, wj_file **file, wj_error *error);
/* Closes a file (NULL: no effect). */
void wj_close(wj_file *file);

/* Number of tensors (0 for NULL). */
size_t wj_tensor_count(const wj_file *file);
/* The index of the tensor named `name`. */
int wj_tensor_find(const wj_file *file, const char *name, size_t *index, wj_error *error);
/* Header facts of tensor `index`. */
int wj_tensor_info_get(const wj_file *file, size_t index, wj_tensor_info *info, wj_error *error);
/* Decodes tensor `index` into `buffer` in its original dtype (row-major, native byte order; the
   bytes safetensors would hold); `size` must be at least its decoded_bytes, of which exactly
   decoded_bytes are written. */
int wj_tensor_read(wj_file *file, size_t index, void *buffer, size_t size, wj_error *error);

/* Whether the file has a `__metadata__` map (1) or not (0). */
int wj_has_metadata(const wj_file *file);
/* Number of metadata pairs (0 when there is no map). */
size_t wj_metadata_count(const wj_file *file);
/* Metadata pair `index`, in key order; the strings belong to the file. */
int wj_metadata_get(const wj_file *file, size_t index, const char **key, const char **value, wj_error *error);

/* Compresses `count` named tensors (and `__metadata__` when `metadata` is not NULL) into a .wjpg
   file at `path`, written atomically (temporary file, then rename). `options` NULL: defaults. */
int wj_compress(const wj_tensor *tensors, size_t count, const wj_metadata_item *metadata, size_t metadata_count,
                const wj_options *options, const char *path, wj_error *error);
/* The same, into a new buffer: *data (free it with wj_free) holds *size bytes. */
int wj_compress_to_memory(const wj_tensor *tensors, size_t count, const wj_metadata_item *metadata,
                          size_t metadata_count, const wj_options *options, void **data, size_t *size, wj_error *error);
/* Frees a buffer from wj_compress_to_memory (NULL: no effect). */
void wj_free(void *data);

#ifdef __cplusplus
}
#endif

#endif
