// libjpeg shim: see include/cjpeg.h.
#include "cjpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#define CJPEG_MAX_SCANS 500         // hostile progressive streams: bound the work per image
#define CJPEG_INITIAL_OUTPUT 16384  // first size of the reusable output buffer

// MARK: Error manager

typedef struct shim_error_mgr {
    struct jpeg_error_mgr pub; // must be first: libjpeg sees only this part
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int code;     // code returned by the failing shim call
    int warnings; // corrupt-data warnings of the current call
    int strict;   // warnings are fatal
} shim_error_mgr;

static void shim_error_exit(j_common_ptr cinfo) {
    shim_error_mgr *err = (shim_error_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    err->code = CJPEG_ERR_LIBJPEG;
    longjmp(err->jump, 1);
}

static void shim_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void shim_emit_message(j_common_ptr cinfo, int level) {
    shim_error_mgr *err = (shim_error_mgr *)cinfo->err;
    if (level >= 0) return; // trace messages
    err->pub.num_warnings++;
    err->warnings++;
    if (err->strict) {
        (*cinfo->err->format_message)(cinfo, err->message);
        err->code = CJPEG_ERR_CORRUPT;
        longjmp(err->jump, 1);
    }
    if (err->warnings == 1) (*cinfo->err->format_message)(cinfo, err->message);
}

static void shim_error_init(shim_error_mgr *err, struct jpeg_error_mgr **slot) {
    *slot = jpeg_std_error(&err->pub);
    err->pub.error_exit = shim_error_exit;
    err->pub.output_message = shim_output_message;
    err->pub.emit_message = shim_emit_message;
    err->message[0] = 0;
    err->code = CJPEG_OK;
    err->warnings = 0;
}

static void shim_error_reset(shim_error_mgr *err) {
    err->message[0] = 0;
    err->code = CJPEG_OK;
    err->warnings = 0;
    err->pub.num_warnings = 0;
}

static int shim_fail(shim_error_mgr *err, int code, const char *message) {
    snprintf(err->message, sizeof err->message, "%s", message);
    err->code = code;
    return code;
}

// MARK: Standard Huffman tables (JPEG standard, Annex K.3)

static const UINT8 bits_dc_luminance[17] = {0, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
static const UINT8 val_dc_luminance[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const UINT8 bits_dc_chrominance[17] = {0, 0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
static const UINT8 val_dc_chrominance[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const UINT8 bits_ac_luminance[17] = {0, 0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d};
static const UINT8 val_ac_luminance[162] = {
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
    0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
    0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45,
    0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
    0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
    0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
    0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
    0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa};
static const UINT8 bits_ac_chrominance[17] = {0, 0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77};
static const UINT8 val_ac_chrominance[162] = {
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
    0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
    0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
    0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44,
    0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
    0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
    0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
    0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
    0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
    0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
    0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa};

/// Overwrites an existing table with standard content (never allocates).
static void set_huff_table(JHUFF_TBL *t, const UINT8 *bits, const UINT8 *val, size_t nval) {
    memcpy(t->bits, bits, sizeof t->bits);
    memcpy(t->huffval, val, nval);
    memset(t->huffval + nval, 0, sizeof t->huffval - nval);
    t->sent_table = FALSE;
}

/// Restores the standard tables in slots 0 and 1. libjpeg-turbo 2.1.5's jpeg_set_defaults keeps
/// the optimized tables of the previous image (a later plain encode would write a corrupt stream).
static void restore_std_huff_tables(JHUFF_TBL **dc, JHUFF_TBL **ac) {
    if (dc[0]) set_huff_table(dc[0], bits_dc_luminance, val_dc_luminance, 12);
    if (ac[0]) set_huff_table(ac[0], bits_ac_luminance, val_ac_luminance, 162);
    if (dc[1]) set_huff_table(dc[1], bits_dc_chrominance, val_dc_chrominance, 12);
    if (ac[1]) set_huff_table(ac[1], bits_ac_chrominance, val_ac_chrominance, 162);
}

// MARK: Encoder

struct cjpeg_encoder {
    struct jpeg_compress_struct cinfo; // first member: callbacks cast cinfo back to the encoder
    shim_error_mgr err;
    struct jpeg_destination_mgr dest;
    unsigned char *buf; // reusable output buffer (owned)
    size_t cap;
    size_t len;
    JSAMPROW *rows; // reusable row pointers
    size_t rows_cap;
    jvirt_barray_ptr coef_arrays[1]; // must outlive jpeg_write_coefficients .. finish
};

static void dest_init(j_compress_ptr cinfo) {
    cjpeg_encoder *enc = (cjpeg_encoder *)cinfo;
    enc->dest.next_output_byte = enc->buf;
    enc->dest.free_in_buffer = enc->cap;
    enc->len = 0;
}

static boolean dest_empty(j_compress_ptr cinfo) {
    // Called when the whole buffer is full: grow it, keep the content.
    cjpeg_encoder *enc = (cjpeg_encoder *)cinfo;
    size_t old = enc->cap;
    size_t cap = old * 2;
    unsigned char *p = (cap > old) ? realloc(enc->buf, cap) : NULL;
    if (!p) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 100);
    enc->buf = p;
    enc->cap = cap;
    enc->dest.next_output_byte = p + old;
    enc->dest.free_in_buffer = cap - old;
    return TRUE;
}

static void dest_term(j_compress_ptr cinfo) {
    cjpeg_encoder *enc = (cjpeg_encoder *)cinfo;
    enc->len = enc->cap - enc->dest.free_in_buffer;
}

cjpeg_encoder *cjpeg_encoder_create(void) {
    cjpeg_encoder *enc = calloc(1, sizeof *enc);
    if (!enc) return NULL;
    enc->buf = malloc(CJPEG_INITIAL_OUTPUT);
    if (!enc->buf) {
        free(enc);
        return NULL;
    }
    enc->cap = CJPEG_INITIAL_OUTPUT;
    shim_error_init(&enc->err, &enc->cinfo.err);
    enc->err.strict = 0;
    if (setjmp(enc->err.jump)) {
        jpeg_destroy_compress(&enc->cinfo);
        free(enc->buf);
        free(enc);
        return NULL;
    }
    jpeg_create_compress(&enc->cinfo);
    enc->dest.init_destination = dest_init;
    enc->dest.empty_output_buffer = dest_empty;
    enc->dest.term_destination = dest_term;
    enc->cinfo.dest = &enc->dest;
    return enc;
}

void cjpeg_encoder_destroy(cjpeg_encoder *enc) {
    if (!enc) return;
    jpeg_destroy_compress(&enc->cinfo);
    free(enc->buf);
    free(enc->rows);
    free(enc);
}

const char *cjpeg_encoder_message(const cjpeg_encoder *enc) { return enc ? enc->err.message : ""; }

static int valid_dimensions(int width, int height) {
    return width >= 1 && height >= 1 && width <= JPEG_MAX_DIMENSION && height <= JPEG_MAX_DIMENSION;
}

/// Checks a natural-order quantization table: entries 1...32767.
static int valid_quant_table(const uint16_t *q) {
    for (int i = 0; i < DCTSIZE2; i++)
        if (q[i] < 1 || q[i] > 32767) return 0;
    return 1;
}

/// Sets up a grayscale compression (call inside setjmp). `exact_table` adds quant_table without
/// clamping (coefficients are relative to it).
static void configure(cjpeg_encoder *enc, int width, int height, const cjpeg_options *o,
                      const uint16_t *quant_table, int exact_table) {
    j_compress_ptr c = &enc->cinfo;
    c->image_width = (JDIMENSION)width;
    c->image_height = (JDIMENSION)height;
    c->input_components = 1;
    c->in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(c);
    restore_std_huff_tables(c->dc_huff_tbl_ptrs, c->ac_huff_tbl_ptrs);
    if (quant_table) {
        unsigned int basic[DCTSIZE2];
        for (int i = 0; i < DCTSIZE2; i++) basic[i] = quant_table[i];
        jpeg_add_quant_table(c, 0, basic, 100, (exact_table || !o->force_baseline) ? FALSE : TRUE);
    } else {
        jpeg_set_quality(c, o->quality, o->force_baseline ? TRUE : FALSE);
    }
    c->optimize_coding = (o->optimize_huffman && !o->arithmetic) ? TRUE : FALSE;
    c->arith_code = o->arithmetic ? TRUE : FALSE;
    c->write_JFIF_header = o->write_jfif ? TRUE : FALSE;
    if (o->progressive) jpeg_simple_progression(c);
}

static int check_options(shim_error_mgr *err, const cjpeg_options *o, const uint16_t *quant_table) {
    if (!o) return shim_fail(err, CJPEG_ERR_ARGUMENT, "missing options");
    if (quant_table) {
        if (!valid_quant_table(quant_table))
            return shim_fail(err, CJPEG_ERR_ARGUMENT,
                             "quantization table entries must be in 1...32767");
    } else if (o->quality < 1 || o->quality > 100) {
        char msg[80];
        snprintf(msg, sizeof msg, "quality %d outside 1...100", o->quality);
        return shim_fail(err, CJPEG_ERR_ARGUMENT, msg);
    }
    return CJPEG_OK;
}

int cjpeg_encoder_encode(cjpeg_encoder *enc, const uint8_t *pixels, int width, int height,
                         size_t stride, const cjpeg_options *opts, const uint16_t *quant_table,
                         int abbreviated, const uint8_t **out, size_t *out_len) {
    if (!enc) return CJPEG_ERR_ARGUMENT;
    shim_error_reset(&enc->err);
    if (!out || !out_len) return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT, "missing output");
    *out = NULL;
    *out_len = 0;
    int rc = check_options(&enc->err, opts, quant_table);
    if (rc) return rc;
    if (!valid_dimensions(width, height))
        return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT, "image dimensions must be in 1...65500");
    if (!pixels || stride < (size_t)width)
        return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT, "missing pixels or stride < width");
    if (enc->rows_cap < (size_t)height) {
        JSAMPROW *rows = realloc(enc->rows, (size_t)height * sizeof *rows);
        if (!rows) return shim_fail(&enc->err, CJPEG_ERR_NOMEM, "out of memory (row pointers)");
        enc->rows = rows;
        enc->rows_cap = (size_t)height;
    }
    for (int y = 0; y < height; y++) enc->rows[y] = (JSAMPROW)(pixels + (size_t)y * stride);

    if (setjmp(enc->err.jump)) {
        jpeg_abort_compress(&enc->cinfo);
        return enc->err.code;
    }
    configure(enc, width, height, opts, quant_table, 0);
    if (abbreviated) jpeg_suppress_tables(&enc->cinfo, TRUE);
    jpeg_start_compress(&enc->cinfo, abbreviated ? FALSE : TRUE);
    jpeg_write_scanlines(&enc->cinfo, enc->rows, (JDIMENSION)height);
    jpeg_finish_compress(&enc->cinfo);
    *out = enc->buf;
    *out_len = enc->len;
    return CJPEG_OK;
}

int cjpeg_encoder_tables(cjpeg_encoder *enc, const cjpeg_options *opts,
                         const uint16_t *quant_table, const uint8_t **out, size_t *out_len) {
    if (!enc) return CJPEG_ERR_ARGUMENT;
    shim_error_reset(&enc->err);
    if (!out || !out_len) return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT, "missing output");
    *out = NULL;
    *out_len = 0;
    int rc = check_options(&enc->err, opts, quant_table);
    if (rc) return rc;
    if (setjmp(enc->err.jump)) {
        jpeg_abort_compress(&enc->cinfo);
        return enc->err.code;
    }
    configure(enc, 8, 8, opts, quant_table, 0);
    // Grayscale uses slot 0 only: mark the others as sent so they are not written.
    j_compress_ptr c = &enc->cinfo;
    for (int i = 1; i < NUM_QUANT_TBLS; i++)
        if (c->quant_tbl_ptrs[i]) c->quant_tbl_ptrs[i]->sent_table = TRUE;
    for (int i = 1; i < NUM_HUFF_TBLS; i++) {
        if (c->dc_huff_tbl_ptrs[i]) c->dc_huff_tbl_ptrs[i]->sent_table = TRUE;
        if (c->ac_huff_tbl_ptrs[i]) c->ac_huff_tbl_ptrs[i]->sent_table = TRUE;
    }
    jpeg_write_tables(c);
    jpeg_abort_compress(c); // jpeg_write_tables leaves working memory allocated
    *out = enc->buf;
    *out_len = enc->len;
    return CJPEG_OK;
}

