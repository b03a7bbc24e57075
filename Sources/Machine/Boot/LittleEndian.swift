/// The low `count` bytes of `value`, least significant first: how the firmware tables, AML
/// and fw_cfg files lay out their integers.
func littleEndian(_ value: UInt64, count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) }
}
