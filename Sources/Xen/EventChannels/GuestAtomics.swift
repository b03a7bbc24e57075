import Synchronization

/// Atomic read-modify-write on words of guest RAM, for the memory Xen shares with a guest
/// (event-channel bitmaps, vcpu_info, grant entries).
///
/// Why atomics: the guest's vCPU may run on another host thread while the VMM updates these
/// words (KVM, or several interpreter vCPUs later), and the guest itself updates them with
/// LOCK-prefixed instructions (Linux clears pending bits with `lock btr`, grant flags with
/// `cmpxchg`). A plain load/modify/store here would lose a bit the guest set in between. Xen
/// uses the same locked operations on its side (`guest_test_and_set_bit`, `guest_cmpxchg`).
///
/// The pointers come from `GuestMemory` after a bounds check; callers pass addresses aligned to
/// the word size (the layouts guarantee it, and `GuestAtomics.isAligned` checks guest-chosen
/// ones), because a locked access must not straddle a cache line.
enum GuestAtomics {
    static func isAligned(_ address: UInt64, to size: UInt64) -> Bool { address & (size - 1) == 0 }

    /// Sets `bits` in the 64-bit word at `p`; returns the word before.
    @inline(__always)
    static func fetchOr(_ p: UnsafeMutableRawPointer, _ bits: UInt64) -> UInt64 {
        p.assumingMemoryBound(to: Atomic<UInt64>.self).pointee
            .bitwiseOr(bits.littleEndian, ordering: .sequentiallyConsistent).oldValue.littleEndian
    }

    /// Clears `bits` in the 64-bit word at `p`; returns the word before.
    @inline(__always)
    static func fetchAndNot(_ p: UnsafeMutableRawPointer, _ bits: UInt64) -> UInt64 {
        p.assumingMemoryBound(to: Atomic<UInt64>.self).pointee
            .bitwiseAnd((~bits).littleEndian, ordering: .sequentiallyConsistent).oldValue.littleEndian
    }

    @inline(__always)
    static func load(_ p: UnsafeMutableRawPointer) -> UInt64 {
        p.assumingMemoryBound(to: Atomic<UInt64>.self).pointee.load(ordering: .sequentiallyConsistent).littleEndian
    }

    @inline(__always)
    static func store(_ p: UnsafeMutableRawPointer, _ value: UInt64) {
        p.assumingMemoryBound(to: Atomic<UInt64>.self).pointee.store(value.littleEndian, ordering: .sequentiallyConsistent)
    }

    /// Sets `bits` in the byte at `p`; returns the byte before.
    @inline(__always)
    static func fetchOr8(_ p: UnsafeMutableRawPointer, _ bits: UInt8) -> UInt8 {
        p.assumingMemoryBound(to: Atomic<UInt8>.self).pointee.bitwiseOr(bits, ordering: .sequentiallyConsistent).oldValue
    }

    @inline(__always)
    static func load32(_ p: UnsafeMutableRawPointer) -> UInt32 {
        p.assumingMemoryBound(to: Atomic<UInt32>.self).pointee.load(ordering: .sequentiallyConsistent).littleEndian
    }

    @inline(__always)
    static func store32(_ p: UnsafeMutableRawPointer, _ value: UInt32) {
        p.assumingMemoryBound(to: Atomic<UInt32>.self).pointee.store(value.littleEndian, ordering: .sequentiallyConsistent)
    }

    /// Replaces the 32-bit word at `p` with `desired` if it still holds `expected`; returns the
    /// word found (equal to `expected` on success).
    @inline(__always)
    static func compareExchange32(_ p: UnsafeMutableRawPointer, expected: UInt32, desired: UInt32) -> UInt32 {
        p.assumingMemoryBound(to: Atomic<UInt32>.self).pointee
            .compareExchange(expected: expected.littleEndian, desired: desired.littleEndian,
                             ordering: .sequentiallyConsistent).original.littleEndian
    }

    /// Clears `bits` in the 16-bit word at `p`; returns the word before.
    @inline(__always)
    static func fetchAndNot16(_ p: UnsafeMutableRawPointer, _ bits: UInt16) -> UInt16 {
        p.assumingMemoryBound(to: Atomic<UInt16>.self).pointee
            .bitwiseAnd((~bits).littleEndian, ordering: .sequentiallyConsistent).oldValue.littleEndian
    }
}