int cjpeg_encoder_write_coefficients(cjpeg_encoder *enc, const int16_t *blocks, size_t block_count,
                                     int width_in_blocks, int height_in_blocks, int width,
                                     int height, const uint16_t *quant_table,
                                     const cjpeg_options *opts, int abbreviated,
                                     const uint8_t **out, size_t *out_len) {
    if (!enc) return CJPEG_ERR_ARGUMENT;
    shim_error_reset(&enc->err);
    if (!out || !out_len) return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT, "missing output");
    *out = NULL;
    *out_len = 0;
    if (!opts) return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT, "missing options");
    if (!quant_table || !valid_quant_table(quant_table))
        return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT,
                         "quantization table entries must be in 1...32767");
    if (opts->force_baseline)
        for (int i = 0; i < DCTSIZE2; i++)
            if (quant_table[i] > 255)
                return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT,
                                 "quantization table entry above 255 with force_baseline");
    if (!valid_dimensions(width, height))
        return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT, "image dimensions must be in 1...65500");
    if (width_in_blocks != (width + 7) / 8 || height_in_blocks != (height + 7) / 8)
        return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT,
                         "block counts do not match the pixel dimensions");
    if (!blocks || block_count != (size_t)width_in_blocks * (size_t)height_in_blocks)
        return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT, "block count mismatch");
    // 8-bit JPEG: |AC| <= 1023 (10 bits), DC in -1024...1023 so DC differences fit 11 bits.
    // libjpeg-turbo does not check AC magnitudes and would write a corrupt stream.
    for (size_t b = 0; b < block_count; b++) {
        const int16_t *blk = blocks + b * DCTSIZE2;
        if (blk[0] < -1024 || blk[0] > 1023)
            return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT, "DC coefficient outside -1024...1023");
        for (int k = 1; k < DCTSIZE2; k++)
            if (blk[k] < -1023 || blk[k] > 1023)
                return shim_fail(&enc->err, CJPEG_ERR_ARGUMENT,
                                 "AC coefficient outside -1023...1023");
    }

    if (setjmp(enc->err.jump)) {
        jpeg_abort_compress(&enc->cinfo);
        return enc->err.code;
    }
    j_compress_ptr c = &enc->cinfo;
    configure(enc, width, height, opts, quant_table, 1);
    enc->coef_arrays[0] = (*c->mem->request_virt_barray)((j_common_ptr)c, JPOOL_IMAGE, FALSE,
                                                         (JDIMENSION)width_in_blocks,
                                                         (JDIMENSION)height_in_blocks, 1);
    jpeg_write_coefficients(c, enc->coef_arrays); // realizes the array, writes SOI only
    size_t row_values = (size_t)width_in_blocks * DCTSIZE2;
    for (int row = 0; row < height_in_blocks; row++) {
        JBLOCKARRAY dst = (*c->mem->access_virt_barray)((j_common_ptr)c, enc->coef_arrays[0],
                                                        (JDIMENSION)row, 1, TRUE);
        memcpy(dst[0], blocks + (size_t)row * row_values, row_values * sizeof(JCOEF));
    }
    // Tables are written during jpeg_finish_compress: suppress them now for abbreviated output.
    if (abbreviated) jpeg_suppress_tables(c, TRUE);
    jpeg_finish_compress(c);
    *out = enc->buf;
    *out_len = enc->len;
    return CJPEG_OK;
}

