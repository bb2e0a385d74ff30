import Foundation
import LoupeLang
import LoupeLibrary
import LoupeTensor

/// A user error found by the command line itself (a missing file, an unsupported file type): exit status 1 with
/// this message.
struct UserError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// What every command needs: an interpreter with the built-ins and the standard library, and error messages in
/// the one shape users see (file:line:col, the source line, a caret). The interpreter runs code on a thread with
/// a large stack itself, so deep recursion ends in its `stack overflow` error.
enum Session {
    static func makeInterpreter() throws -> Interpreter {
        let interpreter = try Interpreter(registry: LoupeLibrary.makeRegistry())
        live.append(interpreter)
        return interpreter
    }

    /// Interpreters live until the process exits: freeing a session's values on the way out is wasted time, and a
    /// value nested many thousands deep would be freed recursively on the main thread's small stack.
    nonisolated(unsafe) private static var live: [Interpreter] = []

    /// The message for an error: a LoupeError rendered against the source it points into (the interpreter keeps
    /// every file it ran; `extra` holds sources it may not know), anything else on one line.
    static func message(for error: Error, interpreter: Interpreter?, extra: [String: String] = [:]) -> String {
        switch error {
        case let e as LoupeError:
            let source = e.span.flatMap { span in interpreter?.source(of: span.file) ?? extra[span.file] }
            return collapseRepeats(e.rendered(source: source))
        case let e as UserError:
            return "error: " + e.message
        case let e as TensorError:
            return "error: \(e)"
        default:
            return "error: \(error)"
        }
    }

    /// Runs of the same call-trace line (deep recursion) shown once with a count.
    static func collapseRepeats(_ text: String) -> String {
        var out: [Substring] = []
        var previous: Substring?
        var repeats = 0
        func flush() {
            if let p = previous, repeats > 0 {
                out[out.count - 1] = Substring(p + " (repeated \(repeats + 1) times)")
            }
            repeats = 0
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  in "), line == previous {
                repeats += 1
                continue
            }
            flush()
            out.append(line)
            previous = line
        }
        flush()
        return out.joined(separator: "\n")
    }

    static func printError(_ text: String) {
        fflush(stdout)
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    /// The contents of a script, or a user error that says why it cannot be read.
    static func readScript(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw UserError("\(path): no such file")
        }
        if isDirectory.boolValue { throw UserError("\(path): is a directory, not a script") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UserError("\(path): cannot read the file (permission denied?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw UserError("\(path): not UTF-8 text")
        }
        return text
    }
}
