import MachineCore

/// Linear-to-physical translation (SDM Vol. 3A §4), guest-physical access (RAM, ROM, MMIO)
/// and the segment-relative accessors instructions use.
extension X86CPU {
    enum Access { case read, write, fetch }

    // MARK: paging (SDM Vol. 3A §4.3 32-bit, §4.4 PAE, §4.5 4-level)

    /// Page-fault error code bits (SDM Vol. 3A §4.7).
    enum PFError {
        static let present: UInt32 = 1, write: UInt32 = 2, user: UInt32 = 4, reserved: UInt32 = 8, fetch: UInt32 = 16
    }

    /// Translates `linear` to the physical address the access reaches: the page walk, then
    /// the A20 gate (address bit 20 forced to 0 while the chipset masks it). Every software-
    /// TLB fill comes through here, so the gate costs nothing on TLB hits.
    @inline(__always)
    func translate(_ linear: UInt64, _ access: Access, user: Bool) throws(CPUException) -> UInt64 {
        try walk(linear, access, user: user) & a20Mask
    }

    /// 32-bit paging's 4-MiB PDE with PSE-36 and MAXPHYADDR 40 (CPUID 80000008H of the model):
    /// bits 20:13 are physical address bits 39:32, bit 21 is reserved (SDM Vol. 3A Table 4-4).
    static let pse36AddressBits: UInt64 = 0x1F_E000
    static let pse36Reserved: UInt64 = 0x20_0000