// MARK: Decoder

struct cjpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    shim_error_mgr err;
    struct jpeg_progress_mgr progress;
    int in_header; // phase 1 done, phase 2 pending
    int for_coefficients;
    JSAMPROW *rows;
    size_t rows_cap;
};

static void scan_limit_monitor(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > CJPEG_MAX_SCANS) {
        shim_error_mgr *err = (shim_error_mgr *)cinfo->err;
        snprintf(err->message, sizeof err->message, "more than %d scans", CJPEG_MAX_SCANS);
        err->code = CJPEG_ERR_CORRUPT;
        longjmp(err->jump, 1);
    }
}

cjpeg_decoder *cjpeg_decoder_create(void) {
    cjpeg_decoder *dec = calloc(1, sizeof *dec);
    if (!dec) return NULL;
    shim_error_init(&dec->err, &dec->cinfo.err);
    dec->err.strict = 1;
    if (setjmp(dec->err.jump)) {
        jpeg_destroy_decompress(&dec->cinfo);
        free(dec);
        return NULL;
    }
    jpeg_create_decompress(&dec->cinfo);
    dec->progress.progress_monitor = scan_limit_monitor;
    return dec;
}

void cjpeg_decoder_destroy(cjpeg_decoder *dec) {
    if (!dec) return;
    jpeg_destroy_decompress(&dec->cinfo);
    free(dec->rows);
    free(dec);
}

