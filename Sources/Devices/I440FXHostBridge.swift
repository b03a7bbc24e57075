/// The Intel 82441FX (i440FX) PCI and memory controller, the host bridge at 00:00.0 of a
/// PIIX3-era PC (82441FX datasheet, §3 "Register Description").
///
/// Identity and the command/status defaults are those of the datasheet. The PAM registers
/// (0x59-0x5F, which route the 0xC0000-0xFFFFF BIOS areas to ROM or RAM) decide which of
/// those pages take writes (`shadowWriteProtectedPages`, which the board makes memory state; reads
/// always see the DRAM copy, which holds the BIOS image at reset). SMRAM (0x72) is a plain
/// register: SMM is not modelled.
public final class I440FXHostBridge: PCIDevice {
    public static let vendorID: UInt16 = 0x8086
    public static let deviceID: UInt16 = 0x1237
    public static let revision: UInt8 = 0x02
    /// Class 06 (bridge), subclass 00 (host bridge), programming interface 00.
    public static let classCode: UInt8 = 0x06
    public static let subclass: UInt8 = 0x00

    /// PCICMD at reset: memory access and bus master enabled (hardwired on in the 82441FX).
    public static let commandDefault: UInt16 = PCIConfig.commandMemorySpace | PCIConfig.commandBusMaster
    /// The PCICMD bits software may change: parity error response and SERR# enable.
    public static let commandWritable: UInt16 = PCIConfig.commandParityErrorResponse | PCIConfig.commandSERREnable
    /// PCISTS at reset: fast back-to-back capable, medium DEVSEL timing.
    public static let statusDefault: UInt16 = PCIConfig.statusFastBackToBack | PCIConfig.statusDevselMedium

    /// Master latency timer (bits 7:3 writable).
    public static let latencyTimerWritable: UInt8 = 0xF8

    /// PAM0: only bits 5:4 (the 0xF0000-0xFFFFF BIOS area) exist.
    public static let pam0 = 0x59
    /// PAM1-PAM6: bits 1:0 and 5:4 control two 16 KiB areas each.
    public static let pam6 = 0x5F
    public static let pam0Writable: UInt8 = 0x30
    public static let pamWritable: UInt8 = 0x33
    /// PAM bit: reads of the area go to DRAM.
    public static let pamReadEnable: UInt8 = 0x01
    /// PAM bit: writes to the area go to DRAM.
    public static let pamWriteEnable: UInt8 = 0x02

    /// SMRAM control register.
    public static let smram = 0x72
    /// Bits 2:0 C_BASE_SEG: hardwired 010 (SMRAM at 0xA0000).
    public static let smramDefault: UInt8 = 0x02
    /// D_OPEN, D_CLS, D_LCK, G_SMRAME.
    public static let smramWritable: UInt8 = 0x78

    public var config: PCIConfigSpace

    /// Called after a guest write that touched a PAM register, with the register offset.
    public var onPAMWrite: ((Int) -> Void)?

    public init() {
        var c = PCIConfigSpace(vendorID: Self.vendorID, deviceID: Self.deviceID, revision: Self.revision,
                               classCode: Self.classCode, subclass: Self.subclass, progIF: 0)
        c.set16(PCIConfig.command, Self.commandDefault)
        c.setWriteMask(PCIConfig.command, width: 2, UInt32(Self.commandWritable))
        c.set16(PCIConfig.status, Self.statusDefault)
        c.setClearMask(PCIConfig.status, width: 2, UInt32(PCIConfig.statusErrorBits))
        c.setWriteMask(PCIConfig.latencyTimer, width: 1, UInt32(Self.latencyTimerWritable))
        c.setWriteMask(Self.pam0, width: 1, UInt32(Self.pam0Writable))
        for offset in (Self.pam0 + 1)...Self.pam6 { c.setWriteMask(offset, width: 1, UInt32(Self.pamWritable)) }
        c.set8(Self.smram, Self.smramDefault)
        c.setWriteMask(Self.smram, width: 1, UInt32(Self.smramWritable))
        config = c
    }

    /// First 4 KiB page of the PAM-controlled area (0xC0000) and its page count (to 0xFFFFF).
    public static let shadowFirstPage: UInt64 = 0xC0
    public static let shadowPageCount = 64

    /// The pages of 0xC0000-0xFFFFF whose writes do not reach DRAM (their PAM write enable is
    /// clear; 82441FX §3.2.18): bit i stands for page `shadowFirstPage + i`. PAM0 bits 5:4
    /// cover 0xF0000-0xFFFFF; PAM1-PAM6 cover 0xC0000-0xEFFFF in 16 KiB halves, the low
    /// nibble the lower half.
    public var shadowWriteProtectedPages: UInt64 {
        var mask: UInt64 = 0
        func protect(_ firstPage: Int, pages: Int, register: Int, shift: UInt8) {
            guard (config.read8(register) >> shift) & Self.pamWriteEnable == 0 else { return }
            for k in 0..<pages { mask |= 1 << UInt64(firstPage + k) }
        }
        protect(48, pages: 16, register: Self.pam0, shift: 4)
        for k in 0..<6 {
            protect(8 * k, pages: 4, register: Self.pam0 + 1 + k, shift: 0)
            protect(8 * k + 4, pages: 4, register: Self.pam0 + 1 + k, shift: 4)
        }
        return mask
    }

    /// The state a BIOS leaves for a directly booted kernel: every PAM area read-write DRAM.
    public func enableShadowRAM() {
        configWrite(offset: Self.pam0, size: 1, value: UInt32(Self.pam0Writable))
        for offset in (Self.pam0 + 1)...Self.pam6 { configWrite(offset: offset, size: 1, value: UInt32(Self.pamWritable)) }
    }

    /// Power-on state: every register back to its default, PAM through writes so that the
    /// hook sees them.
    public func reset() {
        resetRegistersOutsidePAM()
        for offset in Self.pam0...Self.pam6 { configWrite(offset: offset, size: 1, value: 0) }
        config.set8(Self.smram, Self.smramDefault)
    }

    /// The 00:00.0 address the host bridge lives at.
    public static let address = PCIAddress(bus: 0, device: 0, function: 0)!

    public func configWrite(offset: Int, size: Int, value: UInt32) {
        config.write(offset: offset, size: size, value: value)
        for o in offset..<(offset + size) where (Self.pam0...Self.pam6).contains(o) {
            onPAMWrite?(o)
        }
    }
}
