// CKVM: the C shim between Swift and the Linux KVM API (Documentation/virt/kvm/api.rst).
//
// Swift cannot call the variadic ioctl(2), and the request codes built with _IO/_IOR/_IOW
// macros are not imported, so this header exposes non-variadic wrappers, the request codes
// as constants, allocation helpers for the structs that end in a flexible array, and
// accessors for the anonymous union in struct kvm_run. Only the KVMAccel module imports it.
#ifndef CKVM_H
#define CKVM_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#pragma clang assume_nonnull begin

// MARK: ioctl wrappers. Both return the ioctl's result (>= 0) or -errno on failure, so the
// caller never has to read errno from Swift.

int ckvm_ioctl_ptr(int fd, unsigned long request, void *_Nullable argument);
int ckvm_ioctl_int(int fd, unsigned long request, unsigned long argument);
/// KVM_RUN, kept separate so the hot path is one direct call.
int ckvm_run(int vcpu_fd);

/// open(path, O_RDWR | O_CLOEXEC): returns the fd or -errno.
int ckvm_open(const char *path);

// MARK: request codes (api.rst §4). System ioctls.
static const unsigned long CKVM_GET_API_VERSION = KVM_GET_API_VERSION;
static const unsigned long CKVM_CREATE_VM = KVM_CREATE_VM;
static const unsigned long CKVM_CHECK_EXTENSION = KVM_CHECK_EXTENSION;
static const unsigned long CKVM_GET_VCPU_MMAP_SIZE = KVM_GET_VCPU_MMAP_SIZE;
static const unsigned long CKVM_GET_SUPPORTED_CPUID = KVM_GET_SUPPORTED_CPUID;
static const unsigned long CKVM_GET_MSR_INDEX_LIST = KVM_GET_MSR_INDEX_LIST;

// VM ioctls.
static const unsigned long CKVM_CREATE_VCPU = KVM_CREATE_VCPU;
static const unsigned long CKVM_SET_USER_MEMORY_REGION = KVM_SET_USER_MEMORY_REGION;
static const unsigned long CKVM_GET_DIRTY_LOG = KVM_GET_DIRTY_LOG;
static const unsigned long CKVM_SET_TSS_ADDR = KVM_SET_TSS_ADDR;
static const unsigned long CKVM_SET_IDENTITY_MAP_ADDR = KVM_SET_IDENTITY_MAP_ADDR;
static const unsigned long CKVM_CREATE_IRQCHIP = KVM_CREATE_IRQCHIP;
static const unsigned long CKVM_CREATE_PIT2 = KVM_CREATE_PIT2;
static const unsigned long CKVM_IRQ_LINE = KVM_IRQ_LINE;
static const unsigned long CKVM_SET_GSI_ROUTING = KVM_SET_GSI_ROUTING;

// vCPU ioctls (also KVM_GET_TSC_KHZ on a VM fd with KVM_CAP_VM_TSC_CONTROL).
static const unsigned long CKVM_RUN = KVM_RUN;
static const unsigned long CKVM_GET_REGS = KVM_GET_REGS;
static const unsigned long CKVM_SET_REGS = KVM_SET_REGS;
static const unsigned long CKVM_GET_SREGS = KVM_GET_SREGS;
static const unsigned long CKVM_SET_SREGS = KVM_SET_SREGS;
static const unsigned long CKVM_GET_FPU = KVM_GET_FPU;
static const unsigned long CKVM_SET_FPU = KVM_SET_FPU;
static const unsigned long CKVM_GET_XSAVE = KVM_GET_XSAVE;
static const unsigned long CKVM_SET_XSAVE = KVM_SET_XSAVE;
static const unsigned long CKVM_GET_XSAVE2 = KVM_GET_XSAVE2;
static const unsigned long CKVM_GET_XCRS = KVM_GET_XCRS;
static const unsigned long CKVM_SET_XCRS = KVM_SET_XCRS;
static const unsigned long CKVM_GET_MSRS = KVM_GET_MSRS;
static const unsigned long CKVM_SET_MSRS = KVM_SET_MSRS;
static const unsigned long CKVM_GET_DEBUGREGS = KVM_GET_DEBUGREGS;
static const unsigned long CKVM_SET_DEBUGREGS = KVM_SET_DEBUGREGS;
static const unsigned long CKVM_GET_VCPU_EVENTS = KVM_GET_VCPU_EVENTS;
static const unsigned long CKVM_SET_VCPU_EVENTS = KVM_SET_VCPU_EVENTS;
static const unsigned long CKVM_GET_MP_STATE = KVM_GET_MP_STATE;
static const unsigned long CKVM_SET_MP_STATE = KVM_SET_MP_STATE;
static const unsigned long CKVM_SET_CPUID2 = KVM_SET_CPUID2;
static const unsigned long CKVM_GET_CPUID2 = KVM_GET_CPUID2;
static const unsigned long CKVM_TRANSLATE = KVM_TRANSLATE;
static const unsigned long CKVM_GET_TSC_KHZ = KVM_GET_TSC_KHZ;
static const unsigned long CKVM_NMI = KVM_NMI;