const char *cjpeg_decoder_message(const cjpeg_decoder *dec) { return dec ? dec->err.message : ""; }

void cjpeg_decoder_set_strict(cjpeg_decoder *dec, int strict) {
    if (dec) dec->err.strict = strict ? 1 : 0;
}

int cjpeg_decoder_warning_count(const cjpeg_decoder *dec) { return dec ? dec->err.warnings : 0; }

void cjpeg_decoder_abort(cjpeg_decoder *dec) {
    if (!dec) return;
    jpeg_abort_decompress(&dec->cinfo);
    dec->in_header = 0;
}

/// Fails (inside setjmp) if bytes follow EOI in strict mode.
static void check_trailing(cjpeg_decoder *dec) {
    size_t left = dec->cinfo.src ? dec->cinfo.src->bytes_in_buffer : 0;
    if (left > 0 && dec->err.strict) {
        snprintf(dec->err.message, sizeof dec->err.message, "%zu bytes of data after EOI", left);
        dec->err.code = CJPEG_ERR_CORRUPT;
        longjmp(dec->err.jump, 1);
    }
}

/// Marks all existing tables as "not defined by this call" with sentinels that a DQT / DHT
/// segment always overwrites: an all-zero quantization table (DQT writes 64 entries; zero steps
/// are invalid anyway) and bits[0] = 1 in Huffman tables (DHT stores bits[0] = 0; libjpeg never
/// reads bits[0]). libjpeg's own sent_table flag is untouched by DQT/DHT parsing, so it cannot
/// tell which tables the current streams defined.
static void mark_tables_stale(j_decompress_ptr d) {
    for (int i = 0; i < NUM_QUANT_TBLS; i++)
        if (d->quant_tbl_ptrs[i]) memset(d->quant_tbl_ptrs[i]->quantval, 0, sizeof d->quant_tbl_ptrs[i]->quantval);
    for (int i = 0; i < NUM_HUFF_TBLS; i++) {
        if (d->dc_huff_tbl_ptrs[i]) d->dc_huff_tbl_ptrs[i]->bits[0] = 1;
        if (d->ac_huff_tbl_ptrs[i]) d->ac_huff_tbl_ptrs[i]->bits[0] = 1;
    }
}

