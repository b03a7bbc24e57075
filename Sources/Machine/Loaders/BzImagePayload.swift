import Foundation

/// The compressed kernel inside a bzImage, unpacked on the host (boot protocol 2.08+:
/// `payload_offset` and `payload_length` locate it within the protected-mode part;
/// Documentation/arch/x86/boot.rst). Booting the unpacked vmlinux through its PVH entry skips
/// the kernel's own decompressor, which on the interpreter costs about half a minute of
/// guest time for Debian's xz payload (it runs natively fast under KVM, so only the
/// interpreter uses this). Firecracker boots vmlinux the same way.
enum BzImagePayload {
    static let payloadOffset = 0x248
    static let payloadLength = 0x24C
    /// The xz stream magic (the kernel appends the uncompressed size after the stream).
    static let xzMagic: [UInt8] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]

    /// The vmlinux ELF inside `bzImage` (whose parsed setup header is `header`), or nil when
    /// it cannot be had (not xz, no `xz` tool, a corrupt stream): the caller then boots the
    /// bzImage as it is.
    static func unpackedKernel(_ bzImage: [UInt8], header: BzImageHeader) -> [UInt8]? {
        let view = ByteView(bzImage)
        guard let offset = view.u32(payloadOffset), let count = view.u32(payloadLength) else { return nil }
        let start = header.kernelOffset + Int(offset), length = Int(count)
        guard length > xzMagic.count, start + length <= bzImage.count,
              Array(bzImage[start..<start + xzMagic.count]) == xzMagic else { return nil }
        // The stream goes through a temporary file, not a pipe: a tool that stops early on a
        // corrupt stream must not leave us writing into a closed pipe (SIGPIPE).
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftpc-kernel-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).xz")
        guard (try? Data(bzImage[start..<start + length]).write(to: file)) != nil else { return nil }
        defer { try? FileManager.default.removeItem(at: file) }
        guard let output = run(["xz", "--decompress", "--stdout", "--single-stream", file.path]),
              output.starts(with: [0x7F, 0x45, 0x4C, 0x46]) else { return nil }
        return [UInt8](output)
    }

    /// Runs a host tool found on PATH; its stdout, or nil when it cannot run or fails.
    static func run(_ arguments: [String]) -> Data? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let stdout = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? output : nil
    }
}

extension KernelImage {
    /// For an engine that runs a kernel's own decompressor slowly (the interpreter: ~30 s):
    /// a bzImage whose payload unpacks on the host to a vmlinux with a PVH entry, booted
    /// through that entry instead; any other image, or one that does not unpack, as it is.
    func unpackedForDirectEntry() -> KernelImage {
        guard case .bzImage(let header) = format,
              let vmlinux = BzImagePayload.unpackedKernel(bytes, header: header),
              let unpacked = try? KernelImage.detect(bytes: vmlinux, path: path), case .pvh = unpacked.format else {
            return self
        }
        return unpacked
    }
}