// MARK: flexible-array structs. Allocated zeroed with calloc; release with ckvm_free.

/// A struct kvm_cpuid2 with room for `count` entries (nent = count).
struct kvm_cpuid2 *_Nullable ckvm_cpuid2_alloc(unsigned count);
static inline struct kvm_cpuid_entry2 *ckvm_cpuid2_entry(struct kvm_cpuid2 *c, unsigned i) { return &c->entries[i]; }

/// A struct kvm_msrs with room for `count` entries (nmsrs = count).
struct kvm_msrs *_Nullable ckvm_msrs_alloc(unsigned count);
static inline struct kvm_msr_entry *ckvm_msrs_entry(struct kvm_msrs *m, unsigned i) { return &m->entries[i]; }

/// A struct kvm_msr_list with room for `count` indices (nmsrs = count).
struct kvm_msr_list *_Nullable ckvm_msr_list_alloc(unsigned count);
static inline uint32_t ckvm_msr_list_index(const struct kvm_msr_list *l, unsigned i) { return l->indices[i]; }

/// A struct kvm_irq_routing with room for `count` entries (nr = count).
struct kvm_irq_routing *_Nullable ckvm_irq_routing_alloc(unsigned count);
/// Entry i routes `gsi` to pin `pin` of in-kernel chip `chip` (KVM_IRQCHIP_PIC_MASTER,
/// KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC).
static inline void ckvm_irq_routing_set_irqchip(struct kvm_irq_routing *r, unsigned i, uint32_t gsi, uint32_t chip, uint32_t pin) {
    struct kvm_irq_routing_entry *e = &r->entries[i];
    e->gsi = gsi;
    e->type = KVM_IRQ_ROUTING_IRQCHIP;
    e->flags = 0;
    e->u.irqchip.irqchip = chip;
    e->u.irqchip.pin = pin;
}

void ckvm_free(void *_Nullable p);

// MARK: struct kvm_run accessors (api.rst §5, "The kvm_run structure").

static inline uint32_t ckvm_run_exit_reason(const struct kvm_run *r) { return r->exit_reason; }
static inline uint8_t ckvm_run_ready_for_interrupt_injection(const struct kvm_run *r) { return r->ready_for_interrupt_injection; }
static inline uint8_t ckvm_run_if_flag(const struct kvm_run *r) { return r->if_flag; }
static inline void ckvm_run_set_request_interrupt_window(struct kvm_run *r, uint8_t v) { r->request_interrupt_window = v; }

/// immediate_exit is written by another thread (the one asking the vCPU to stop) and read by
/// the vCPU thread and the kernel, so it is accessed atomically.
static inline void ckvm_run_set_immediate_exit(struct kvm_run *r, uint8_t v) { __atomic_store_n(&r->immediate_exit, v, __ATOMIC_SEQ_CST); }
static inline uint8_t ckvm_run_immediate_exit(struct kvm_run *r) { return __atomic_load_n(&r->immediate_exit, __ATOMIC_SEQ_CST); }