static int quant_table_stale(const JQUANT_TBL *t) {
    for (int i = 0; i < DCTSIZE2; i++)
        if (t->quantval[i] != 0) return 0;
    return 1;
}

static int quant_table_nonzero(const JQUANT_TBL *t) {
    for (int i = 0; i < DCTSIZE2; i++)
        if (t->quantval[i] == 0) return 0;
    return 1;
}

static int huff_table_stale(const JHUFF_TBL *t) { return t && t->bits[0] != 0; }

static void clear_huff_table(JHUFF_TBL *t) {
    memset(t->bits, 0, sizeof t->bits);
    memset(t->huffval, 0, sizeof t->huffval);
}

/// Makes tables left over from earlier calls behave as in a fresh decompressor: a used quant table
/// not defined now is an error; Huffman slots 0/1 get the standard tables (libjpeg's default for
/// streams without DHT); slots 2/3 get empty tables (any code in them is a decode error).
static void resolve_stale_tables(j_decompress_ptr d) {
    for (int ci = 0; ci < d->num_components; ci++) {
        int q = d->comp_info[ci].quant_tbl_no;
        if (q >= 0 && q < NUM_QUANT_TBLS && d->quant_tbl_ptrs[q] && quant_table_stale(d->quant_tbl_ptrs[q]))
            ERREXIT1(d, JERR_NO_QUANT_TABLE, q);
    }
    JHUFF_TBL **dc = d->dc_huff_tbl_ptrs, **ac = d->ac_huff_tbl_ptrs;
    if (huff_table_stale(dc[0])) set_huff_table(dc[0], bits_dc_luminance, val_dc_luminance, 12);
    if (huff_table_stale(ac[0])) set_huff_table(ac[0], bits_ac_luminance, val_ac_luminance, 162);
    if (huff_table_stale(dc[1])) set_huff_table(dc[1], bits_dc_chrominance, val_dc_chrominance, 12);
    if (huff_table_stale(ac[1])) set_huff_table(ac[1], bits_ac_chrominance, val_ac_chrominance, 162);
    for (int i = 2; i < NUM_HUFF_TBLS; i++) {
        if (huff_table_stale(dc[i])) clear_huff_table(dc[i]);
        if (huff_table_stale(ac[i])) clear_huff_table(ac[i]);
    }
}

