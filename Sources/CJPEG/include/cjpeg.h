#ifndef CJPEG_H
#define CJPEG_H

// Thin C shim over libjpeg(-turbo) for 8-bit grayscale images.
//
// libjpeg reports fatal errors through error_exit(), whose default calls exit(); Swift cannot use
// setjmp. Every function below does its own setjmp, turns libjpeg errors into a nonzero return code
// and copies libjpeg's message into a buffer readable with cjpeg_encoder_message() /
// cjpeg_decoder_message(). After an error the object is reset and stays usable.
//
// Objects are not thread-safe: use one encoder and one decoder per thread.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Return codes (0 is success).
enum {
    CJPEG_OK = 0,
    CJPEG_ERR_LIBJPEG = 1,   ///< libjpeg raised a fatal error
    CJPEG_ERR_CORRUPT = 2,   ///< corrupt-data warning in strict mode, or trailing data after EOI
    CJPEG_ERR_ARGUMENT = 3,  ///< invalid argument (checked before libjpeg is called)
    CJPEG_ERR_TOO_LARGE = 4, ///< image exceeds the caller's pixel budget
    CJPEG_ERR_NOMEM = 5,     ///< allocation failed in the shim
    CJPEG_ERR_STATE = 6,     ///< call out of order (e.g. read pixels without a header)
};

/// Encoder parameters.
typedef struct cjpeg_options {
    int quality;          ///< 1...100, IJG scaling; ignored when a quantization table is given
    int force_baseline;   ///< clamp quantization entries to 255 (8-bit DQT)
    int optimize_huffman; ///< per-image optimized Huffman tables (Huffman coding only)
    int arithmetic;       ///< arithmetic coding instead of Huffman
    int progressive;      ///< progressive scans (jpeg_simple_progression)
    int write_jfif;       ///< write a JFIF APP0 marker (18 bytes)
} cjpeg_options;

/// Header facts of a decoded stream.
typedef struct cjpeg_info {
    int width;
    int height;
    int components;
    int width_in_blocks;  ///< component 0
    int height_in_blocks; ///< component 0
    int progressive;
    int arithmetic;
} cjpeg_info;

typedef struct cjpeg_encoder cjpeg_encoder;
typedef struct cjpeg_decoder cjpeg_decoder;

// MARK: Encoder

/// Creates a compressor; NULL when out of memory.
cjpeg_encoder *cjpeg_encoder_create(void);
/// Destroys a compressor (NULL is ignored).
void cjpeg_encoder_destroy(cjpeg_encoder *enc);
/// Message of the last failed call ("" if none).
const char *cjpeg_encoder_message(const cjpeg_encoder *enc);

/// Encodes an 8-bit grayscale image. `quant_table` (64 entries, natural order, 1...32767) overrides
/// `opts->quality` when not NULL. `abbreviated` nonzero omits the tables (DQT, standard DHT).
/// On success *out points to the stream, owned by the encoder and valid until its next call.
int cjpeg_encoder_encode(cjpeg_encoder *enc, const uint8_t *pixels, int width, int height,
                         size_t stride, const cjpeg_options *opts, const uint16_t *quant_table,
                         int abbreviated, const uint8_t **out, size_t *out_len);

/// Writes a tables-only stream (SOI, DQT, DHT unless arithmetic, EOI) with the tables that
/// cjpeg_encoder_encode would use for the same options. Output as for cjpeg_encoder_encode.
int cjpeg_encoder_tables(cjpeg_encoder *enc, const cjpeg_options *opts,
                         const uint16_t *quant_table, const uint8_t **out, size_t *out_len);

/// Writes quantized DCT coefficients (jpeg_write_coefficients): `blocks` holds
/// width_in_blocks * height_in_blocks blocks row-major, 64 int16 each in natural order;
/// `quant_table` (64, natural order, 1...32767) is written as is. opts->quality is ignored.
int cjpeg_encoder_write_coefficients(cjpeg_encoder *enc, const int16_t *blocks, size_t block_count,
                                     int width_in_blocks, int height_in_blocks, int width,
                                     int height, const uint16_t *quant_table,
                                     const cjpeg_options *opts, int abbreviated,
                                     const uint8_t **out, size_t *out_len);

// MARK: Decoder

/// Creates a decompressor (strict mode on); NULL when out of memory.
cjpeg_decoder *cjpeg_decoder_create(void);
/// Destroys a decompressor (NULL is ignored).
void cjpeg_decoder_destroy(cjpeg_decoder *dec);
/// Message of the last failed call ("" if none).
const char *cjpeg_decoder_message(const cjpeg_decoder *dec);
/// Strict mode (default on): corrupt-data warnings and data after EOI are errors.
void cjpeg_decoder_set_strict(cjpeg_decoder *dec, int strict);
/// Number of corrupt-data warnings of the last decode (non-strict mode).
int cjpeg_decoder_warning_count(const cjpeg_decoder *dec);

/// Phase 1: optionally reads a tables-only stream, then the header of `data`. Tables that neither
/// stream defines are never taken from earlier calls. Rejects images with more than `max_pixels`
/// pixels before any image-sized allocation. `for_coefficients` nonzero requires one component.
/// `data` and `tables` must stay valid until phase 2 returns.
int cjpeg_decoder_read_header(cjpeg_decoder *dec, const uint8_t *data, size_t len,
                              const uint8_t *tables, size_t tables_len, uint64_t max_pixels,
                              int for_coefficients, cjpeg_info *info);

/// Phase 2a: decodes to 8-bit grayscale rows of `stride` bytes (buffer of out_len bytes).
int cjpeg_decoder_read_pixels(cjpeg_decoder *dec, uint8_t *out, size_t out_len, size_t stride);

/// Phase 2b: reads quantized coefficients (blocks row-major, 64 int16 natural order each) and the
/// quantization table (64, natural order) of component 0.
int cjpeg_decoder_read_coefficients(cjpeg_decoder *dec, int16_t *blocks, size_t block_count,
                                    uint16_t *quant_table);

/// Abandons a decode after phase 1 (phase 2 functions also finish or abort it).
void cjpeg_decoder_abort(cjpeg_decoder *dec);

#ifdef __cplusplus
}
#endif
#endif
