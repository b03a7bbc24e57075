import Foundation
import XCTest
import Devices
import MachineCore
@testable import Display

/// Runs the SDL window on a private Xvfb server: the screenshot shows the guest's picture, the
/// window follows a mode change, typed keys reach the input sink, and closing stops the machine.
final class SDLDisplayXvfbTests: XCTestCase {
    private var server: Process?
    private var display = ""

    private static func tool(_ name: String) -> String? {
        ["/usr/bin/", "/usr/local/bin/"].map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    override func setUpWithError() throws {
        guard let xvfb = Self.tool("Xvfb") else { throw XCTSkip("Xvfb is not installed (apt-get install xvfb)") }
        guard Self.tool("xwd") != nil, Self.tool("xdotool") != nil else {
            throw XCTSkip("xwd and xdotool are needed (apt-get install x11-apps xdotool)")
        }
        let number = 100 + Int(getpid()) % 800
        display = ":\(number)"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: xvfb)
        p.arguments = [display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"]
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        server = p
        let socket = "/tmp/.X11-unix/X\(number)"
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(50_000) }
        guard FileManager.default.fileExists(atPath: socket) else { throw XCTSkip("Xvfb did not start on \(display)") }
        setenv("DISPLAY", display, 1)
    }

    override func tearDown() {
        server?.terminate()
        server?.waitUntilExit()
    }

    @discardableResult
    private func run(_ tool: String, _ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.tool(tool)!)
        p.arguments = args
        p.environment = ["DISPLAY": display]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return data
    }

    /// The root window as (width, height, 0x00RRGGBB pixels), from `xwd` (XWDFile.h layout).
    private func screenshot() throws -> (Int, Int, [UInt32]) {
        let d = [UInt8](try run("xwd", ["-root", "-silent", "-display", display]))
        func field(_ i: Int) -> Int { d[(4 * i)..<(4 * i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        let headerSize = field(0), width = field(4), height = field(5), byteOrder = field(7)
        let bitsPerPixel = field(11), bytesPerLine = field(12), colors = field(19)
        let bytes = bitsPerPixel / 8
        XCTAssertTrue(bytes == 3 || bytes == 4, "\(bitsPerPixel) bits per pixel")
        let start = headerSize + colors * 12
        var pixels = [UInt32]()
        for y in 0..<height {
            for x in 0..<width {
                let o = start + y * bytesPerLine + x * bytes
                let b = d[o..<(o + bytes)].map(UInt32.init)
                let v = byteOrder == 0 ? b.reversed().reduce(0) { $0 << 8 | $1 } : b.reduce(0) { $0 << 8 | $1 }
                pixels.append(v & 0xFFFFFF)
            }
        }
        return (width, height, pixels)
    }

    private func wait(_ what: String, timeout: Double = 10, _ condition: () throws -> Bool) rethrows {
        let end = Date().addingTimeInterval(timeout)
        while try !condition() {
            if Date() > end { XCTFail("timed out waiting for \(what)"); return }
            usleep(50_000)
        }
    }

    /// A VBE mode whose left half is red and right half blue.
    private func paint(_ vga: VGA, width: Int, height: Int) {
        vga.writeDISPI(BochsVBE.indexEnable, 0)
        vga.writeDISPI(BochsVBE.indexXRes, UInt16(width))
        vga.writeDISPI(BochsVBE.indexYRes, UInt16(height))
        vga.writeDISPI(BochsVBE.indexBPP, 32)
        vga.writeDISPI(BochsVBE.indexEnable, BochsVBE.enabled | BochsVBE.lfbEnabled)
        for y in 0..<height {
            for x in 0..<width {
                vga.vram.storeBytes(of: x < width / 2 ? 0xFF0000 : 0x0000FF, toByteOffset: (y * width + x) * 4, as: UInt32.self)
            }
        }
    }

    func testWindowShowsTheScreenFollowsModesForwardsKeysAndCloseStops() throws {
        let vga = VGA()
        let lock = Lock()
        let control = MachineControl()
        lock.withLock { paint(vga, width: 640, height: 480) }
        var keys: [(UInt16, Bool)] = []
        let keysLock = Lock()
        let sink = ClosureInputSink(key: { usage, pressed in keysLock.withLock { keys.append((usage, pressed)) } })
        let sdl = SDLDisplay(vga: vga, lock: lock, control: control, input: sink, refreshHz: 30, title: "swiftpc-test")
        try sdl.start()
        defer { sdl.stop() }
        wait("two frames") { sdl.framesDrawn >= 2 }

        let (w, h, pixels) = try screenshot()
        XCTAssertEqual([w, h], [1024, 768])
        XCTAssertGreaterThan(pixels.filter { $0 == 0xFF0000 }.count, 100_000, "the red half is on the screen")
        XCTAssertGreaterThan(pixels.filter { $0 == 0x0000FF }.count, 100_000, "the blue half is on the screen")

        let window = String(decoding: try run("xdotool", ["search", "--name", "swiftpc-test"]), as: UTF8.self)
            .split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertFalse(window.isEmpty, "the window is found by its title")
        // A mode change resizes the window.
        lock.withLock { paint(vga, width: 800, height: 600) }
        try wait("the window to follow the mode") {
            String(decoding: try run("xdotool", ["getwindowgeometry", window]), as: UTF8.self).contains("800x600")
        }
        // Keys typed into the window arrive as HID usages: 'a' is 0x04.
        try run("xdotool", ["windowfocus", "--sync", window])
        try run("xdotool", ["key", "--delay", "50", "a"])
        wait("the key") { keysLock.withLock { keys.count >= 2 } }
        keysLock.withLock {
            XCTAssertEqual(keys.first?.0, 0x04)
            XCTAssertEqual(keys.first?.1, true)
            XCTAssertEqual(keys.last?.0, 0x04)
            XCTAssertEqual(keys.last?.1, false)
        }
        // Closing the window asks the machine to stop.
        XCTAssertNil(control.stopReason)
        sdl.pushQuitEvent()
        wait("the stop request") { control.stopReason != nil }
        XCTAssertEqual(control.stopReason, .external)
    }

    func testStartFailsWithAClearErrorWithoutAnXServer() {
        setenv("DISPLAY", ":1999", 1)
        setenv("SDL_VIDEODRIVER", "x11", 1)
        defer { unsetenv("SDL_VIDEODRIVER") }
        let sdl = SDLDisplay(vga: VGA(), lock: Lock(), control: MachineControl(), input: nil)
        XCTAssertThrowsError(try sdl.start()) { error in
            XCTAssertTrue("\(error)".hasPrefix("--display sdl: cannot open a window"), "\(error)")
        }
    }
}
