import CSDL2
import Devices
import Foundation
import MachineCore

/// Why the SDL window could not be opened.
public enum DisplayError: Error, CustomStringConvertible, Equatable {
    case unavailable(String)

    public var description: String {
        switch self {
        case let .unavailable(why): return "--display sdl: cannot open a window: \(why)"
        }
    }
}

/// An SDL2 window showing the VGA: refreshed about `refreshHz` times a second, scaled to the
/// window with pixman, resized when the guest changes mode; keys and mouse go to an input
/// sink; closing the window asks the machine to stop.
///
/// Threading: every SDL call happens on one thread, the display thread that `start()`
/// creates, so the vCPU keeps the thread that created it (KVM wants vCPU ioctls from the
/// creating thread). That is fine for SDL on Linux (X11, Wayland); on macOS SDL needs the
/// main thread, and `runLoop()` can be called there instead, with the vCPU moved to a thread.
/// The VGA registers are copied under the machine lock; video memory is read without it (a
/// frame torn by a concurrent guest write is redrawn on the next refresh).
public final class SDLDisplay: @unchecked Sendable {
    public let vga: VGA
    private let lock: Lock
    private let control: MachineControl
    private let input: DisplayInputSink?
    public let refreshHz: Int
    public let title: String

    private var window: OpaquePointer?
    private var frame = VGAFramebuffer()
    private var shownSize = (width: 0, height: 0)
    private var grabbed = false
    private let stopRequested = Atomic(false)
    private var thread: Thread?
    /// Set by the display thread before it signals that the window is open (or not).
    private var openFailure: String?
    private let finished = DispatchSemaphore(value: 0)
    /// Frames drawn so far (tests wait for the first).
    public var framesDrawn: Int { framesLock.withLock { drawn } }
    private var drawn = 0
    private let framesLock = Lock()

    public init(vga: VGA, lock: Lock, control: MachineControl, input: DisplayInputSink?,
                refreshHz: Int = 30, title: String = "swiftpc") {
        self.vga = vga
        self.lock = lock
        self.control = control
        self.input = input
        self.refreshHz = max(1, min(refreshHz, 120))
        self.title = title
    }

    // MARK: Lifecycle

    /// Opens the window on a new display thread and returns once it is open. Throws when SDL
    /// cannot initialise video (no X server or Wayland compositor, no DISPLAY).
    public func start() throws(DisplayError) {
        let opened = DispatchSemaphore(value: 0)
        let t = Thread { [self] in
            openFailure = openWindow()
            opened.signal()
            if openFailure == nil { runLoop() }
            closeWindow()
            finished.signal()
        }
        t.name = "swiftpc-display"
        thread = t
        t.start()
        opened.wait()
        if let failure = openFailure {
            finished.wait()
            thread = nil
            throw .unavailable(failure)
        }
    }

    /// Closes the window and waits for the display thread to end.
    public func stop() {
        guard thread != nil else { return }
        stopRequested.store(true)
        finished.wait()
        thread = nil
    }

    /// SDL_Init and the window; nil on success, else SDL's reason.
    private func openWindow() -> String? {
        // Termination signals belong to the machine (it blocks them and waits for them):
        // SDL must not turn SIGINT into a quit event of its own.
        SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1")
        guard SDL_Init(SDL_INIT_VIDEO) == 0 else { return String(cString: SDL_GetError()) }
        render()
        let size = FrameScaler.windowSize(forFrameWidth: frame.width, height: frame.height)
        // SDL_WINDOWPOS_UNDEFINED is a macro Swift cannot import: its value is the mask.
        let undefinedPosition = Int32(bitPattern: 0x1FFF_0000)
        guard let w = SDL_CreateWindow(title, undefinedPosition, undefinedPosition, Int32(size.width), Int32(size.height),
                                       SDL_WINDOW_RESIZABLE.rawValue) else {
            let why = String(cString: SDL_GetError())
            SDL_Quit()
            return why
        }
        window = w
        shownSize = (frame.width, frame.height)
        return nil
    }

    private func closeWindow() {
        if let window { SDL_DestroyWindow(window) }
        window = nil
        SDL_Quit()
    }

    // MARK: The loop

    /// Pumps events and redraws until `stop()` (or until the window is closed and the
    /// machine has been asked to stop). Runs on the thread that opened the window.
    func runLoop() {
        let period = 1000 / UInt32(refreshHz)
        var nextFrame = SDL_GetTicks()
        while !stopRequested.load() {
            var event = SDL_Event()
            let now = SDL_GetTicks()
            let wait = nextFrame > now ? Int32(nextFrame - now) : 0
            if SDL_WaitEventTimeout(&event, wait) != 0 {
                handle(event)
                while SDL_PollEvent(&event) != 0 { handle(event) }
            }
            if SDL_GetTicks() >= nextFrame {
                render()
                present()
                nextFrame = SDL_GetTicks() + period
            }
        }
    }

    /// Renders the guest screen into `frame` (registers copied under the machine lock).
    private func render() {
        let state = lock.withLock { vga.snapshot() }
        // The VGA cursor blinks every 16 frames of 60 Hz: about 267 ms on, 267 ms off.
        let blinkOn = (SDL_GetTicks() / 267) % 2 == 0
        VGARenderer.render(state: state, vram: vga.vram, vramSize: vga.vramSize, blinkOn: blinkOn, into: &frame)
    }

