import XCTest
import MachineCore
@testable import Xen

/// The hypervisor core: ABI decoding per width, privilege, and each hypercall it answers
/// (Xen 4.17 semantics), with hostile arguments answered by an error.
final class XenHypervisorTests: XCTestCase {
    typealias F = XenHypervisorFixture

    func testVersionIsDecodedFromRAXIn64BitModeAndEBXIn32BitMode() throws {
        let f = try F(version: XenInterfaceVersion(major: 4, minor: 17))
        XCTAssertEqual(f.call64(XenHypercall.xenVersion, XenVersionABI.version), 0x0004_0011)
        // 32-bit: number in EAX (upper half ignored), command in EBX; RDI holds get_features,
        // which a 64-bit decoder would run.
        var r = HypercallRegisters(instruction: .vmmcall, cpl: 0, longMode: false, rax: 0xDEAD_0000_0000_0011, rbx: 0, rdi: 6)
        XCTAssertEqual(f.xen.hypercall(&r, context: f.context), .handled)
        XCTAssertEqual(r.rax, 0x0004_0011)
        XCTAssertEqual(f.call64(XenHypercall.xenVersion, XenVersionABI.pageSize), 4096)
    }

    func testCallsFromUserModeAreRefusedWithEPERMAndDoNothing() throws {
        let f = try F()
        try f.put(le32(XenSchedABI.reasonPoweroff))
        XCTAssertEqual(f.call64(XenHypercall.schedOp, XenSchedABI.shutdown, F.linear(F.argument), cpl: 3), errno(.EPERM))
        XCTAssertEqual(f.call64(XenHypercall.xenVersion, 0, cpl: 1), errno(.EPERM))
        XCTAssertEqual(f.shutdowns, [])
        XCTAssertTrue(f.xen.statisticsLines.contains("xen hypercalls refused from CPL > 0: 2"))
    }

    func testUnimplementedCallsAnswerENOSYSAndAreCountedPerSubOperation() throws {
        let f = try F()
        XCTAssertEqual(f.call64(1), errno(.ENOSYS))  // mmu_update: a PV guest's
        XCTAssertEqual(f.call64(XenHypercall.memoryOp, 1, F.linear(F.argument)), errno(.ENOSYS))  // decrease_reservation
        XCTAssertEqual(f.call64(XenHypercall.memoryOp, 1, F.linear(F.argument)), errno(.ENOSYS))
        XCTAssertEqual(f.call64(XenHypercall.vcpuOp, 7, 0), errno(.ENOSYS))  // stop_periodic_timer
        XCTAssertEqual(f.call64(XenHypercall.eventChannelOp, EventChannelABI.opInitControl, 0), errno(.ENOSYS))
        XCTAssertEqual(f.call64(XenHypercall.xenVersion, XenVersionABI.version), 0x0004_0011)
        XCTAssertEqual(f.xen.callCount(XenHypercall.memoryOp, 1).unimplemented, 2)
        XCTAssertEqual(f.xen.callCount(1, nil).unimplemented, 1)
        XCTAssertEqual(f.xen.callCount(XenHypercall.xenVersion, 0).calls, 1)
        let lines = f.xen.statisticsLines
        XCTAssertEqual(lines[1], "xen hypercalls answered -ENOSYS: 5 — mmu_update 1, memory_op(1) 2, vcpu_op(7) 1, event_channel_op(11) 1")
    }

    /// The guest picks hypercall numbers and sub-operations: the counters keep one entry for
    /// all numbers from 64 and one for all sub-operations from 64, however many it tries.
    func testCountersStayBoundedWhateverNumbersTheGuestUses() throws {
        let f = try F()
        for i in 0..<2000 as Range<UInt64> {
            XCTAssertEqual(f.call64(64 + i * 0x1_0001), errno(.ENOSYS))
            XCTAssertEqual(f.call64(7, 64 + i * 0x777), errno(.ENOSYS))                     // platform_op
            XCTAssertEqual(f.call64(XenHypercall.hvmOp, 0x40 + i, F.linear(F.argument)), errno(.ENOSYS))
        }
        let lines = f.xen.statisticsLines
        XCTAssertEqual(lines[0], "xen 4.17: hypercalls 6000 — platform_op(64+) 2000, hvm_op(64+) 2000, hypercall_64+ 2000")
        XCTAssertEqual(f.xen.callCount(1_000_000, nil).calls, 2000)
    }

