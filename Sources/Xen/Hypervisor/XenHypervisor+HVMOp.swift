import MachineCore

/// hvm_op (hypercall 34; public/hvm/hvm_op.h, params.h; Xen arch/x86/hvm/hvm.c): the HVM
/// parameters and the per-vCPU upcall vector.
extension XenHypervisor {
    func hvmOp(_ args: XenHypercallArguments, _ buffer: XenGuestBuffer) -> Int64 {
        typealias ABI = XenHVMABI
        switch args.command {
        case ABI.setParam, ABI.getParam:
            let get = args.command == ABI.getParam
            guard let address = buffer.structure(at: args.a2, size: ABI.paramSize, write: get),
                  let arg = GuestArgument(memory: memory, address: address, size: ABI.paramSize) else {
                return -XenErrno.EFAULT.rawValue
            }
            let domid = arg.u16(ABI.paramDomid), index = arg.u32(ABI.paramIndex)
            guard isSelf(domid) else { return otherDomainError(domid) }
            guard index < ABI.paramCount else { return -XenErrno.EINVAL.rawValue }
            if get {
                let value = lock.withLock { params[Int(index)] }
                return arg.write([(ABI.paramValue, value.guestBytes)]) ? 0 : -XenErrno.EFAULT.rawValue
            }
            return setParam(index: index, value: arg.u64(ABI.paramValue))
        case ABI.setEvtchnUpcallVector:
            guard let address = buffer.structure(at: args.a2, size: ABI.upcallVectorSize, write: false),
                  let arg = GuestArgument(memory: memory, address: address, size: ABI.upcallVectorSize) else {
                return -XenErrno.EFAULT.rawValue
            }
            let vcpu = arg.u32(ABI.upcallVectorVCPU)
            let vector = UInt8(truncatingIfNeeded: arg.u32(ABI.upcallVectorVector))
            guard vector >= ABI.lowestUpcallVector else { return -XenErrno.EINVAL.rawValue }
            guard Int(vcpu) < vcpuCount else { return -XenErrno.ENOENT.rawValue }
            lock.withLock { upcallVectors[Int(vcpu)] = vector }
            // An event already pending is delivered through the new vector (Xen asserts the
            // vCPU's event IRQ when the vector is set).
            if eventChannels.upcallPending(vcpu: vcpu) { onUpcall?(vcpu, .localAPIC(vector: vector)) }
            return 0
        default:
            return -XenErrno.ENOSYS.rawValue
        }
    }

    /// HVMOP_set_param from the guest. A domU may set the callback (Xen's
    /// `hvm_allow_set_param`); the store and console pages and channels are the toolstack's,
    /// which is swiftpc here (`setToolstackParam`), so the guest gets -EPERM for those and the rest.
    func setParam(index: UInt32, value: UInt64) -> Int64 {
        guard index == XenHVMABI.paramCallbackIRQ else { return -XenErrno.EPERM.rawValue }
        let type = value >> XenHVMABI.callbackTypeShift
        switch type {
        case XenHVMABI.callbackTypeVector:
            guard UInt8(truncatingIfNeeded: value) >= XenHVMABI.lowestUpcallVector, value & 0x00FF_FFFF_FFFF_FF00 == 0 else {
                return -XenErrno.EINVAL.rawValue
            }
        case 0, 1:
            // A GSI or PCI INTx line. Linux with per-vCPU vectors sets GSI 1 only "to trick the
            // toolstack"; swiftpc raises no line for it (the guest gets no upcalls this way).
            break
        default:
            return -XenErrno.EINVAL.rawValue
        }
        lock.withLock { params[Int(XenHVMABI.paramCallbackIRQ)] = value }
        return 0
    }

    /// Sets a parameter as the toolstack does when it builds the domain (store and console
    /// pages and event channels).
    public func setToolstackParam(_ index: UInt32, _ value: UInt64) {
        precondition(index < XenHVMABI.paramCount, "HVM parameter out of range")
        lock.withLock { params[Int(index)] = value }
    }

    /// An HVM parameter's value (tests, the monitor).
    public func param(_ index: UInt32) -> UInt64? {
        index < XenHVMABI.paramCount ? lock.withLock { params[Int(index)] } : nil
    }
}
