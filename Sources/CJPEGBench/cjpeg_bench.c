// Raw libjpeg reference loops for benchmarks: the plain, minimal use of the library, so a
// benchmark can compare the Swift codec path to libjpeg-turbo on the same pixels in the same run.
#include "cjpegbench.h"
#include "cjpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

typedef struct bench_error_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
} bench_error_mgr;

static void bench_error_exit(j_common_ptr cinfo) { longjmp(((bench_error_mgr *)cinfo->err)->jump, 1); }
static void bench_output_message(j_common_ptr cinfo) { (void)cinfo; }

int cjpeg_bench_raw_encode(const uint8_t *pixels, int width, int height, int count, int quality,
                           int optimize, uint8_t *out, size_t out_cap, size_t *offsets,
                           size_t *sizes) {
    if (!pixels || !out || !offsets || !sizes || width < 1 || height < 1 || count < 0 ||
        width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION)
        return CJPEG_ERR_ARGUMENT;
    JSAMPROW *rows = malloc((size_t)height * sizeof *rows);
    if (!rows) return CJPEG_ERR_NOMEM;
    struct jpeg_compress_struct c;
    bench_error_mgr err;
    c.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = bench_error_exit;
    err.pub.output_message = bench_output_message;
    volatile size_t used = 0;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&c);
        free(rows);
        return CJPEG_ERR_LIBJPEG;
    }
    jpeg_create_compress(&c);
    size_t tile = (size_t)width * (size_t)height;
    for (int i = 0; i < count; i++) {
        unsigned char *dst = out + used;
        unsigned long size = (unsigned long)(out_cap - used);
        if (size < 1024) {
            jpeg_destroy_compress(&c);
            free(rows);
            return CJPEG_ERR_NOMEM;
        }
        jpeg_mem_dest(&c, &dst, &size);
        c.image_width = (JDIMENSION)width;
        c.image_height = (JDIMENSION)height;
        c.input_components = 1;
        c.in_color_space = JCS_GRAYSCALE;
        jpeg_set_defaults(&c);
        jpeg_set_quality(&c, quality, TRUE);
        c.optimize_coding = optimize ? TRUE : FALSE;
        jpeg_start_compress(&c, TRUE);
        const uint8_t *src = pixels + (size_t)i * tile;
        for (int y = 0; y < height; y++) rows[y] = (JSAMPROW)(src + (size_t)y * (size_t)width);
        jpeg_write_scanlines(&c, rows, (JDIMENSION)height);
        jpeg_finish_compress(&c);
        if (dst != out + used) { // libjpeg had to allocate: out_cap too small
            free(dst);
            jpeg_destroy_compress(&c);
            free(rows);
            return CJPEG_ERR_NOMEM;
        }
        offsets[i] = used;
        sizes[i] = size;
        used += size;
    }
    jpeg_destroy_compress(&c);
    free(rows);
    return CJPEG_OK;
}

int cjpeg_bench_raw_decode(const uint8_t *jpegs, const size_t *offsets, const size_t *sizes,
                           int count, uint8_t *pixels, int width, int height) {
    if (!jpegs || !offsets || !sizes || !pixels || width < 1 || height < 1 || count < 0 ||
        width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION)
        return CJPEG_ERR_ARGUMENT;
    JSAMPROW *rows = malloc((size_t)height * sizeof *rows);
    if (!rows) return CJPEG_ERR_NOMEM;
    struct jpeg_decompress_struct d;
    bench_error_mgr err;
    d.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = bench_error_exit;
    err.pub.output_message = bench_output_message;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&d);
        free(rows);
        return CJPEG_ERR_LIBJPEG;
    }
    jpeg_create_decompress(&d);
    size_t tile = (size_t)width * (size_t)height;
    for (int i = 0; i < count; i++) {
        jpeg_mem_src(&d, jpegs + offsets[i], (unsigned long)sizes[i]);
        jpeg_read_header(&d, TRUE);
        d.out_color_space = JCS_GRAYSCALE;
        jpeg_start_decompress(&d);
        if (d.output_width != (JDIMENSION)width || d.output_height != (JDIMENSION)height ||
            d.output_components != 1) {
            jpeg_destroy_decompress(&d);
            free(rows);
            return CJPEG_ERR_ARGUMENT;
        }
        uint8_t *dst = pixels + (size_t)i * tile;
        for (int y = 0; y < height; y++) rows[y] = dst + (size_t)y * (size_t)width;
        while (d.output_scanline < d.output_height)
            jpeg_read_scanlines(&d, rows + d.output_scanline, d.output_height - d.output_scanline);
        jpeg_finish_decompress(&d);
    }
    jpeg_destroy_decompress(&d);
    free(rows);
    return CJPEG_OK;
}
