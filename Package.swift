// swift-tools-version:6.0
// The layout follows docs/ARCHITECTURE.md ("Layers"): arrows point down from the CLI to MachineCore.
import PackageDescription

let package = Package(
    name: "swiftpc",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swiftpc", targets: ["swiftpc"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "MachineCore"),
        .target(name: "X86Decoder"),
        .target(name: "Devices", dependencies: ["MachineCore"]),
        .target(name: "Interpreter", dependencies: ["MachineCore", "X86Decoder"]),
        .target(name: "CKVM"),
        .target(name: "KVMAccel", dependencies: ["MachineCore", "CKVM"]),
        // The Xen interface (issue 15): hypercalls, event channels, grant tables, xenstore, backends.
        .target(name: "Xen", dependencies: ["MachineCore"]),
        .target(name: "Machine", dependencies: ["MachineCore", "Devices", "Interpreter", "KVMAccel", "Xen"]),
        // The SDL window (`--display sdl`): SDL2 for the window and input, pixman for scaling.
        .systemLibrary(name: "CSDL2", path: "Sources/CSDL2", pkgConfig: "sdl2", providers: [.apt(["libsdl2-dev"])]),
        .systemLibrary(name: "CPixman", path: "Sources/CPixman", pkgConfig: "pixman-1", providers: [.apt(["libpixman-1-dev"])]),
        .target(name: "Display", dependencies: ["MachineCore", "Devices", "CSDL2", "CPixman"]),
        // The instruction conformance suite's runners (SingleStepTests, ...).
        .target(name: "Conformance", dependencies: ["MachineCore", "Interpreter", "X86Decoder"]),
        .executableTarget(
            name: "swiftpc",
            dependencies: [
                "Machine", "X86Decoder", "KVMAccel", "MachineCore", "Conformance", "Display", "Devices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "MachineCoreTests", dependencies: ["MachineCore"]),
        .testTarget(name: "X86DecoderTests", dependencies: ["X86Decoder"]),
        .testTarget(name: "DevicesTests", dependencies: ["Devices", "MachineCore"]),
        .testTarget(name: "InterpreterTests", dependencies: ["Interpreter", "MachineCore"]),
        .testTarget(name: "KVMAccelTests", dependencies: ["KVMAccel", "MachineCore"]),
        .testTarget(name: "XenTests", dependencies: ["Xen", "MachineCore"]),
        .testTarget(name: "MachineTests", dependencies: ["Machine", "MachineCore", "Devices", "Interpreter", "Xen"]),
        .testTarget(name: "DisplayTests", dependencies: ["Display", "Devices", "MachineCore"]),
        // Runs the built `swiftpc` binary as a user would: guests, exit statuses, bad input.
        .testTarget(name: "SystemTests", dependencies: ["MachineCore"]),
        .testTarget(name: "ConformanceTests", dependencies: ["Conformance", "Interpreter", "MachineCore", "KVMAccel"]),
    ],
    swiftLanguageModes: [.v5]
)
