// How much CPU it costs just to put N bytes into a new file, by three paths (scripts/write-path-bench):
// "mmap": ftruncate, map, memcpy 1 MiB at a time (what `bench model` calls "memcpy into a mapped file");
// "mmap-fallocate": the same after fallocate (the space reserved first, as SafetensorsWriter.mapTensors does);
// "pwrite": pwrite from one reused 1 MiB buffer. CPU = user + system time of this process (getrusage).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static double cpu(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s mmap|mmap-fallocate|pwrite FILE BYTES\n", argv[0]); return 2; }
    const char *mode = argv[1], *path = argv[2];
    size_t n = strtoull(argv[3], NULL, 10), chunk = 1 << 20;
    char *src = malloc(chunk);
    memset(src, 7, chunk);
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
    if (fd < 0) { perror(path); return 1; }
    double start = cpu();
    if (strncmp(mode, "mmap", 4) == 0) {
        if (strcmp(mode, "mmap-fallocate") == 0 ? fallocate(fd, 0, 0, n) : ftruncate(fd, n)) { perror("size"); return 1; }
        char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) { perror("mmap"); return 1; }
        for (size_t o = 0; o < n; o += chunk) memcpy(m + o, src, n - o < chunk ? n - o : chunk);
        munmap(m, n);
    } else {
        for (size_t o = 0; o < n; o += chunk)
            if (pwrite(fd, src, n - o < chunk ? n - o : chunk, o) < 0) { perror("pwrite"); return 1; }
    }
    close(fd);
    double seconds = cpu() - start;
    printf("%-15s %zu bytes  %.3f s CPU  %6.0f MB per CPU-second\n", mode, n, seconds, n / 1e6 / seconds);
    unlink(path);
    return 0;
}