    /// Walks the page tables for `linear`. Sets accessed/dirty bits. Returns the physical address.
    func walk(_ linear: UInt64, _ access: Access, user: Bool) throws(CPUException) -> UInt64 {
        guard pagingEnabled else { return linear & 0xFFFF_FFFF }
        pageWalks &+= 1
        let write = access == .write
        let nxe = msr.efer & EFER.nxe != 0
        var errorBase: UInt32 = (write ? PFError.write : 0) | (user ? PFError.user : 0)
        // I/D is reported only when execute-disable or SMEP can apply: CR4.SMEP, or
        // CR4.PAE with EFER.NXE (SDM Vol. 3A §4.7, "I/D flag").
        if access == .fetch && (cr4 & CR4.smep != 0 || (nxe && cr4 & CR4.pae != 0)) { errorBase |= PFError.fetch }
        func fault(_ present: Bool, reserved: Bool = false) -> CPUException {
            cr2 = linear
            return CPUException(CPUException.Vector.pageFault,
                                errorCode: errorBase | (present ? PFError.present : 0) | (reserved ? PFError.reserved : 0))
        }
        var userOK = true, writeOK = true, noExec = false
        // Entries to update A (and D on the leaf) once the walk succeeds.
        var entryAddresses: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var entrySizes = 0
        var physical: UInt64
        var leaf: UInt64
        var leafAddress: UInt64

        if cr4 & CR4.pae == 0 {
            // 32-bit paging: two levels of 4-byte entries, 4 MiB pages with CR4.PSE.
            let pdeAddress = (cr3 & 0xFFFF_F000) | ((linear >> 20) & 0xFFC)
            let pde = UInt64(physicalRead32(pdeAddress))
            guard pde & 1 != 0 else { throw fault(false) }
            userOK = pde & 4 != 0; writeOK = pde & 2 != 0
            if pde & 0x80 != 0 && cr4 & CR4.pse != 0 {
                // A 4-MiB page: with PSE-36, bits (M-20):13 hold physical bits (M-1):32 and
                // bits 21:(M-19) are reserved (SDM Vol. 3A §4.3, Table 4-4; M = 40 here).
                if pde & Self.pse36Reserved != 0 { throw fault(true, reserved: true) }
                leaf = pde; leafAddress = pdeAddress
                physical = (pde & 0xFFC0_0000) | ((pde & Self.pse36AddressBits) << 19) | (linear & 0x3F_FFFF)
            } else {
                entryAddresses.0 = pdeAddress; entrySizes = 1
                let pteAddress = (pde & 0xFFFF_F000) | ((linear >> 10) & 0xFFC)
                let pte = UInt64(physicalRead32(pteAddress))
                guard pte & 1 != 0 else { throw fault(false) }
                userOK = userOK && pte & 4 != 0; writeOK = writeOK && pte & 2 != 0
                leaf = pte; leafAddress = pteAddress
                physical = (pte & 0xFFFF_F000) | (linear & 0xFFF)
            }
            try finishWalk()
            if leaf & 0x20 == 0 || (write && leaf & 0x40 == 0) {
                physicalWrite32(leafAddress, UInt32(truncatingIfNeeded: leaf | 0x20 | (write ? 0x40 : 0)))
            }
            if entrySizes == 1 {
                let v = physicalRead32(entryAddresses.0)
                if v & 0x20 == 0 { physicalWrite32(entryAddresses.0, v | 0x20) }
            }
            return physical
        }

        let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
        // Reserved: address bits from MAXPHYADDR (40, CPUID 0x80000008 of the model) to 51, and
        // XD without EFER.NXE (SDM Vol. 3A §4.5, Tables 4-14 to 4-20; #PF with RSVD, §4.7).
        let reservedHigh: UInt64 = 0x000F_FF00_0000_0000 | (nxe ? 0 : 0x8000_0000_0000_0000)
        var table: UInt64
        var level: Int
        if inLongMode {
            // Canonical check belongs to the segment layer; here bits 63:48 are ignored.
            table = cr3 & addressMask
            level = 4
        } else {
            // PAE: the 4 PDPTEs (SDM §4.4.1), read at each walk (no PDPTE registers kept).
            let pdpteAddress = (cr3 & 0xFFFF_FFE0) + ((linear >> 27) & 0x18)
            let pdpte = physicalRead64(pdpteAddress)
            guard pdpte & 1 != 0 else { throw fault(false) }
            table = pdpte & addressMask
            level = 2
        }
        while true {
            let shift = UInt64(12 + 9 * (level - 1))
            let entryAddress = table + ((linear >> shift) & 0x1FF) * 8
            let entry = physicalRead64(entryAddress)
            guard entry & 1 != 0 else { throw fault(false) }
            if entry & reservedHigh != 0 { throw fault(true, reserved: true) }
            userOK = userOK && entry & 4 != 0
            writeOK = writeOK && entry & 2 != 0
            if nxe && entry & 0x8000_0000_0000_0000 != 0 { noExec = true }
            let isLarge = level > 1 && entry & 0x80 != 0
            // PS in a PDPTE is reserved unless the model advertises 1-GiB pages (SDM Vol. 3A
            // §4.5, Table 4-16).
            if isLarge && level == 3 && model.ext1EDX & CPUIDBits.page1GB == 0 { throw fault(true, reserved: true) }
            // PS is reserved in a PML4E; a large page's address field below its alignment is
            // reserved too: bits 20:13 of a 2-MiB PDE, 29:13 of a 1-GiB PDPTE (bit 12 is PAT)
            // (SDM Vol. 3A §4.5, Tables 4-15, 4-17 and 4-18; §4.4.2, Table 4-9 for PAE).
            if level == 4 && entry & 0x80 != 0 { throw fault(true, reserved: true) }
            if isLarge && entry & (level == 3 ? 0x3FFF_E000 : 0x1F_E000) != 0 { throw fault(true, reserved: true) }
            if level == 1 || isLarge {
                if isLarge && level == 3 && inLongMode {
                    physical = (entry & 0x000F_FFFF_C000_0000) | (linear & 0x3FFF_FFFF)
                } else if isLarge {
                    physical = (entry & 0x000F_FFFF_FFE0_0000) | (linear & 0x1F_FFFF)
                } else {
                    physical = (entry & addressMask) | (linear & 0xFFF)
                }
                leaf = entry; leafAddress = entryAddress
                break
            }
            if entrySizes < 4 {
                switch entrySizes {
                case 0: entryAddresses.0 = entryAddress
                case 1: entryAddresses.1 = entryAddress
                case 2: entryAddresses.2 = entryAddress
                default: entryAddresses.3 = entryAddress
                }
                entrySizes += 1
            }
            table = entry & addressMask
            level -= 1
        }
        try finishWalk()
        if access == .fetch && noExec { throw fault(true) }
        let newLeaf = leaf | 0x20 | (write ? 0x40 : 0)
        if newLeaf != leaf { physicalWrite64(leafAddress, newLeaf) }
        for i in 0..<entrySizes {
            let a = i == 0 ? entryAddresses.0 : (i == 1 ? entryAddresses.1 : (i == 2 ? entryAddresses.2 : entryAddresses.3))
            let v = physicalRead64(a)
            if v & 0x20 == 0 { physicalWrite64(a, v | 0x20) }
        }
        return physical

        /// Permission checks common to all paging forms (SDM Vol. 3A §4.6).
        func finishWalk() throws(CPUException) {
            if user {
                if !userOK { throw fault(true) }
                if write && !writeOK { throw fault(true) }
            } else {
                if write && !writeOK && cr0 & CR0.wp != 0 { throw fault(true) }
                if userOK && access == .fetch && cr4 & CR4.smep != 0 { throw fault(true) }
                if userOK && access != .fetch && cr4 & CR4.smap != 0 && flagsBase & RFLAGS.ac == 0 { throw fault(true) }
            }
        }
    }