    func testFeaturesAreOnlyWhatIsImplemented() throws {
        let f = try F()
        try f.put(le32(0) + le32(0xFFFF_FFFF))
        XCTAssertEqual(f.call64(XenHypercall.xenVersion, XenVersionABI.getFeatures, F.linear(F.argument)), 0)
        let features = try f.memory.read32(F.argument + 4)
        XCTAssertEqual(features, 0b1_0000_1111, "writable page/descriptor tables, auto-translated physmap, supervisor-mode kernel, hvm_callback_vector")
        XCTAssertEqual(features & XenFeature.hvmSafePVClock, 0)
        try f.put(le32(1) + le32(0))
        XCTAssertEqual(f.call64(XenHypercall.xenVersion, XenVersionABI.getFeatures, F.linear(F.argument)), errno(.EINVAL))
        f.context.unmappedPages = [F.linear(F.argument) >> 12]
        XCTAssertEqual(f.call64(XenHypercall.xenVersion, XenVersionABI.getFeatures, F.linear(F.argument)), errno(.EFAULT))
    }

    func testVersionStringsAreNULPaddedArrays() throws {
        let f = try F()
        try f.put(Array(repeating: 0xAA, count: 1024))
        XCTAssertEqual(f.call64(XenHypercall.xenVersion, XenVersionABI.extraVersion, F.linear(F.argument)), 0)
        XCTAssertEqual(try f.memory.read(F.argument, count: 16), Array(".0-swiftpc".utf8) + [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(f.call64(XenHypercall.xenVersion, XenVersionABI.capabilities, F.linear(F.argument)), 0)
        XCTAssertEqual(String(decoding: try f.memory.read(F.argument, count: 14), as: UTF8.self), "hvm-3.0-x86_32")
        XCTAssertEqual(try f.memory.read8(F.argument + 1023), 0)
    }

    /// xen_add_to_physmap: domid, size, space, idx, gpfn — unsigned longs are 8 bytes in 64-bit
    /// mode and 4 in 32-bit mode.
    func testAddToPhysmapPlacesSharedInfoAndGrantFramesInBothLayouts() throws {
        let f = try F()
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenMemoryABI.spaceSharedInfo) + le64(0) + le64(0x30))
        XCTAssertEqual(f.call64(XenHypercall.memoryOp, XenMemoryABI.addToPhysmap, F.linear(F.argument)), 0)
        XCTAssertEqual(f.xen.eventChannels.sharedInfo, 0x30000)
        try f.put(le16(1) + le16(0) + le32(XenMemoryABI.spaceGrantTable) + le32(2) + le32(0x31), at: 0x1000)
        XCTAssertEqual(f.call32(XenHypercall.memoryOp, XenMemoryABI.addToPhysmap, 0x1000), 0)
        XCTAssertEqual(f.xen.grantTable.frameAddress(index: 2), 0x31000)
        XCTAssertEqual(f.xen.grantTable.frameCount, 3)

        // shared_info has only index 0 and must be RAM; other domains are refused.
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenMemoryABI.spaceSharedInfo) + le64(1) + le64(0x30))
        XCTAssertEqual(f.call64(XenHypercall.memoryOp, XenMemoryABI.addToPhysmap, F.linear(F.argument)), errno(.EINVAL))
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenMemoryABI.spaceSharedInfo) + le64(0) + le64(0x10_0000))
        XCTAssertEqual(f.call64(XenHypercall.memoryOp, XenMemoryABI.addToPhysmap, F.linear(F.argument)), errno(.EINVAL))
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenMemoryABI.spaceSharedInfo) + le64(0) + le64(UInt64.max))
        XCTAssertEqual(f.call64(XenHypercall.memoryOp, XenMemoryABI.addToPhysmap, F.linear(F.argument)), errno(.EINVAL))
        try f.put(le16(0) + le16(0) + le32(XenMemoryABI.spaceSharedInfo) + le64(0) + le64(0x30))
        XCTAssertEqual(f.call64(XenHypercall.memoryOp, XenMemoryABI.addToPhysmap, F.linear(F.argument)), errno(.EPERM))
        try f.put(le16(7) + le16(0) + le32(XenMemoryABI.spaceSharedInfo) + le64(0) + le64(0x30))
        XCTAssertEqual(f.call64(XenHypercall.memoryOp, XenMemoryABI.addToPhysmap, F.linear(F.argument)), errno(.ESRCH))
    }

    /// PVH Linux puts its grant frames where no RAM is: each gets a page of its own, which
    /// moves with the frame and goes with a reset; devices and impossible addresses are refused.
    func testGrantFramesOutsideRAMAreBackedAndFollowTheFrame() throws {
        let f = try F()
        let mmioPage: UInt64 = 0xFEE0_0000
        f.xen.isDeviceAddress = { $0 == mmioPage }
        func place(_ index: UInt64, _ address: UInt64) -> Int64 {
            XCTAssertNoThrow(try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenMemoryABI.spaceGrantTable)
                                       + le64(index) + le64(address >> 12)))
            return f.call64(XenHypercall.memoryOp, XenMemoryABI.addToPhysmap, F.linear(F.argument))
        }
        let outside: UInt64 = 0x1_0000_0000
        XCTAssertEqual(place(0, outside), 0)
        XCTAssertTrue(f.memory.isRuntimePage(outside))
        XCTAssertEqual(f.xen.grantTable.frameAddress(index: 0), outside)
        // The guest fills in a grant; the backend finds it in the runtime page.
        try f.memory.write16(outside + 8 * 5 + 2, 0)                       // domid 0
        try f.memory.write32(outside + 8 * 5 + 4, 0x300)                   // frame 0x300 (RAM)
        try f.memory.write16(outside + 8 * 5, GrantTableABI.flagPermitAccess)
        let access = try f.xen.grantTable.acquire(ref: 5, write: true)
        XCTAssertEqual(access.frameAddress, 0x30_0000)
        f.xen.grantTable.release(access)

        // Moved: the contents follow, the old page is unbacked.
        XCTAssertEqual(place(0, outside + 0x5000), 0)
        XCTAssertFalse(f.memory.isRuntimePage(outside))
        XCTAssertEqual(try f.memory.read32(outside + 0x5000 + 8 * 5 + 4), 0x300)
        XCTAssertEqual(f.memory.runtimePageCount, 1)
        // Into RAM: no runtime page is needed, the old one goes.
        XCTAssertEqual(place(0, 0x40000), 0)
        XCTAssertEqual(f.memory.runtimePageCount, 0)

        XCTAssertEqual(place(1, mmioPage), errno(.EINVAL), "a device's page")
        XCTAssertEqual(place(1, 1 << 40), errno(.EINVAL), "beyond MAXPHYADDR")
        XCTAssertEqual(place(UInt64(f.xen.grantTable.maxFrames), outside), errno(.EINVAL), "an index past the table")
        XCTAssertEqual(f.memory.runtimePageCount, 0, "refusals back nothing")

        XCTAssertEqual(place(1, outside), 0)
        XCTAssertEqual(place(2, outside + 0x1000), 0)
        let machinePage: UInt64 = 0xFEFF_0000
        try f.memory.addRuntimePage(at: machinePage)    // one the machine backed for itself
        XCTAssertEqual(f.memory.runtimePageCount, 3)
        f.xen.resetDomain()
        XCTAssertEqual(f.memory.runtimePageCount, 1, "a reset unbacks the frames")
        XCTAssertNil(f.memory.pointer(outside))
        XCTAssertTrue(f.memory.isRuntimePage(machinePage), "and leaves the machine's own pages")
    }

    /// A page the machine backed for itself (the pc board's console and store pages) is never
    /// taken over by a grant frame: a frame placed there and moved off again, or a domain
    /// reset, would unback the page under the backend that holds it.
    func testAGrantFrameCannotTakeOverAMachinePage() throws {
        let f = try F()
        let machinePage: UInt64 = 0xFEFF_8000
        try f.memory.addRuntimePage(at: machinePage)
        try f.memory.write32(machinePage, 0xC0FFEE)
        func place(_ index: UInt64, _ address: UInt64) -> Int64 {
            XCTAssertNoThrow(try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenMemoryABI.spaceGrantTable)
                                       + le64(index) + le64(address >> 12)))
            return f.call64(XenHypercall.memoryOp, XenMemoryABI.addToPhysmap, F.linear(F.argument))
        }
        XCTAssertEqual(place(0, machinePage), errno(.EINVAL))
        XCTAssertNil(f.xen.grantTable.frameAddress(index: 0))
        XCTAssertEqual(place(0, 0x1_0000_0000), 0, "elsewhere the frame goes in")
        XCTAssertEqual(place(0, machinePage), errno(.EINVAL), "nor may a placed frame move onto it")
        XCTAssertEqual(place(0, 0x40000), 0)
        f.xen.resetDomain()
        XCTAssertTrue(f.memory.isRuntimePage(machinePage), "the page is still backed")
        XCTAssertEqual(try f.memory.read32(machinePage), 0xC0FFEE, "with what the machine put there")
    }

    func testBadPointersAreEFAULT() throws {
        let f = try F()
        // Beyond guest memory, and unmapped.
        XCTAssertEqual(f.call64(XenHypercall.memoryOp, XenMemoryABI.addToPhysmap, F.linear(0x1000_0000)), errno(.EFAULT))
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.getParam, 0x7FFF_FFFF_F000), errno(.EFAULT))
        // A structure straddling into an unmapped page.
        f.context.unmappedPages = [F.linear(0x21000) >> 12]
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.getParam, F.linear(0x20FF8)), errno(.EFAULT))
        XCTAssertEqual(f.call64(XenHypercall.eventChannelOp, EventChannelABI.opSend, F.linear(0x21000)), errno(.EFAULT))
        XCTAssertEqual(f.call64(XenHypercall.grantTableOp, GrantTableABI.opQuerySize, F.linear(0x21000), 1), errno(.EFAULT))
        // The last byte of the 64-bit address space: the structure would wrap.
        XCTAssertEqual(f.call64(XenHypercall.vcpuOp, XenVCPUABI.registerVCPUInfo, 0, UInt64.max - 3), errno(.EFAULT))
    }

    func testHVMParamsTheGuestMaySetAndRead() throws {
        let f = try F()
        let callback = (XenHVMABI.callbackTypeVector << 56) | 0xF3
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenHVMABI.paramCallbackIRQ) + le64(callback))
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.setParam, F.linear(F.argument)), 0)
        XCTAssertEqual(f.xen.param(XenHVMABI.paramCallbackIRQ), callback)
        // Store and console are the toolstack's: readable, not writable by the guest.
        f.xen.setToolstackParam(XenHVMABI.paramConsolePFN, 0x3F0)
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenHVMABI.paramConsolePFN) + le64(0))
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.getParam, F.linear(F.argument)), 0)
        XCTAssertEqual(try f.memory.read64(F.argument + 8), 0x3F0)
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenHVMABI.paramStorePFN) + le64(5))
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.setParam, F.linear(F.argument)), errno(.EPERM))
        // Out-of-range index, exception vectors, unknown callback types, other domains.
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenHVMABI.paramCount) + le64(0))
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.getParam, F.linear(F.argument)), errno(.EINVAL))
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(0) + le64((2 << 56) | 0x0E))
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.setParam, F.linear(F.argument)), errno(.EINVAL))
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(0) + le64(7 << 56))
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.setParam, F.linear(F.argument)), errno(.EINVAL))
        try f.put(le16(0) + le16(0) + le32(0) + le64(0))
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.getParam, F.linear(F.argument)), errno(.EPERM))
        XCTAssertEqual(f.xen.param(XenHVMABI.paramCallbackIRQ), callback)
    }

    /// The callback vector is level-like: due while evtchn_upcall_pending is set; a per-vCPU
    /// vector replaces it and goes through the local APIC.
    func testUpcallsFollowTheCallbackVectorThenThePerVCPUVector() throws {
        let f = try F()
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenMemoryABI.spaceSharedInfo) + le64(0) + le64(0x30))
        XCTAssertEqual(f.call64(XenHypercall.memoryOp, XenMemoryABI.addToPhysmap, F.linear(F.argument)), 0)
        try f.put(le16(EventChannelABI.domidSelf) + le16(0) + le32(XenHVMABI.paramCallbackIRQ) + le64((2 << 56) | 0xF3))
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.setParam, F.linear(F.argument)), 0)
        XCTAssertNil(f.xen.pendingCallbackVector(vcpu: 0))
        // An IPI port sent to itself raises the upcall.
        try f.put(le32(0) + le32(0))
        XCTAssertEqual(f.call64(XenHypercall.eventChannelOp, EventChannelABI.opBindIPI, F.linear(F.argument)), 0)
        let port = try f.memory.read32(F.argument + 4)
        _ = f.takeUpcalls()
        try f.put(le32(port))
        XCTAssertEqual(f.call64(XenHypercall.eventChannelOp, EventChannelABI.opSend, F.linear(F.argument)), 0)
        XCTAssertEqual(f.takeUpcalls().first, .callbackVector(0xF3))
        XCTAssertEqual(f.xen.pendingCallbackVector(vcpu: 0), 0xF3)
        // The guest clears the flag: no longer due.
        try f.memory.write8(0x30000, 0)
        XCTAssertNil(f.xen.pendingCallbackVector(vcpu: 0))

        // Per-vCPU vector: {vcpu, vector}; vectors below 16 and missing vCPUs are refused.
        try f.put(le32(0) + [0x0F, 0, 0, 0])
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.setEvtchnUpcallVector, F.linear(F.argument)), errno(.EINVAL))
        try f.put(le32(1) + [0xF3, 0, 0, 0])
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.setEvtchnUpcallVector, F.linear(F.argument)), errno(.ENOENT))
        try f.put(le32(0) + [0xF3, 0, 0, 0])
        XCTAssertEqual(f.call64(XenHypercall.hvmOp, XenHVMABI.setEvtchnUpcallVector, F.linear(F.argument)), 0)
        try f.memory.write64(0x30000 + SharedInfoLayout.eventPendingOffset, 0)
        try f.memory.write64(0x30000 + VCPUInfoLayout.pendingSelectorOffset, 0)
        _ = f.takeUpcalls()
        try f.put(le32(port))
        XCTAssertEqual(f.call64(XenHypercall.eventChannelOp, EventChannelABI.opSend, F.linear(F.argument)), 0)
        XCTAssertEqual(f.takeUpcalls(), [.localAPIC(vector: 0xF3)])
        XCTAssertNil(f.xen.pendingCallbackVector(vcpu: 0), "the per-vCPU vector replaces the callback")
    }

    func testRegisterVCPUInfo() throws {
        let f = try F()
        try f.put(le64(0x40) + le32(0x80) + le32(0))
        XCTAssertEqual(f.call64(XenHypercall.vcpuOp, XenVCPUABI.registerVCPUInfo, 1, F.linear(F.argument)), errno(.ENOENT))
        XCTAssertEqual(f.call64(XenHypercall.vcpuOp, XenVCPUABI.registerVCPUInfo, 1 << 32, F.linear(F.argument)), errno(.ENOENT))
        XCTAssertEqual(f.call64(XenHypercall.vcpuOp, XenVCPUABI.registerVCPUInfo, 0, F.linear(F.argument)), 0)
        XCTAssertEqual(f.xen.eventChannels.vcpuInfoAddress(vcpu: 0), 0x40080)
        XCTAssertEqual(f.call64(XenHypercall.vcpuOp, XenVCPUABI.registerVCPUInfo, 0, F.linear(F.argument)), errno(.EINVAL), "only once")
    }

    /// SCHEDOP_block turns event delivery on (evtchn_upcall_mask cleared) and asks the engine
    /// to block the vCPU until an interrupt is due (HypercallOutcome.handledThenBlock);
    /// yield returns at once; a refused call never blocks.
    func testBlockEnablesEventsAndBlocksTheVCPU() throws {
        let f = try F()
        try f.put(le64(0x40) + le32(0x80) + le32(0))
        XCTAssertEqual(f.call64(XenHypercall.vcpuOp, XenVCPUABI.registerVCPUInfo, 0, F.linear(F.argument)), 0)
        try f.put([0, 1], at: 0x40080)                      // upcall pending 0, mask 1
        var r = HypercallRegisters(instruction: .vmcall, cpl: 0, longMode: true, rax: XenHypercall.schedOp, rdi: XenSchedABI.block)
        XCTAssertEqual(f.xen.hypercall(&r, context: f.context), .handledThenBlock)
        XCTAssertEqual(r.rax, 0)
        XCTAssertEqual(try f.memory.read8(0x40081), 0, "event delivery enabled")
        r = HypercallRegisters(instruction: .vmcall, cpl: 0, longMode: false, rax: XenHypercall.schedOp, rbx: XenSchedABI.block)
        XCTAssertEqual(f.xen.hypercall(&r, context: f.context), .handledThenBlock, "32-bit ABI too")
        r = HypercallRegisters(instruction: .vmcall, cpl: 0, longMode: true, rax: XenHypercall.schedOp, rdi: XenSchedABI.yield)
        XCTAssertEqual(f.xen.hypercall(&r, context: f.context), .handled)
        r = HypercallRegisters(instruction: .vmcall, cpl: 3, longMode: true, rax: XenHypercall.schedOp, rdi: XenSchedABI.block)
        XCTAssertEqual(f.xen.hypercall(&r, context: f.context), .handled)
        XCTAssertEqual(Int64(bitPattern: r.rax), errno(.EPERM))
    }

    func testShutdownReasons() throws {
        let f = try F()
        for reason in [XenSchedABI.reasonPoweroff, XenSchedABI.reasonReboot, XenSchedABI.reasonCrash, XenSchedABI.reasonWatchdog] {
            try f.put(le32(reason))
            XCTAssertEqual(f.call64(XenHypercall.schedOp, XenSchedABI.shutdown, F.linear(F.argument)), 0)
        }
        XCTAssertEqual(f.shutdowns, [.powerOff, .reboot, .crash("crash"), .crash("watchdog")])
        try f.put(le32(6))
        XCTAssertEqual(f.call64(XenHypercall.schedOp, XenSchedABI.shutdown, F.linear(F.argument)), errno(.EINVAL))
        try f.put(le32(XenSchedABI.reasonSuspend))
        XCTAssertEqual(f.call64(XenHypercall.schedOp, XenSchedABI.shutdown, F.linear(F.argument)), errno(.ENOSYS))
        XCTAssertEqual(f.call64(XenHypercall.schedOp, XenSchedABI.yield), 0)
        XCTAssertEqual(f.shutdowns.count, 4)
    }

    func testConsoleWriteReadsAcrossPagesAndRefusesBadBuffers() throws {
        let f = try F()
        let text = Array("hello from hvc\n".utf8)
        try f.put(text, at: 0x20FF8)  // straddles 0x21000
        XCTAssertEqual(f.call64(XenHypercall.consoleIO, XenConsoleIOABI.write, UInt64(text.count), F.linear(0x20FF8)), 0)
        XCTAssertEqual(f.console, "hello from hvc\n")
        f.context.unmappedPages = [F.linear(0x21000) >> 12]
        XCTAssertEqual(f.call64(XenHypercall.consoleIO, XenConsoleIOABI.write, UInt64(text.count), F.linear(0x20FF8)), errno(.EFAULT))
        XCTAssertEqual(f.call64(XenHypercall.consoleIO, XenConsoleIOABI.write, 0xFFFF_FFFF, F.linear(0x20000)), errno(.EINVAL))
        XCTAssertEqual(f.call64(XenHypercall.consoleIO, XenConsoleIOABI.read, 16, F.linear(0x20000)), errno(.ENOSYS))
        XCTAssertEqual(f.console, "hello from hvc\n")
    }

    func testHypercallPageHoldsVMCALLStubs() throws {
        let f = try F()
        XCTAssertTrue(f.xen.writeHypercallPageMSR(0x5000))
        let page = try f.memory.read(0x5000, count: 4096)
        // stub 17: mov eax, 17; vmcall; ret; INT3 padding
        XCTAssertEqual(Array(page[17 * 32..<17 * 32 + 10]), [0xB8, 17, 0, 0, 0, 0x0F, 0x01, 0xC1, 0xC3, 0xCC])
        XCTAssertEqual(Array(page[23 * 32..<23 * 32 + 3]), [0x0F, 0x0B, 0xCC], "iret is UD2 for HVM")
        XCTAssertEqual(Array(page[127 * 32..<127 * 32 + 5]), [0xB8, 127, 0, 0, 0])
        XCTAssertFalse(f.xen.writeHypercallPageMSR(0x5001), "only page 0 exists")
        XCTAssertFalse(f.xen.writeHypercallPageMSR(0x1_0000_0000), "not RAM")
        XCTAssertEqual(Array(XenHypervisor.hypercallPage(instruction: .vmmcall)[5..<8]), [0x0F, 0x01, 0xD9])
    }
}