    /// Resizes the window after a mode change and draws the frame scaled to the window.
    private func present() {
        guard let window else { return }
        if frame.width != shownSize.width || frame.height != shownSize.height {
            shownSize = (frame.width, frame.height)
            let size = FrameScaler.windowSize(forFrameWidth: frame.width, height: frame.height)
            SDL_SetWindowSize(window, Int32(size.width), Int32(size.height))
        }
        guard let surface = SDL_GetWindowSurface(window) else { return }
        let s = surface.pointee
        guard let pixels = s.pixels, let format = Self.scalerFormat(s.format.pointee.format) else {
            presentThroughShadow(surface)
            return
        }
        if SDL_MUSTLOCK(surface) { SDL_LockSurface(surface) }
        FrameScaler.scale(&frame, into: pixels, width: Int(s.w), height: Int(s.h), stride: Int(s.pitch), format: format)
        if SDL_MUSTLOCK(surface) { SDL_UnlockSurface(surface) }
        SDL_UpdateWindowSurface(window)
        framesLock.withLock { drawn += 1 }
    }

    /// For window surfaces in a format pixman is not given directly: scale into an XRGB
    /// surface and let SDL convert while blitting.
    private func presentThroughShadow(_ target: UnsafeMutablePointer<SDL_Surface>) {
        guard let window else { return }
        let w = target.pointee.w, h = target.pointee.h
        guard let shadow = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_RGB888.rawValue) else { return }
        defer { SDL_FreeSurface(shadow) }
        guard let pixels = shadow.pointee.pixels else { return }
        FrameScaler.scale(&frame, into: pixels, width: Int(w), height: Int(h), stride: Int(shadow.pointee.pitch), format: .xrgb8888)
        SDL_UpperBlit(shadow, nil, target, nil)
        SDL_UpdateWindowSurface(window)
        framesLock.withLock { drawn += 1 }
    }

    static func scalerFormat(_ sdl: UInt32) -> FrameScaler.Format? {
        switch sdl {
        case SDL_PIXELFORMAT_RGB888.rawValue: return .xrgb8888
        case SDL_PIXELFORMAT_ARGB8888.rawValue: return .argb8888
        case SDL_PIXELFORMAT_BGR888.rawValue: return .xbgr8888
        case SDL_PIXELFORMAT_RGB565.rawValue: return .rgb565
        default: return nil
        }
    }

    // MARK: Events

    /// Posts a quit event as the window manager's close button does (SDL_PushEvent may be
    /// called from any thread); for tests.
    func pushQuitEvent() {
        var event = SDL_Event()
        event.type = SDL_QUIT.rawValue
        SDL_PushEvent(&event)
    }

    private func handle(_ event: SDL_Event) {
        switch event.type {
        case SDL_QUIT.rawValue:
            control.requestStop(.external)
        case SDL_WINDOWEVENT.rawValue:
            if event.window.event == UInt8(SDL_WINDOWEVENT_CLOSE.rawValue) { control.requestStop(.external) }
        case SDL_KEYDOWN.rawValue, SDL_KEYUP.rawValue:
            handleKey(event.key)
        case SDL_MOUSEMOTION.rawValue:
            let m = event.motion
            input?.mouse(dx: Int(m.xrel), dy: -Int(m.yrel), dz: 0, buttons: SDLInputTranslation.ps2Buttons(sdlState: m.state))
        case SDL_MOUSEBUTTONDOWN.rawValue, SDL_MOUSEBUTTONUP.rawValue:
            if event.type == SDL_MOUSEBUTTONDOWN.rawValue && !grabbed { setGrab(true) }
            input?.mouse(dx: 0, dy: 0, dz: 0, buttons: SDLInputTranslation.ps2Buttons(sdlState: SDL_GetMouseState(nil, nil)))
        case SDL_MOUSEWHEEL.rawValue:
            // SDL: y > 0 is away from the user; PS/2: z > 0 is towards the user.
            input?.mouse(dx: 0, dy: 0, dz: -Int(event.wheel.y), buttons: SDLInputTranslation.ps2Buttons(sdlState: SDL_GetMouseState(nil, nil)))
        default:
            break
        }
    }

    /// Ctrl+Alt+G releases a grabbed pointer (QEMU's key); everything else goes to the guest.
    private func handleKey(_ key: SDL_KeyboardEvent) {
        let pressed = key.type == SDL_KEYDOWN.rawValue
        let scancode = key.keysym.scancode.rawValue
        let modifiers = UInt32(key.keysym.mod)
        let ctrlAlt = modifiers & UInt32(KMOD_CTRL.rawValue) != 0 && modifiers & UInt32(KMOD_ALT.rawValue) != 0
        if grabbed && ctrlAlt && scancode == SDL_SCANCODE_G.rawValue {
            if pressed { setGrab(false) }
            return
        }
        guard let usage = SDLInputTranslation.usage(scancode: scancode) else { return }
        input?.key(usage: usage, pressed: pressed)
    }

    private func setGrab(_ on: Bool) {
        guard let window, input != nil else { return }
        grabbed = on
        SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE)
        SDL_SetWindowTitle(window, on ? title + " (Ctrl+Alt+G releases the mouse)" : title)
    }

    /// Whether SDL must lock a surface before its pixels are touched (SDL_MUSTLOCK is a macro).
    private func SDL_MUSTLOCK(_ surface: UnsafeMutablePointer<SDL_Surface>) -> Bool {
        surface.pointee.flags & UInt32(SDL_RLEACCEL) != 0
    }
}

/// A Bool shared between threads (the stop flag).
final class Atomic: @unchecked Sendable {
    private let lock = Lock()
    private var value: Bool
    init(_ value: Bool) { self.value = value }
    func load() -> Bool { lock.withLock { value } }
    func store(_ v: Bool) { lock.withLock { value = v } }
}
