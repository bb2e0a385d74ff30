import Foundation
import LoupeLang

/// Progress on stderr, never on stdout or in cell outputs: on a terminal one line redrawn in place
/// (`[3/12] ███████░░░░░ setup · generate 40/64`), otherwise one timestamped line per event
/// (`[07:41:02] cell 3/12 'setup' (line 20): computed 0.12 s`). Serves both the notebook runner's cells and
/// built-ins' `ProgressTask`s.
public final class ConsoleProgress: RunObserver, ProgressSink {
    private let isTerminal: Bool
    private let write: (String) -> Void
    private let lock = NSLock()
    private var cellLine = ""
    private var tasks: [Int: (label: String, total: Int?, done: Int)] = [:]
    private var lastDraw: UInt64 = 0
    private var lastLogged: [Int: UInt64] = [:]
    private let clock: () -> Date

    /// `terminal`: draw a bar (default: whether stderr is a terminal). `write` receives the text (default: stderr).
    public init(terminal: Bool? = nil, clock: @escaping () -> Date = Date.init, write: ((String) -> Void)? = nil) {
        isTerminal = terminal ?? (isatty(2) == 1)
        self.clock = clock
        self.write = write ?? { FileHandle.standardError.write(Data($0.utf8)) }
    }

    private func stamp() -> String {
        "[" + UTCStamp.clock(clock()) + "]"
    }

    private func bar(_ done: Int, _ total: Int, width: Int = 20) -> String {
        let filled = total > 0 ? min(width, done * width / total) : 0
        return String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
    }

    private func redraw() {
        var line = cellLine
        for (_, t) in tasks.sorted(by: { $0.key < $1.key }) {
            line += " · \(t.label) " + (t.total.map { "\(t.done)/\($0)" } ?? "\(t.done)")
        }
        write("\r\u{1B}[2K" + line)
    }

    // MARK: Cells

    public func cellStarted(_ cell: Cell, position: Int, of total: Int) {
        lock.lock(); defer { lock.unlock() }
        let name = cell.options.name.map { " '\($0)'" } ?? ""
        if isTerminal {
            cellLine = "[\(position + 1)/\(total)] \(bar(position, total)) cell \(cell.index)\(name) (line \(cell.line))"
            redraw()
        }
    }

    public func cellFinished(_ r: CellResult, position: Int, of total: Int) {
        lock.lock(); defer { lock.unlock() }
        let name = r.cell.options.name.map { " '\($0)'" } ?? ""
        let what: String
        switch r.status {
        case .computed: what = String(format: "computed %.3f s", r.seconds)
        case .cached: what = "cached"
        case .failed: what = "FAILED"
        case .skipped: what = "skipped"
        }
        if isTerminal {
            if position + 1 == total { write("\r\u{1B}[2K") } else {
                cellLine = "[\(position + 1)/\(total)] \(bar(position + 1, total)) cell \(r.cell.index)\(name): \(what)"
                redraw()
            }
        } else {
            write("\(stamp()) cell \(position + 1)/\(total)\(name) (line \(r.cell.line)): \(what)\n")
        }
    }

    // MARK: Built-in tasks

    public func started(_ id: Int, label: String, total: Int?) {
        lock.lock(); defer { lock.unlock() }
        tasks[id] = (label, total, 0)
        if isTerminal { redraw() } else {
            write("\(stamp()) \(label): started" + (total.map { " (\($0) steps)" } ?? "") + "\n")
            lastLogged[id] = DispatchTime.now().uptimeNanoseconds
        }
    }

    public func advanced(_ id: Int, done: Int) {
        lock.lock(); defer { lock.unlock() }
        guard var t = tasks[id] else { return }
        t.done = done
        tasks[id] = t
        let now = DispatchTime.now().uptimeNanoseconds
        if isTerminal {
            // Redrawing costs a write; ten times a second is smooth enough.
            if now - lastDraw > 100_000_000 { lastDraw = now; redraw() }
        } else if now - (lastLogged[id] ?? 0) > 5_000_000_000 {
            // Plain logs get a line every five seconds at most.
            lastLogged[id] = now
            write("\(stamp()) \(t.label): \(done)" + (t.total.map { "/\($0)" } ?? "") + "\n")
        }
    }

    public func finished(_ id: Int) {
        lock.lock(); defer { lock.unlock() }
        guard let t = tasks.removeValue(forKey: id) else { return }
        lastLogged[id] = nil
        if isTerminal { redraw() } else {
            write("\(stamp()) \(t.label): done \(t.done)" + (t.total.map { "/\($0)" } ?? "") + "\n")
        }
    }
}