int cjpeg_decoder_read_header(cjpeg_decoder *dec, const uint8_t *data, size_t len,
                              const uint8_t *tables, size_t tables_len, uint64_t max_pixels,
                              int for_coefficients, cjpeg_info *info) {
    if (!dec) return CJPEG_ERR_ARGUMENT;
    shim_error_reset(&dec->err);
    dec->in_header = 0;
    if (!info) return shim_fail(&dec->err, CJPEG_ERR_ARGUMENT, "missing info");
    memset(info, 0, sizeof *info);
    j_decompress_ptr d = &dec->cinfo;
    if (setjmp(dec->err.jump)) {
        jpeg_abort_decompress(&dec->cinfo);
        dec->in_header = 0;
        return dec->err.code;
    }
    jpeg_abort_decompress(d); // leftovers of an abandoned call
    d->progress = NULL;
    mark_tables_stale(d);
    if (tables) {
        if (tables_len == 0) ERREXIT(d, JERR_INPUT_EMPTY);
        jpeg_mem_src(d, tables, (unsigned long)tables_len);
        if (jpeg_read_header(d, FALSE) != JPEG_HEADER_TABLES_ONLY) {
            snprintf(dec->err.message, sizeof dec->err.message,
                     "the tables stream is not a tables-only JPEG stream");
            dec->err.code = CJPEG_ERR_CORRUPT;
            longjmp(dec->err.jump, 1);
        }
        check_trailing(dec);
    }
    if (!data || len == 0) ERREXIT(d, JERR_INPUT_EMPTY);
    jpeg_mem_src(d, data, (unsigned long)len);
    jpeg_read_header(d, TRUE);
    uint64_t pixels = (uint64_t)d->image_width * (uint64_t)d->image_height;
    if (pixels > max_pixels) {
        snprintf(dec->err.message, sizeof dec->err.message,
                 "image of %ux%u pixels exceeds the budget of %llu pixels", d->image_width,
                 d->image_height, (unsigned long long)max_pixels);
        dec->err.code = CJPEG_ERR_TOO_LARGE;
        longjmp(dec->err.jump, 1);
    }
    if (for_coefficients && d->num_components != 1) {
        snprintf(dec->err.message, sizeof dec->err.message,
                 "coefficients need a single-component (grayscale) JPEG, got %d components",
                 d->num_components);
        dec->err.code = CJPEG_ERR_ARGUMENT;
        longjmp(dec->err.jump, 1);
    }
    resolve_stale_tables(d);
    // ITU T.81 B.2.4.1: quantization steps are 1...255 (1...65535 for 16-bit tables); libjpeg
    // accepts 0, which no encoder writes and which would zero every coefficient it scales.
    for (int ci = 0; ci < d->num_components; ci++) {
        int q = d->comp_info[ci].quant_tbl_no;
        if (q >= 0 && q < NUM_QUANT_TBLS && d->quant_tbl_ptrs[q] && !quant_table_nonzero(d->quant_tbl_ptrs[q])) {
            snprintf(dec->err.message, sizeof dec->err.message, "quantization table %d has a zero step", q);
            dec->err.code = CJPEG_ERR_CORRUPT;
            longjmp(dec->err.jump, 1);
        }
    }
    if (d->progressive_mode) d->progress = &dec->progress;
    d->out_color_space = JCS_GRAYSCALE;
    info->width = (int)d->image_width;
    info->height = (int)d->image_height;
    info->components = d->num_components;
    info->width_in_blocks = (int)d->comp_info[0].width_in_blocks;
    info->height_in_blocks = (int)d->comp_info[0].height_in_blocks;
    info->progressive = d->progressive_mode ? 1 : 0;
    info->arithmetic = d->arith_code ? 1 : 0;
    dec->in_header = 1;
    dec->for_coefficients = for_coefficients ? 1 : 0;
    return CJPEG_OK;
}

