import CReadline
import Foundation

/// A completion candidate: the text that replaces the word being completed, and what to append when it is the only
/// match ("(" after a function, "." after a namespace, nothing after a field).
struct Completion {
    var text: String
    var suffix: String = ""
}

/// GNU readline through its callback interface, so that Ctrl-C at the prompt can abandon the line cleanly: the
/// SIGINT handler only writes a byte to a pipe, and the read loop polls the terminal and that pipe together.
/// History lives in a file (one entry per input, multi-line entries kept whole through timestamps) that every
/// session appends to and that is trimmed to `historyLimit` entries.
final class LineEditor {
    enum Input {
        case line(String)
        /// Ctrl-C at the prompt: the line was abandoned.
        case interrupted
        /// Ctrl-D on an empty line, or the end of input.
        case eof
    }

    let historyPath: String?
    let historyLimit: Int
    /// Given the text of the line before the word being completed and the word itself, the candidates, or nil to
    /// fall back to readline's file-name completion.
    var complete: ((_ before: String, _ word: String) -> [Completion]?)?
    /// Characters that end a word for completion, given the line so far (file names keep their slashes).
    var wordBreaks: ((_ line: String) -> String)?

    /// The editor the C callbacks talk to (there is only ever one readline).
    nonisolated(unsafe) static var current: LineEditor?

    init(historyPath: String?, historyLimit: Int = 1000) {
        self.historyPath = historyPath
        self.historyLimit = historyLimit
        LineEditor.current = self
        SigintPipe.install()

        // Readline edits by characters only in a multibyte locale; Loupe source is UTF-8 whatever LANG says.
        // (Only LC_CTYPE: LC_NUMERIC would change how printf writes decimals.)
        let ctype = setlocale(LC_CTYPE, "").map { String(cString: $0) } ?? "C"
        if !ctype.lowercased().contains("utf") {
            if setlocale(LC_CTYPE, "C.UTF-8") == nil { _ = setlocale(LC_CTYPE, "en_US.UTF-8") }
        }
        rl_readline_name = strdup("loupe").map { UnsafePointer($0) }
        rl_catch_signals = 0
        rl_attempted_completion_function = { text, start, _ in LineEditor.completeCallback(text, Int(start)) }
        rl_completion_word_break_hook = { LineEditor.wordBreakCallback() }
        rl_completer_word_break_characters = strdup(LineEditor.defaultBreaks).map { UnsafePointer($0) }

        // Timestamps mark where each entry starts, so an entry that spans lines reads back as one.
        history_comment_char = CChar(UInt8(ascii: "#"))
        history_write_timestamps = 1
        history_multiline_entries = 1
        stifle_history(Int32(historyLimit))
        if let path = historyPath {
            if FileManager.default.fileExists(atPath: path) {
                _ = history_truncate_file(path, Int32(historyLimit))
                _ = read_history(path)
            }
        }
    }

    static let defaultBreaks = " \t\n\"\\'`@$><=;|&{}()[],:+-*/%!~^#"

    /// Reads one line with `prompt`; Ctrl-C returns `.interrupted` with the line abandoned.
    func readLine(prompt: String) -> Input {
        SigintPipe.drain()
        LineState.reset()
        using_history()
        rl_callback_handler_install(prompt) { line in
            if let line {
                LineState.line = String(cString: line)
                free(line)
            } else {
                LineState.eof = true
            }
            LineState.done = true
            // Removing the handler here stops readline from printing the next prompt before we evaluate.
            rl_callback_handler_remove()
        }
        let input = fileno(rl_instream ?? stdin)
        while true {
            var fds = [pollfd(fd: input, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: SigintPipe.readEnd, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, -1)
            if n < 0 {
                if errno == EINTR { continue }
                rl_callback_handler_remove()
                return .eof
            }
            if fds[1].revents & Int16(POLLIN) != 0 {
                let signals = SigintPipe.drain()
                if signals.contains(SigintPipe.interruptByte) {
                    abandonLine()
                    return .interrupted
                }
                if signals.contains(SigintPipe.continueByte) {
                    // Back from Ctrl-Z: the shell restored its own terminal modes; take ours again and redraw.
                    rl_deprep_terminal()
                    rl_prep_terminal(1)
                    rl_resize_terminal()
                    _ = rl_forced_update_display()
                }
                continue
            }
            if fds[0].revents & Int16(POLLNVAL) != 0 {
                rl_callback_handler_remove()
                return .eof
            }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                rl_callback_read_char()
                if LineState.done {
                    return LineState.eof ? .eof : .line(LineState.line)
                }
            }
        }
    }

    /// Ctrl-C at the prompt: forget the line, restore the terminal and move to a fresh line.
    private func abandonLine() {
        // Show the ^C after the whole line, as a shell does, then leave the line.
        rl_point = rl_end
        rl_redisplay()
        fputs("^C\n", stdout)
        fflush(stdout)
        rl_free_line_state()
        rl_callback_sigcleanup()
        rl_cleanup_after_signal()
        rl_callback_handler_remove()
        rl_replace_line("", 1)
        rl_point = 0
        rl_end = 0
        rl_mark = 0
    }

