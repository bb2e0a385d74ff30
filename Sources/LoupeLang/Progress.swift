import Foundation
import LoupeTensor

/// What the host running Loupe code (the command line, a notebook runner) lends to built-ins while code runs:
/// where progress goes, which random stream unseeded draws take, and who wants to know about model files loaded.
///
/// Built-ins live in modules that cannot see the host (LoupeLibrary, the model loaders), so the host installs its
/// handlers here and built-ins call the static entry points. Code runs on one interpreter thread at a time, so
/// one set of handlers per process is enough; a lock keeps reads and writes from other threads safe.
public enum HostHooks {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var _progress: ProgressSink?
    nonisolated(unsafe) private static var _random: RandomStream?
    nonisolated(unsafe) private static var _fileLoaded: ((String) -> Void)?

    /// Where `Progress` reports go; nil (the default) drops them.
    public static var progress: ProgressSink? {
        get { lock.lock(); defer { lock.unlock() }; return _progress }
        set { lock.lock(); _progress = newValue; lock.unlock() }
    }

    /// The stream unseeded random built-ins (`randn(shape)`, `shuffle(xs)`) draw from while it is set; nil means
    /// the registry's own session stream. A notebook runner sets each cell's stream before the cell runs.
    public static var randomStream: RandomStream? {
        get { lock.lock(); defer { lock.unlock() }; return _random }
        set { lock.lock(); _random = newValue; lock.unlock() }
    }

    /// Called with the path of every model file a built-in loads (so a notebook can hash it into the cache key
    /// and report its sha256 in the provenance).
    public static var fileLoaded: ((String) -> Void)? {
        get { lock.lock(); defer { lock.unlock() }; return _fileLoaded }
        set { lock.lock(); _fileLoaded = newValue; lock.unlock() }
    }

    /// Model loaders call this with each file they read weights or a tokenizer from.
    public static func recordFileLoaded(_ path: String) { fileLoaded?(path) }
}

/// Receives progress of long work. Implementations write to stderr (a bar on a terminal, timestamped lines
/// otherwise) and never into a program's printed output.
public protocol ProgressSink: AnyObject {
    /// Work named `label` started; `total` is the number of steps when known.
    func started(_ id: Int, label: String, total: Int?)
    /// `done` steps of task `id` are finished.
    func advanced(_ id: Int, done: Int)
    /// Task `id` ended (finished or abandoned).
    func finished(_ id: Int)
}

/// A unit of long work that reports how far it is: a generation loop, a training run, a pass over a dataset.
///
///     let task = ProgressTask("generate", total: maxTokens)
///     for i in 0..<maxTokens { ...; task.advance() }
///     task.finish()
///
/// Reports cost nothing when no sink is installed.
public final class ProgressTask {
    private static let counter = NSLock()
    nonisolated(unsafe) private static var nextID = 0
    public let id: Int
    public let label: String
    public let total: Int?
    public private(set) var done = 0
    private let sink: ProgressSink?
    private var ended = false

    public init(_ label: String, total: Int? = nil) {
        ProgressTask.counter.lock()
        ProgressTask.nextID += 1
        id = ProgressTask.nextID
        ProgressTask.counter.unlock()
        self.label = label
        self.total = total
        sink = HostHooks.progress
        sink?.started(id, label: label, total: total)
    }

    /// Marks `steps` more steps done.
    public func advance(by steps: Int = 1) {
        done += steps
        sink?.advanced(id, done: done)
    }

    /// Ends the task (also done when it is released).
    public func finish() {
        guard !ended else { return }
        ended = true
        sink?.finished(id)
    }

    deinit { finish() }
}