    // MARK: guest-physical access

    /// Host pointer for a physical page that is RAM (or ROM when reading), else nil.
    @inline(__always)
    func hostPage(_ physicalPage: UInt64, forWrite: Bool) -> UnsafeMutableRawPointer? {
        if forWrite && isWriteProtectedLowPage(physicalPage) { return nil }
        let address = physicalPage << 12
        if let p = memory.ramPointer(address, length: 4096) { return p }
        for region in memory.regions where region.contains(address, length: 4096) {
            if forWrite && region.readOnly { return nil }
            return region.host + Int(address - region.guestBase)
        }
        return nil
    }

    /// Reads `size` (1, 2, 4 or 8) little-endian bytes at host address `p`.
    @inline(__always) func loadHost(_ p: UnsafeMutableRawPointer, _ size: Int) -> UInt64 {
        switch size {
        case 1: return UInt64(p.load(as: UInt8.self))
        case 2: return UInt64(p.loadUnaligned(as: UInt16.self))
        case 4: return UInt64(p.loadUnaligned(as: UInt32.self))
        default: return p.loadUnaligned(as: UInt64.self)
        }
    }

    /// Writes the low `size` bytes of `value` at host address `p`.
    @inline(__always) func storeHost(_ p: UnsafeMutableRawPointer, _ size: Int, _ value: UInt64) {
        switch size {
        case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
        case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: value), toByteOffset: 0, as: UInt16.self)
        case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: value), toByteOffset: 0, as: UInt32.self)
        default: p.storeBytes(of: value, toByteOffset: 0, as: UInt64.self)
        }
    }

    func physicalRead(_ address: UInt64, size: Int) -> UInt64 {
        if let p = memory.ramPointer(address, length: size) ?? memory.pointer(address, length: size) {
            return loadHost(p, size)
        }
        return lock.withLock { mmioBus.read(address: address, size: size) }
    }

    /// Whether the board drops CPU writes to this page (shadow RAM with its write enable clear).
    @inline(__always) func isWriteProtectedLowPage(_ physicalPage: UInt64) -> Bool {
        writeProtectedLowPages.contains(page: physicalPage)
    }

    func physicalWrite(_ address: UInt64, size: Int, value: UInt64) {
        let page = address >> 12
        if isWriteProtectedLowPage(page) { return }
        if codeCache.isCodePage(page) { codeCache.invalidate(page: page) }
        if size > 1, (address + UInt64(size) - 1) >> 12 != page, codeCache.isCodePage(page + 1) {
            codeCache.invalidate(page: page + 1)
        }
        var host = memory.ramPointer(address, length: size)
        if host == nil {
            for region in memory.regions where region.contains(address, length: size) {
                if region.readOnly { return }  // ROM: writes are dropped
                host = region.host + Int(address - region.guestBase)
            }
        }
        if let p = host {
            storeHost(p, size, value)
            return
        }
        lock.withLock { mmioBus.write(address: address, size: size, value: value) }
    }

    @inline(__always) func physicalRead32(_ a: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: physicalRead(a, size: 4)) }
    @inline(__always) func physicalRead64(_ a: UInt64) -> UInt64 { physicalRead(a, size: 8) }
    @inline(__always) func physicalWrite32(_ a: UInt64, _ v: UInt32) { physicalWrite(a, size: 4, value: UInt64(v)) }
    @inline(__always) func physicalWrite64(_ a: UInt64, _ v: UInt64) { physicalWrite(a, size: 8, value: v) }

    // MARK: linear access through the TLB

    @inline(__always) var userAccess: Bool { cpl == 3 }

    /// Reads `size` (1, 2, 4 or 8) bytes at a linear address.
    @inline(__always)
    func readLinear(_ linear: UInt64, _ size: Int, fetch: Bool = false) throws(CPUException) -> UInt64 {
        if (linear & 0xFFF) &+ UInt64(size) <= 4096, let p = tlb.hostAddress(linear, write: false) {
            return loadHost(p, size)
        }
        return try readLinearSlow(linear, size, fetch ? .fetch : .read)
    }

    func readLinearSlow(_ linear: UInt64, _ size: Int, _ access: Access) throws(CPUException) -> UInt64 {
        // Data breakpoints (X86CPU+Debug.swift): their pages have no read TLB entry.
        if access == .read && dataBreakpoints.readMask != 0 { checkDataBreakpoints(linear, size, write: false) }
        if (linear & 0xFFF) + UInt64(size) > 4096 {
            // Crosses a page: byte by byte, each translated (both pages must be present).
            var v: UInt64 = 0
            for k in 0..<size {
                v |= try readLinearSlow(linear &+ UInt64(k), 1, access) << UInt64(k * 8)
            }
            return v
        }
        let physical = try translate(linear, access, user: userAccess)
        if let host = hostPage(physical >> 12, forWrite: false), readTLBAllowed(linear >> 12) {
            let i = Int((linear >> 12) & SoftwareTLB.indexMask)
            tlb.readTag[i] = tlb.tag(linear >> 12)
            tlb.readHost[i] = host
        }
        return physicalRead(physical, size: size)
    }

    @inline(__always)
    func writeLinear(_ linear: UInt64, _ size: Int, _ value: UInt64) throws(CPUException) {
        if (linear & 0xFFF) &+ UInt64(size) <= 4096, let p = tlb.hostAddress(linear, write: true) {
            storeHost(p, size, value)
            return
        }
        try writeLinearSlow(linear, size, value)
    }

    func writeLinearSlow(_ linear: UInt64, _ size: Int, _ value: UInt64) throws(CPUException) {
        if dataBreakpoints.writeMask != 0 { checkDataBreakpoints(linear, size, write: true) }
        if (linear & 0xFFF) + UInt64(size) > 4096 {
            // Check both pages before writing anything, so a fault leaves memory unchanged.
            let first = 4096 - Int(linear & 0xFFF)
            _ = try translate(linear, .write, user: userAccess)
            _ = try translate(linear &+ UInt64(first), .write, user: userAccess)
            for k in 0..<size {
                try writeLinearSlow(linear &+ UInt64(k), 1, (value >> UInt64(k * 8)) & 0xFF)
            }
            return
        }
        let physical = try translate(linear, .write, user: userAccess)
        let physicalPage = physical >> 12
        physicalWrite(physical, size: size, value: value)
        if !codeCache.isCodePage(physicalPage), writeTLBAllowed(linear >> 12), let host = hostPage(physicalPage, forWrite: true) {
            let i = Int((linear >> 12) & SoftwareTLB.indexMask)
            tlb.writeTag[i] = tlb.tag(linear >> 12)
            tlb.writeHost[i] = host
            tlb.writePhysicalPage[i] = physicalPage
        }
    }

    // MARK: segment-relative access

    /// Linear address of `offset` in segment `seg` with the limit check of non-64-bit modes
    /// (SDM Vol. 3A §5.3). `offset` is already truncated to the address size.
    @inline(__always)
    func linearAddress(_ seg: Int, _ offset: UInt64, _ size: Int, write: Bool = false) throws(CPUException) -> UInt64 {
        if codeBits == 64 {
            let base = seg >= Seg.fs ? segs[seg].base : 0
            let linear = base &+ offset
            // Canonical check (SDM Vol. 3A §3.3.7.1): bits 63:47 all equal.
            let top = linear >> 47
            guard top == 0 || top == 0x1FFFF else { throw seg == Seg.ss ? .ss() : .gp() }
            return linear
        }
        let s = segs[seg]
        let last = offset &+ UInt64(size) &- 1
        if s.type & 0xC == 0x4 && s.s {
            // Expand-down data segment: valid offsets are above the limit.
            let upper: UInt64 = s.db ? 0xFFFF_FFFF : 0xFFFF
            if offset <= UInt64(s.limit) || last > upper { throw seg == Seg.ss ? .ss() : .gp() }
        } else if last > UInt64(s.limit) || last < offset {
            throw seg == Seg.ss ? .ss() : .gp()
        }
        if protectedMode && !v86Mode {
            if s.unusable { throw seg == Seg.ss ? .ss() : .gp() }
            // The segment's type as loaded (SDM Vol. 3A §5.4, §6.15 "#GP"): a write needs a
            // writable data segment (a code segment or read-only data faults), a read any
            // segment but an execute-only code one. SS always holds writable data.
            if write ? s.type & 0xA != 0x2 : s.type & 0xA == 0x8 { throw .gp() }
        }
        return (s.base &+ offset) & 0xFFFF_FFFF
    }

    @inline(__always)
    func read(_ seg: Int, _ offset: UInt64, _ size: Int) throws(CPUException) -> UInt64 {
        try readLinear(try linearAddress(seg, offset, size), size)
    }

    @inline(__always)
    func write(_ seg: Int, _ offset: UInt64, _ size: Int, _ value: UInt64) throws(CPUException) {
        try writeLinear(try linearAddress(seg, offset, size, write: true), size, value)
    }

    /// Reads with supervisor privilege regardless of CPL (descriptor tables, TSS, IDT):
    /// "implicit supervisor-mode accesses" (SDM Vol. 3A §4.6). No TLB entry is filled.
    func readSystem(_ linear: UInt64, _ size: Int) throws(CPUException) -> UInt64 {
        var v: UInt64 = 0
        if (linear & 0xFFF) + UInt64(size) > 4096 {
            for k in 0..<size { v |= try readSystem(linear &+ UInt64(k), 1) << UInt64(k * 8) }
            return v
        }
        return physicalRead(try translate(linear, .read, user: false), size: size)
    }

    func writeSystem(_ linear: UInt64, _ size: Int, _ value: UInt64) throws(CPUException) {
        if (linear & 0xFFF) + UInt64(size) > 4096 {
            for k in 0..<size { try writeSystem(linear &+ UInt64(k), 1, (value >> UInt64(k * 8)) & 0xFF) }
            return
        }
        physicalWrite(try translate(linear, .write, user: false), size: size, value: value)
    }
}