int cjpeg_decoder_read_pixels(cjpeg_decoder *dec, uint8_t *out, size_t out_len, size_t stride) {
    if (!dec) return CJPEG_ERR_ARGUMENT;
    if (!dec->in_header) return shim_fail(&dec->err, CJPEG_ERR_STATE, "no header read");
    j_decompress_ptr d = &dec->cinfo;
    size_t width = d->image_width, height = d->image_height;
    if (!out || stride < width || out_len < (height - 1) * stride + width) {
        cjpeg_decoder_abort(dec);
        return shim_fail(&dec->err, CJPEG_ERR_ARGUMENT, "output buffer too small");
    }
    if (dec->rows_cap < height) {
        JSAMPROW *rows = realloc(dec->rows, height * sizeof *rows);
        if (!rows) {
            cjpeg_decoder_abort(dec);
            return shim_fail(&dec->err, CJPEG_ERR_NOMEM, "out of memory (row pointers)");
        }
        dec->rows = rows;
        dec->rows_cap = height;
    }
    for (size_t y = 0; y < height; y++) dec->rows[y] = out + y * stride;
    dec->in_header = 0;
    if (setjmp(dec->err.jump)) {
        jpeg_abort_decompress(&dec->cinfo);
        return dec->err.code;
    }
    jpeg_start_decompress(d);
    if (d->output_components != 1 || d->output_width != width || d->output_height != height)
        ERREXIT(d, JERR_CONVERSION_NOTIMPL);
    while (d->output_scanline < d->output_height)
        jpeg_read_scanlines(d, dec->rows + d->output_scanline, d->output_height - d->output_scanline);
    jpeg_finish_decompress(d);
    check_trailing(dec);
    return CJPEG_OK;
}

int cjpeg_decoder_read_coefficients(cjpeg_decoder *dec, int16_t *blocks, size_t block_count,
                                    uint16_t *quant_table) {
    if (!dec) return CJPEG_ERR_ARGUMENT;
    if (!dec->in_header || !dec->for_coefficients)
        return shim_fail(&dec->err, CJPEG_ERR_STATE, "no coefficient header read");
    j_decompress_ptr d = &dec->cinfo;
    jpeg_component_info *comp = &d->comp_info[0];
    size_t wib = comp->width_in_blocks, hib = comp->height_in_blocks;
    if (!blocks || !quant_table || block_count != wib * hib) {
        cjpeg_decoder_abort(dec);
        return shim_fail(&dec->err, CJPEG_ERR_ARGUMENT, "coefficient buffer size mismatch");
    }
    dec->in_header = 0;
    if (setjmp(dec->err.jump)) {
        jpeg_abort_decompress(&dec->cinfo);
        return dec->err.code;
    }
    jvirt_barray_ptr *arrays = jpeg_read_coefficients(d);
    if (!arrays) ERREXIT(d, JERR_NOT_COMPILED); // suspension cannot happen with a memory source
    comp = &d->comp_info[0];
    size_t row_values = wib * DCTSIZE2;
    for (size_t row = 0; row < hib; row++) {
        JBLOCKARRAY src = (*d->mem->access_virt_barray)((j_common_ptr)d, arrays[0],
                                                        (JDIMENSION)row, 1, FALSE);
        memcpy(blocks + row * row_values, src[0], row_values * sizeof(JCOEF));
    }
    if (!comp->quant_table) ERREXIT1(d, JERR_NO_QUANT_TABLE, comp->quant_tbl_no);
    if (!quant_table_nonzero(comp->quant_table)) {
        snprintf(dec->err.message, sizeof dec->err.message, "quantization table %d has a zero step",
                 comp->quant_tbl_no);
        dec->err.code = CJPEG_ERR_CORRUPT;
        longjmp(dec->err.jump, 1);
    }
    for (int i = 0; i < DCTSIZE2; i++) quant_table[i] = comp->quant_table->quantval[i];
    jpeg_finish_decompress(d);
    check_trailing(dec);
    return CJPEG_OK;
}
