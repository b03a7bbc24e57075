import MachineCore

/// Where the shared_info page and each vcpu_info live, as the guest places them.
extension EventChannelTable {
    /// XENMEM_add_to_physmap(XENMAPSPACE_shared_info): the page now appears at guest-physical
    /// `address`. The page is the hypervisor's: its contents move with it, so a second placement
    /// copies the structure from the old address; the first one starts it zeroed, as Xen's page
    /// is. -EINVAL when `address` is not a page-aligned page of RAM.
    public func placeSharedInfo(at address: UInt64) -> XenErrno? {
        let size = Int(SharedInfoLayout.pageSize)
        guard GuestAtomics.isAligned(address, to: SharedInfoLayout.pageSize),
              let page = memory.ramPointer(address, length: size) else { return .EINVAL }
        lock.withLock {
            if let old = sharedInfoAddress {
                if old != address, let source = memory.ramPointer(old, length: size) {
                    page.copyMemory(from: source, byteCount: Int(SharedInfoLayout.size))
                }
            } else {
                page.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            }
            sharedInfoAddress = address
        }
        memory.noteDeviceWrite(physical: address, length: size)
        return nil
    }

    /// VCPUOP_register_vcpu_info (Xen common/domain.c `map_vcpu_info`): vCPU `vcpu`'s vcpu_info
    /// moves to `offset` inside guest frame `frame`. The current contents are copied there, then
    /// every selector bit and the upcall flag are set so that nothing pending is lost; the vCPU
    /// therefore needs an upcall (reported through `upcallHandler` and returned).
    /// Errors as Xen 4.17: -ENOENT for a vCPU that does not exist; -EINVAL for an offset that
    /// leaves no room for the 64 bytes or is not 8-aligned, a second registration, or a frame
    /// that is not RAM.
    public func registerVCPUInfo(vcpu: UInt32, frame: UInt64, offset: UInt32) -> (error: XenErrno?, upcall: UInt32?) {
        guard Int(vcpu) < vcpuCount else { return (.ENOENT, nil) }
        let size = Int(VCPUInfoLayout.size)
        guard UInt64(offset) <= SharedInfoLayout.pageSize - VCPUInfoLayout.size,
              GuestAtomics.isAligned(UInt64(offset), to: VCPUInfoLayout.alignment),
              frame < (UInt64(1) << 52) else { return (.EINVAL, nil) }
        let address = (frame << 12) + UInt64(offset)
        guard let target = memory.ramPointer(address, length: size) else { return (.EINVAL, nil) }
        let result: (XenErrno?, UInt32?) = lock.withLock {
            guard registeredVCPUInfo[Int(vcpu)] == nil else { return (.EINVAL, nil) }
            if let current = vcpuInfoLocked(vcpu), let source = memory.ramPointer(current, length: size) {
                target.copyMemory(from: source, byteCount: size)
            } else {
                target.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            }
            registeredVCPUInfo[Int(vcpu)] = address
            GuestAtomics.store(target + Int(VCPUInfoLayout.pendingSelectorOffset), ~0)
            _ = GuestAtomics.fetchOr8(target + Int(VCPUInfoLayout.upcallPendingOffset), 1)
            return (nil, vcpu)
        }
        memory.noteDeviceWrite(physical: address, length: size)
        deliver(result.1)
        return result
    }

    /// Writes the wall-clock time of system time zero into shared_info (`wc_sec`, `wc_sec_hi`,
    /// `wc_nsec`) under Xen's version protocol: `wc_version` is odd while the fields change and
    /// even again after, so a guest reading concurrently retries (xen.h, vcpu_time_info notes).
    /// Nothing happens before the guest placed the page.
    public func updateWallClock(seconds: UInt64, nanoseconds: UInt32) {
        lock.withLock {
            guard let base = sharedInfoAddress,
                  let version = memory.ramPointer(base + SharedInfoLayout.wallClockVersionOffset, length: 16) else { return }
            // The version stores are sequentially consistent: the field stores cannot move
            // across them, so a reader seeing the same even version twice saw whole fields.
            let odd = GuestAtomics.load32(version) | 1
            GuestAtomics.store32(version, odd)
            version.storeBytes(of: UInt32(truncatingIfNeeded: seconds).littleEndian, toByteOffset: 4, as: UInt32.self)
            version.storeBytes(of: nanoseconds.littleEndian, toByteOffset: 8, as: UInt32.self)
            version.storeBytes(of: UInt32(truncatingIfNeeded: seconds >> 32).littleEndian, toByteOffset: 12, as: UInt32.self)
            GuestAtomics.store32(version, odd &+ 1)
            memory.noteDeviceWrite(physical: base + SharedInfoLayout.wallClockVersionOffset, length: 16)
        }
    }

    /// Forgets every binding and where shared_info and vcpu_info were: the state of a freshly
    /// created domain, for a machine reset. Backend ports stay allocated and wait, unbound, for
    /// the next guest to bind them.
    public func resetDomain() {
        lock.withLock {
            for index in ports.indices { ports[index] = EventChannelPort() }
            ports[0].state = .reserved
            lowestMaybeFree = 1
            for v in virqPorts.indices { virqPorts[v] = Array(repeating: 0, count: Int(XenVIRQ.count)) }
            for key in backendPorts.keys { backendPorts[key]?.state = .unbound }
            sharedInfoAddress = nil
            for v in registeredVCPUInfo.indices { registeredVCPUInfo[v] = nil }
        }
    }
}
