// Non-inline parts of the CKVM shim: the ioctl wrappers, allocation of the flexible-array
// structs, kvm_fpu <-> FXSAVE conversion and the kick signal.
#define _GNU_SOURCE
#include "ckvm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int ckvm_ioctl_ptr(int fd, unsigned long request, void *argument) {
    int r = ioctl(fd, request, argument);
    return r < 0 ? -errno : r;
}

int ckvm_ioctl_int(int fd, unsigned long request, unsigned long argument) {
    int r = ioctl(fd, request, argument);
    return r < 0 ? -errno : r;
}

int ckvm_run(int vcpu_fd) {
    int r = ioctl(vcpu_fd, KVM_RUN, 0);
    return r < 0 ? -errno : r;
}

int ckvm_open(const char *path) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

struct kvm_cpuid2 *ckvm_cpuid2_alloc(unsigned count) {
    struct kvm_cpuid2 *c = calloc(1, sizeof(struct kvm_cpuid2) + (size_t)count * sizeof(struct kvm_cpuid_entry2));
    if (c) c->nent = count;
    return c;
}

struct kvm_msrs *ckvm_msrs_alloc(unsigned count) {
    struct kvm_msrs *m = calloc(1, sizeof(struct kvm_msrs) + (size_t)count * sizeof(struct kvm_msr_entry));
    if (m) m->nmsrs = count;
    return m;
}

struct kvm_msr_list *ckvm_msr_list_alloc(unsigned count) {
    struct kvm_msr_list *l = calloc(1, sizeof(struct kvm_msr_list) + (size_t)count * sizeof(uint32_t));
    if (l) l->nmsrs = count;
    return l;
}

struct kvm_irq_routing *ckvm_irq_routing_alloc(unsigned count) {
    struct kvm_irq_routing *r = calloc(1, sizeof(struct kvm_irq_routing) + (size_t)count * sizeof(struct kvm_irq_routing_entry));
    if (r) r->nr = count;
    return r;
}

void ckvm_free(void *p) { free(p); }

// Offsets in the legacy FXSAVE image, 64-bit format (SDM Vol. 1 §10.5.1, Table 10-2).
enum {
    FX_FCW = 0, FX_FSW = 2, FX_FTW = 4, FX_FOP = 6, FX_FIP = 8, FX_FDP = 16,
    FX_MXCSR = 24, FX_ST0 = 32, FX_XMM0 = 160,
};

void ckvm_fpu_to_fxsave(const struct kvm_fpu *fpu, uint8_t fxsave[512]) {
    memset(fxsave, 0, 512);
    memcpy(fxsave + FX_FCW, &fpu->fcw, 2);
    memcpy(fxsave + FX_FSW, &fpu->fsw, 2);
    fxsave[FX_FTW] = fpu->ftwx;
    memcpy(fxsave + FX_FOP, &fpu->last_opcode, 2);
    memcpy(fxsave + FX_FIP, &fpu->last_ip, 8);
    memcpy(fxsave + FX_FDP, &fpu->last_dp, 8);
    memcpy(fxsave + FX_MXCSR, &fpu->mxcsr, 4);
    memcpy(fxsave + FX_ST0, fpu->fpr, sizeof fpu->fpr);
    memcpy(fxsave + FX_XMM0, fpu->xmm, sizeof fpu->xmm);
}

void ckvm_fxsave_to_fpu(const uint8_t fxsave[512], struct kvm_fpu *fpu) {
    memset(fpu, 0, sizeof *fpu);
    memcpy(&fpu->fcw, fxsave + FX_FCW, 2);
    memcpy(&fpu->fsw, fxsave + FX_FSW, 2);
    fpu->ftwx = fxsave[FX_FTW];
    memcpy(&fpu->last_opcode, fxsave + FX_FOP, 2);
    memcpy(&fpu->last_ip, fxsave + FX_FIP, 8);
    memcpy(&fpu->last_dp, fxsave + FX_FDP, 8);
    memcpy(&fpu->mxcsr, fxsave + FX_MXCSR, 4);
    memcpy(fpu->fpr, fxsave + FX_ST0, sizeof fpu->fpr);
    memcpy(fpu->xmm, fxsave + FX_XMM0, sizeof fpu->xmm);
}

int ckvm_kick_signal(void) { return SIGRTMIN + 5; }

static void ckvm_kick_handler(int sig) { (void)sig; }

static pthread_once_t ckvm_kick_once = PTHREAD_ONCE_INIT;
static int ckvm_kick_install_result;

static void ckvm_kick_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ckvm_kick_handler;
    sigemptyset(&sa.sa_mask);
    // No SA_RESTART: the interrupted KVM_RUN must return -EINTR instead of being restarted.
    sa.sa_flags = 0;
    ckvm_kick_install_result = sigaction(ckvm_kick_signal(), &sa, NULL) < 0 ? -errno : 0;
}

int ckvm_unblock_kick_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, ckvm_kick_signal());
    int r = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return r == 0 ? 0 : -r;
}

int ckvm_install_kick_handler(void) {
    pthread_once(&ckvm_kick_once, ckvm_kick_install);
    if (ckvm_kick_install_result != 0) return ckvm_kick_install_result;
    return ckvm_unblock_kick_signal();
}

int ckvm_kick_thread(unsigned long thread) { return pthread_kill((pthread_t)thread, ckvm_kick_signal()); }

unsigned long ckvm_thread_self(void) { return (unsigned long)pthread_self(); }
