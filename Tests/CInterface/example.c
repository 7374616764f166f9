/* Compress two tensors into model.wjpg, then open it and read one tensor back lazily. */
#include <stdio.h>
#include <stdlib.h>
#include <weightjpeg.h>

int main(void) {
    wj_error error;
    enum { ROWS = 256, COLUMNS = 256 };
    float *weight = malloc(sizeof(float) * ROWS * COLUMNS), bias[ROWS];
    for (int i = 0; i < ROWS * COLUMNS; i++) weight[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; i < ROWS; i++) bias[i] = 0.01f * i;
    int64_t weight_shape[] = {ROWS, COLUMNS}, bias_shape[] = {ROWS};
    wj_tensor tensors[] = {
        {"layer.weight", "F32", 2, weight_shape, weight, sizeof(float) * ROWS * COLUMNS},
        {"layer.bias", "F32", 1, bias_shape, bias, sizeof bias},
    };
    wj_metadata_item metadata[] = {{"format", "pt"}};
    wj_options options;
    wj_options_init(&options);
    options.max_rel_error = 0.01;               /* every float tensor within 1% relative RMS error */
    if (wj_compress(tensors, 2, metadata, 1, &options, "model.wjpg", &error) != WJ_OK) {
        fprintf(stderr, "compress: %s\n", error.message);
        return 1;
    }

    wj_file *file;
    if (wj_open("model.wjpg", &file, &error) != WJ_OK) {   /* reads the header only */
        fprintf(stderr, "open: %s\n", error.message);
        return 1;
    }
    for (size_t i = 0; i < wj_tensor_count(file); i++) {
        wj_tensor_info info;
        wj_tensor_info_get(file, i, &info, NULL);
        printf("%s %s rank %d, %s, %llu bytes stored, %llu decoded\n", info.name, info.dtype, info.rank, info.coding,
               (unsigned long long)info.stored_bytes, (unsigned long long)info.decoded_bytes);
    }
    size_t index;
    wj_tensor_info info;
    if (wj_tensor_find(file, "layer.weight", &index, &error) != WJ_OK ||
        wj_tensor_info_get(file, index, &info, &error) != WJ_OK) {
        fprintf(stderr, "%s\n", error.message);
        return 1;
    }
    float *restored = malloc(info.decoded_bytes);
    if (wj_tensor_read(file, index, restored, info.decoded_bytes, &error) != WJ_OK) {  /* decodes this tensor only */
        fprintf(stderr, "read: %s\n", error.message);
        return 1;
    }
    printf("layer.weight[0][1] = %f (was %f)\n", restored[1], weight[1]);
    wj_close(file);
    free(restored);
    free(weight);
    return 0;
}
