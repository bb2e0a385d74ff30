/// A place in source code: file, 1-based line and column (in Unicode scalars), and the length to underline.
public struct SourceSpan: Equatable, Hashable {
    public let file: String
    public let line: Int
    public let column: Int
    public let length: Int
    public init(file: String, line: Int, column: Int, length: Int = 1) {
        self.file = file; self.line = line; self.column = column; self.length = length
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// Every error the language reports: syntax and name errors before running, run-time errors while running.
/// The message alone says what went wrong; `span` says where; `rendered(source:)` shows the line with a caret.
public struct LoupeError: Error, CustomStringConvertible {
    public enum Kind: String {
        case syntax, name, type, value, index, shape, io, interrupted
        case stackOverflow = "stack overflow"
        /// Raised by user code with error("...").
        case user
    }

    public let kind: Kind
    public let message: String
    public var span: SourceSpan?
    /// Calls active when a run-time error happened, innermost first ("in fn f at x.loupe:3:5").
    public var trace: [String] = []

    public init(_ kind: Kind, _ message: String, at span: SourceSpan? = nil) {
        self.kind = kind; self.message = message; self.span = span
    }

    /// `file:line:col: error: message`
    public var description: String {
        let place = span.map { "\($0.description): " } ?? ""
        return "\(place)error: \(message)"
    }

    /// The description, then the source line and a caret under the span, clox-style:
    ///
    ///     script.loupe:3:9: error: undefined name 'lenght' (did you mean 'length'?)
    ///         let n = lenght(xs)
    ///                 ^~~~~~
    public func rendered(source: String?) -> String {
        var out = description
        if let span, let source {
            let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
            if span.line >= 1, span.line <= lines.count {
                let text = String(lines[span.line - 1])
                let pad = String(repeating: " ", count: Swift.max(0, span.column - 1))
                let marks = "^" + String(repeating: "~", count: Swift.max(0, span.length - 1))
                out += "\n    " + text + "\n    " + pad + marks
            }
        }
        for t in trace { out += "\n  " + t }
        return out
    }
}
