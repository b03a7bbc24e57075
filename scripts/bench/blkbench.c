/* In-guest block benchmark for scripts/bench/xen-disk.sh: sequential write and read of 64 MiB
 * in 1 MiB requests and 4 KiB random reads, all O_DIRECT so the guest's page cache is out of
 * the way. Each part first runs a short warm-up, unmeasured, so that an emulator's code
 * translation of the guest's I/O path is not what is timed. Prints SWIFTPC-BENCH lines the
 * script collects. Usage: blkbench DEVICE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SPAN (64L << 20)
#define WARMUP (8L << 20)
#define CHUNK (1L << 20)
#define SMALL 4096L
#define RANDOM_SECONDS 3.0
#define RANDOM_MAX_OPS 200000L

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: blkbench DEVICE\n"); return 2; }
    int fd = open(argv[1], O_RDWR | O_DIRECT);
    if (fd < 0) { perror(argv[1]); return 1; }
    void *buffer;
    if (posix_memalign(&buffer, 4096, CHUNK)) return 1;
    for (long i = 0; i < CHUNK; i++) ((unsigned char *)buffer)[i] = (unsigned char)(i * 7 + 3);

    for (long off = 0; off < WARMUP; off += CHUNK)
        if (pwrite(fd, buffer, CHUNK, off) != CHUNK || pread(fd, buffer, CHUNK, off) != CHUNK) { perror("warm-up"); return 1; }
    for (long k = 0; k < 2000; k++)
        if (pread(fd, buffer, SMALL, (k * 7919 % (WARMUP / SMALL)) * SMALL) != SMALL) { perror("warm-up"); return 1; }

    double start = now();
    for (long off = 0; off < SPAN; off += CHUNK)
        if (pwrite(fd, buffer, CHUNK, off) != CHUNK) { perror("write"); return 1; }
    if (fsync(fd)) { perror("fsync"); return 1; }
    double t = now() - start;
    printf("SWIFTPC-BENCH seqwrite %.1f MB/s\n", SPAN / t / 1e6);

    start = now();
    for (long off = 0; off < SPAN; off += CHUNK)
        if (pread(fd, buffer, CHUNK, off) != CHUNK) { perror("read"); return 1; }
    t = now() - start;
    printf("SWIFTPC-BENCH seqread %.1f MB/s\n", SPAN / t / 1e6);

    uint64_t x = 88172645463325252ULL;
    long ops = 0;
    start = now();
    while (ops < RANDOM_MAX_OPS && (ops % 64 != 0 || now() - start < RANDOM_SECONDS)) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        long off = (long)(x % (SPAN / SMALL)) * SMALL;
        if (pread(fd, buffer, SMALL, off) != SMALL) { perror("random read"); return 1; }
        ops++;
    }
    t = now() - start;
    printf("SWIFTPC-BENCH randread4k %.0f IOPS\n", ops / t);
    fflush(stdout);
    return 0;
}