// KVM_EXIT_IO: `count` accesses of `size` bytes each, data at (char *)run + data_offset.
static inline uint8_t ckvm_run_io_direction(const struct kvm_run *r) { return r->io.direction; }
static inline uint8_t ckvm_run_io_size(const struct kvm_run *r) { return r->io.size; }
static inline uint16_t ckvm_run_io_port(const struct kvm_run *r) { return r->io.port; }
static inline uint32_t ckvm_run_io_count(const struct kvm_run *r) { return r->io.count; }
static inline uint64_t ckvm_run_io_data_offset(const struct kvm_run *r) { return r->io.data_offset; }

// KVM_EXIT_MMIO: data[8] holds the written bytes, or receives the bytes read.
static inline uint64_t ckvm_run_mmio_phys_addr(const struct kvm_run *r) { return r->mmio.phys_addr; }
static inline uint8_t *ckvm_run_mmio_data(struct kvm_run *r) { return r->mmio.data; }
static inline uint32_t ckvm_run_mmio_len(const struct kvm_run *r) { return r->mmio.len; }
static inline uint8_t ckvm_run_mmio_is_write(const struct kvm_run *r) { return r->mmio.is_write; }

// KVM_EXIT_INTERNAL_ERROR.
static inline uint32_t ckvm_run_internal_suberror(const struct kvm_run *r) { return r->internal.suberror; }
static inline uint32_t ckvm_run_internal_ndata(const struct kvm_run *r) { return r->internal.ndata; }
static inline uint64_t ckvm_run_internal_data(const struct kvm_run *r, unsigned i) { return i < 16 ? r->internal.data[i] : 0; }

// KVM_EXIT_FAIL_ENTRY.
static inline uint64_t ckvm_run_fail_entry_reason(const struct kvm_run *r) { return r->fail_entry.hardware_entry_failure_reason; }
static inline uint32_t ckvm_run_fail_entry_cpu(const struct kvm_run *r) { return r->fail_entry.cpu; }

// KVM_EXIT_UNKNOWN.
static inline uint64_t ckvm_run_hw_exit_reason(const struct kvm_run *r) { return r->hw.hardware_exit_reason; }

// KVM_EXIT_SYSTEM_EVENT.
static inline uint32_t ckvm_run_system_event_type(const struct kvm_run *r) { return r->system_event.type; }

// KVM_EXIT_EXCEPTION.
static inline uint32_t ckvm_run_exception_nr(const struct kvm_run *r) { return r->ex.exception; }
static inline uint32_t ckvm_run_exception_error_code(const struct kvm_run *r) { return r->ex.error_code; }

// MARK: x87/SSE state. struct kvm_fpu is converted to and from the 512-byte legacy FXSAVE
// image (SDM Vol. 1 §10.5.1, 64-bit layout), so Swift parses one layout only.
void ckvm_fpu_to_fxsave(const struct kvm_fpu *fpu, uint8_t fxsave[512]);
void ckvm_fxsave_to_fpu(const uint8_t fxsave[512], struct kvm_fpu *fpu);

// MARK: the kick signal. A no-op handler without SA_RESTART, so that a pthread_kill of a
// thread inside KVM_RUN makes the ioctl return -EINTR (api.rst, KVM_RUN / immediate_exit).

/// The real-time signal used to kick vCPU threads (SIGRTMIN + 5).
int ckvm_kick_signal(void);
/// Installs the no-op handler for the kick signal (idempotent) and unblocks it in the
/// calling thread. Returns 0 or -errno.
int ckvm_install_kick_handler(void);
/// Unblocks the kick signal in the calling thread (a vCPU thread created with it blocked).
int ckvm_unblock_kick_signal(void);
/// pthread_kill(thread, kick signal). Returns 0 or an errno value.
int ckvm_kick_thread(unsigned long thread);
/// pthread_self() as an integer.
unsigned long ckvm_thread_self(void);

#pragma clang assume_nonnull end

#endif
