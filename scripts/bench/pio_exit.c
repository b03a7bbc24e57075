// pio_exit: the floor for a port-I/O exit on this host. A VM with one vCPU runs the real-mode
// loop `out dx, al; jmp $-3` and this program times N KVM_RUN round trips, doing nothing per
// exit but checking it. swiftpc's own figure (KVMBenchmarks.portIORoundTrip) runs the same
// guest bytes through its run loop, lock and PortIOBus; pio-exit.sh prints both.
//
// Build: gcc -O2 -o pio_exit pio_exit.c      Run: ./pio_exit [N]   (prints ns per exit)
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_SIZE (2u << 20)
#define CODE_ADDRESS 0x1000u
#define PORT 0x10u

static void die(const char *what) {
    fprintf(stderr, "pio_exit: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
    long exits = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
    if (exits <= 0) {
        fprintf(stderr, "pio_exit: N must be positive\n");
        return 2;
    }
    // The same bytes as KVMBenchmarks.portIOLoopCode.
    static const uint8_t code[] = {
        0xBA, PORT, 0x00,  // mov dx, PORT
        0xEE,              // out dx, al
        0xEB, 0xFD,        // jmp back to the OUT
    };

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("/dev/kvm");
    if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        fprintf(stderr, "pio_exit: unexpected KVM API version\n");
        return 1;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    // As swiftpc does (harmless on AMD, needed for real mode on older Intel hosts).
    if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0) die("KVM_SET_TSS_ADDR");

    uint8_t *mem = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) die("mmap guest memory");
    memcpy(mem + CODE_ADDRESS, code, sizeof code);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .flags = 0, .guest_phys_addr = 0, .memory_size = GUEST_SIZE, .userspace_addr = (uint64_t)(uintptr_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < 0) die("KVM_GET_VCPU_MMAP_SIZE");
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) die("mmap kvm_run");

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    sregs.cs.selector = 0;
    sregs.cs.base = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = CODE_ADDRESS;
    regs.rflags = 0x2;
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

    // One untimed round trip so that page faults on first entry are not counted.
    if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
    uint64_t start = now_ns();
    for (long i = 0; i < exits; i++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
        if (run->exit_reason != KVM_EXIT_IO || run->io.port != PORT || run->io.direction != KVM_EXIT_IO_OUT) {
            fprintf(stderr, "pio_exit: unexpected exit %u\n", run->exit_reason);
            return 1;
        }
    }
    uint64_t elapsed = now_ns() - start;
    printf("%.1f\n", (double)elapsed / (double)exits);
    return 0;
}