    /// Records an input in the history and appends it to the history file at once, so that sessions running side
    /// by side all keep their entries.
    func addHistory(_ entry: String) {
        let trimmed = entry.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return }
        if history_length > 0, let last = history_get(history_base + history_length - 1), let text = last.pointee.line,
           String(cString: text) == entry {
            return
        }
        add_history(entry)
        guard let path = historyPath else { return }
        if !FileManager.default.fileExists(atPath: path) {
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            if fd >= 0 { Glibc.close(fd) }
        }
        _ = append_history(1, path)
    }

    /// Trims the history file to its cap (readline rewrites it through a temporary file and a rename).
    func close() {
        if let path = historyPath, FileManager.default.fileExists(atPath: path) {
            _ = history_truncate_file(path, Int32(historyLimit))
        }
    }

    // MARK: completion callbacks

    nonisolated(unsafe) private static var candidates: [String] = []
    nonisolated(unsafe) private static var nextCandidate = 0
    nonisolated(unsafe) private static var breaksBuffer: UnsafeMutablePointer<CChar>?

    private static func completeCallback(_ text: UnsafePointer<CChar>?, _ start: Int) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard let editor = current, let complete = editor.complete, let text else { return nil }
        let word = String(cString: text)
        let lineBytes = rl_line_buffer.map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: Int(rl_end))) } ?? []
        let before = String(decoding: lineBytes.prefix(max(0, min(start, lineBytes.count))), as: UTF8.self)
        guard let found = complete(before, word) else {
            return nil  // readline's file-name completion
        }
        rl_attempted_completion_over = 1
        var seen = Set<String>()
        let matches = found.filter { $0.text.hasPrefix(word) && seen.insert($0.text).inserted }
            .sorted { $0.text < $1.text }
        candidates = matches.map(\.text)
        nextCandidate = 0
        if matches.count == 1, let c = matches[0].suffix.utf8.first {
            rl_completion_append_character = Int32(c)
        } else {
            rl_completion_append_character = 0
        }
        return rl_completion_matches(text) { _, state in
            if state == 0 { LineEditor.nextCandidate = 0 }
            guard LineEditor.nextCandidate < LineEditor.candidates.count else { return nil }
            defer { LineEditor.nextCandidate += 1 }
            return strdup(LineEditor.candidates[LineEditor.nextCandidate])
        }
    }

    private static func wordBreakCallback() -> UnsafeMutablePointer<CChar>? {
        let breaks: String
        if let hook = current?.wordBreaks, let buffer = rl_line_buffer {
            breaks = hook(String(cString: buffer))
        } else {
            breaks = defaultBreaks
        }
        free(breaksBuffer)
        breaksBuffer = strdup(breaks)
        return breaksBuffer
    }
}

/// What the line handler hands back to `readLine`.
private enum LineState {
    nonisolated(unsafe) static var line = ""
    nonisolated(unsafe) static var done = false
    nonisolated(unsafe) static var eof = false
    static func reset() { line = ""; done = false; eof = false }
}

/// Ctrl-C handling for the REPL. The handler does only async-signal-safe work: it asks a running evaluation to
/// stop (an atomic flag in the interpreter) and writes a byte to a pipe that the prompt's read loop watches.
/// SIGCONT (after Ctrl-Z and `fg`) writes another byte, so the prompt takes the terminal back.
enum SigintPipe {
    nonisolated(unsafe) static var readEnd: Int32 = -1
    nonisolated(unsafe) static var writeEnd: Int32 = -1
    /// Set while an evaluation runs; read by the handler.
    nonisolated(unsafe) static var onInterrupt: (@convention(c) () -> Void)?

    static func install() {
        guard readEnd < 0 else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        readEnd = fds[0]
        writeEnd = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            if let interrupt = SigintPipe.onInterrupt {
                // An evaluation is running: ask it to stop. A built-in that never returns to the interpreter
                // cannot notice, so a third Ctrl-C leaves Loupe.
                SigintPipe.pressed += 1
                if SigintPipe.pressed == 2 {
                    SigintPipe.say("\n(stopping; press Ctrl-C once more to quit Loupe)\n")
                } else if SigintPipe.pressed >= 3 {
                    SigintPipe.say("\nloupe: quit\n")
                    _exit(130)
                }
                interrupt()
            }
            var byte = SigintPipe.interruptByte
            _ = write(SigintPipe.writeEnd, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)

        var resume = sigaction()
        resume.__sigaction_handler.sa_handler = { _ in
            var byte = SigintPipe.continueByte
            _ = write(SigintPipe.writeEnd, &byte, 1)
        }
        sigemptyset(&resume.sa_mask)
        resume.sa_flags = SA_RESTART
        sigaction(SIGCONT, &resume, nil)
    }

    /// What the handlers write into the pipe.
    static let interruptByte: UInt8 = 1
    static let continueByte: UInt8 = 2

    /// Ctrl-C presses during the current evaluation.
    nonisolated(unsafe) static var pressed = 0

    /// Arms Ctrl-C for an evaluation (nil disarms it).
    static func arm(_ interrupt: (@convention(c) () -> Void)?) {
        drain()
        pressed = 0
        onInterrupt = interrupt
    }

    /// Async-signal-safe write of a static message to standard error.
    static func say(_ message: StaticString) {
        _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
    }

    /// Empties the pipe; the bytes that were in it.
    @discardableResult
    static func drain() -> [UInt8] {
        guard readEnd >= 0 else { return [] }
        var seen: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = read(readEnd, &buffer, buffer.count)
            if n <= 0 { break }
            seen += buffer[0..<n]
        }
        return seen
    }
}
