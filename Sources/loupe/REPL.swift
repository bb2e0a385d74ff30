import Foundation
import LoupeLang
import LoupeTensor

/// The interactive loop: read (readline, multi-line while brackets or a string are open), evaluate (Ctrl-C
/// interrupts it), print (Printer), and the `:` commands. Errors are shown with their
/// caret and the loop goes on. When standard input is not a terminal, inputs are read without prompts or line
/// editing and the exit status says whether any of them failed.
final class REPL {
    static let keywords = ["let", "var", "fn", "if", "else", "for", "in", "while", "break", "continue", "return",
                           "import", "try", "true", "false", "nil", "and", "or", "not", "by", "as"]

    static let commands: [(name: String, args: String, help: String)] = [
        ("help", "", "show this help"),
        ("doc", "NAME", "documentation of a built-in, a namespace or a function (:doc metrics.ece)"),
        ("type", "EXPR", "the type of a value (with a tensor's shape, a function's signature)"),
        ("time", "EXPR", "evaluate and show the wall time it took"),
        ("load", "FILE", "run a .loupe file; its top-level names stay defined"),
        ("reset", "", "forget every name defined in this session"),
        ("quit", "", "leave (Ctrl-D does too)"),
    ]

    private let interpreter: Interpreter
    private let interactive: Bool
    private var editor: LineEditor?
    private var printer = Printer()
    private var counter = 0
    /// Sources of the inputs, for errors raised later in code an earlier input defined.
    private var sources: [String: String] = [:]
    /// The inputs and the files :load ran, in order (for `# doc:` comments).
    private var inputs: [String] = []
    private var loadedFiles: [String] = []
    /// Whether the last thing written to standard output ended a line.
    nonisolated(unsafe) private static var atLineStart = true
    private var failures = 0

    init(interpreter: Interpreter, interactive: Bool) {
        self.interpreter = interpreter
        self.interactive = interactive
        interpreter.output = { text in
            guard !text.isEmpty else { return }
            fputs(text, stdout)
            fflush(stdout)
            REPL.atLineStart = text.hasSuffix("\n")
        }
        if interactive {
            var size = winsize()
            if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col >= 40 {
                printer.width = min(Int(size.ws_col) - 1, 160)
            }
            let editor = LineEditor(historyPath: REPL.historyPath())
            editor.complete = { [unowned self] before, word in self.completions(before: before, word: word) }
            editor.wordBreaks = { line in
                line.hasPrefix(":load ") ? " \t\n" : LineEditor.defaultBreaks
            }
            self.editor = editor
        }
    }

    /// ~/.loupe_history, following $HOME.
    static func historyPath() -> String? {
        if let home = ProcessInfo.processInfo.environment["HOME"], !home.isEmpty {
            return (home as NSString).appendingPathComponent(".loupe_history")
        }
        return nil
    }

    /// Runs until :quit or the end of input; the exit status (1 when a non-interactive input failed).
    func run() -> Int32 {
        if interactive {
            print("Loupe \(Loupe.version). Type :help for help, Ctrl-D or :quit to leave.")
        }
        var pending = ""
        while true {
            guard let line = nextLine(continuation: !pending.isEmpty) else {
                if interactive { print("") }
                if !pending.isEmpty { _ = submit(pending) }
                break
            }
            if line == nil {  // Ctrl-C: drop what was typed so far
                pending = ""
                continue
            }
            pending += (pending.isEmpty ? "" : "\n") + line!
            if pending.trimmingCharacters(in: .whitespaces).isEmpty {
                pending = ""
                continue
            }
            // Two empty lines in a row end an input even when it looks unfinished (the parser then says why).
            if REPL.needsMore(pending) && !pending.hasSuffix("\n\n") { continue }
            let input = pending
            pending = ""
            editor?.addHistory(input)
            if !submit(input) { break }
        }
        editor?.close()
        return failures > 0 && !interactive ? 1 : 0
    }

    /// The next line: nil at the end of input, .some(nil) after Ctrl-C at the prompt.
    private func nextLine(continuation: Bool) -> String?? {
        if let editor {
            switch editor.readLine(prompt: continuation ? "  ...> " : "loupe> ") {
            case let .line(text): return .some(text)
            case .interrupted: return .some(nil)
            case .eof: return nil
            }
        }
        guard let text = Swift.readLine(strippingNewline: true) else { return nil }
        return .some(text)
    }

    /// Evaluates an input or runs a command; false to leave the loop.
    private func submit(_ input: String) -> Bool {
        let trimmed = input.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix(":") {
            return command(trimmed)
        }
        if let value = evaluate(input) { show(value) }
        return true
    }

    // MARK: evaluation

    /// Runs code as a new input (file REPL[n]) on the big-stack thread with Ctrl-C armed; prints an error and
    /// returns nil when it fails.
    private func evaluate(_ code: String, timed: ((Double) -> Void)? = nil) -> Value? {
        counter += 1
        let file = "REPL[\(counter)]"
        sources[file] = code
        inputs.append(code)
        REPL.atLineStart = true
        SigintPipe.arm { Interpreter.requestInterrupt() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = Result { try interpreter.run(code, file: file) }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        SigintPipe.arm(nil)
        switch result {
        case let .success(value):
            timed?(elapsed)
            return value
        case let .failure(error):
            report(error)
            return nil
        }
    }

    private func report(_ error: Error) {
        failures += 1
        endLine()
        // The terminal echoed ^C where the cursor was; start the message on a line of its own.
        if interactive, let e = error as? LoupeError, e.kind == .interrupted {
            print("")
            fflush(stdout)
        }
        Session.printError(Session.message(for: error, interpreter: interpreter, extra: sources))
    }

    private func show(_ value: Value) {
        if case .nil = value { return }
        endLine()
        print(printer.format(value))
        fflush(stdout)
    }

    /// Moves to a fresh line if a print() left the cursor in the middle of one.
    private func endLine() {
        if !REPL.atLineStart {
            print("")
            REPL.atLineStart = true
        }
    }

    private func say(_ text: String) {
        print(text)
        fflush(stdout)
    }

    private func commandError(_ message: String) {
        failures += 1
        Session.printError("error: " + message)
    }

    // MARK: commands

    private func command(_ text: String) -> Bool {
        let body = text.dropFirst()
        let name = String(body.prefix { !$0.isWhitespace })
        let argument = body.dropFirst(name.count).trimmingCharacters(in: .whitespacesAndNewlines)
        let matches = REPL.commands.filter { $0.name.hasPrefix(name) }
        guard !name.isEmpty, let cmd = matches.first(where: { $0.name == name }) ?? (matches.count == 1 ? matches[0] : nil) else {
            if matches.count > 1 && !name.isEmpty {
                commandError("ambiguous command ':\(name)': " + matches.map { ":" + $0.name }.joined(separator: ", "))
            } else {
                commandError("unknown command ':\(name)' (:help lists the commands)")
            }
            return true
        }
        if !cmd.args.isEmpty && argument.isEmpty {
            commandError("usage: :\(cmd.name) \(cmd.args)")
            return true
        }
        switch cmd.name {
        case "help":
            help()
        case "doc":
            doc(argument)
        case "type":
            if let value = evaluate(argument) { say(Printer.typeDescription(value)) }
        case "time":
            var seconds = 0.0
            if let value = evaluate(argument, timed: { seconds = $0 }) {
                show(value)
                endLine()
                say("time: " + Printer.duration(seconds))
            }
        case "load":
            load(argument)
        case "reset":
            interpreter.reset()
            sources = [:]
            inputs = []
            loadedFiles = []
            say("session reset")
        case "quit":
            return false
        default:
            break
        }
        return true
    }

    private func help() {
        var lines = ["Enter Loupe statements; the value of the last one is shown. Input goes on over several lines",
                     "while a bracket, brace, parenthesis or string is open. Tab completes names and fields.",
                     "Ctrl-C stops a running evaluation or clears the line; Ctrl-D leaves.", "", "Commands:"]
        for c in REPL.commands {
            let head = ":" + c.name + (c.args.isEmpty ? "" : " " + c.args)
            lines.append("  " + head.padding(toLength: 14, withPad: " ", startingAt: 0) + c.help)
        }
        lines.append("")
        lines.append("History is kept in ~/.loupe_history. The language: docs/language.md.")
        say(lines.joined(separator: "\n"))
    }

    private func load(_ argument: String) {
        var path = argument
        if path.count >= 2, path.hasPrefix("\""), path.hasSuffix("\"") { path = String(path.dropFirst().dropLast()) }
        path = (path as NSString).expandingTildeInPath
        if path.hasSuffix(".nb") {
            commandError("\(path): notebooks are not supported yet")
            return
        }
        let source: String
        do { source = try Session.readScript(path) } catch {
            report(error)
            return
        }
        sources[path] = source
        loadedFiles.append(path)
        SigintPipe.arm { Interpreter.requestInterrupt() }
        let result = Result { try interpreter.run(source, file: path) }
        SigintPipe.arm(nil)
        switch result {
        case .success: endLine(); say("loaded \(path)")
        case let .failure(error): report(error)
        }
    }

    /// `:doc NAME`: a built-in's signature and documentation, a namespace's functions, a keyword, or the
    /// signature and documentation of a function value.
    private func doc(_ name: String) {
        let registry = interpreter.registry
        if let builtin = registry.lookup(name) {
            say(builtin.signature + "\n\n" + indentDoc(builtin.doc))
            return
        }
        let prefix = name + "."
        let members = registry.names.filter { $0.hasPrefix(prefix) }
        if !members.isEmpty || registry.namespaceDocs[name] != nil {
            var lines = ["namespace \(name)"]
            if let d = registry.namespaceDocs[name] { lines += ["", indentDoc(d)] }
            lines.append("")
            for m in members {
                guard let f = registry.lookup(m) else { continue }
                let summary = f.doc.split(separator: "\n").first.map(String.init) ?? ""
                lines.append("  " + f.signature + (summary.isEmpty ? "" : "\n      " + summary))
            }
            say(lines.joined(separator: "\n"))
            return
        }
        if let text = REPL.keywordDocs[name] {
            say("keyword \(name)\n\n    " + text)
            return
        }
        if let value = resolve(name) {
            switch value {
            case let .function(f):
                let text = f.doc.isEmpty ? docComment(for: f.name) ?? "" : f.doc
                say(f.signature + "\n\n" + indentDoc(text))
            case let .object(o):
                say("\(name): \(o.typeName)\n\n    \(o.summary)\n\nmembers: " + o.memberNames.joined(separator: ", "))
            default:
                say("\(name) is a \(Printer.typeDescription(value)), not a function: \(printer.format(value))")
            }
            return
        }
        var known = interpreter.globalNames + registry.names + REPL.keywords
        known += registry.namespaces
        let suggestion = REPL.nearest(to: name, in: known).map { " (did you mean '\($0)'?)" } ?? ""
        commandError("no documentation for '\(name)': not a built-in, a keyword or a defined name\(suggestion)")
    }

    /// The comment block just above `fn NAME(` (from its `# doc:` line on, when it has one) in the code this
    /// session ran: its inputs and loaded files, newest first, then the standard library.
    private func docComment(for name: String) -> String? {
        // The session's inputs in order, as one text (a comment typed as its own input still sits above the fn).
        var texts = [inputs.joined(separator: "\n")]
        texts += loadedFiles.reversed().compactMap { sources[$0] }
        let stdlib = Bundle.main.bundleURL.appendingPathComponent("Loupe_LoupeLang.resources/stdlib").path
        let files = (try? FileManager.default.contentsOfDirectory(atPath: stdlib)) ?? []
        for file in files.sorted() where file.hasSuffix(".loupe") {
            if let text = interpreter.source(of: "stdlib/" + file) { texts.append(text) }
        }
        for text in texts {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            for (i, line) in lines.enumerated().reversed() where line.hasPrefix("fn \(name)(") {
                var block: [String] = []
                var j = i - 1
                while j >= 0, lines[j].hasPrefix("#") {
                    block.insert(String(lines[j].dropFirst()).trimmingCharacters(in: .whitespaces), at: 0)
                    j -= 1
                }
                if let start = block.lastIndex(where: { $0.hasPrefix("doc:") }) {
                    block = Array(block[start...])
                    block[0] = String(block[0].dropFirst(4)).trimmingCharacters(in: .whitespaces)
                }
                if !block.isEmpty { return block.joined(separator: "\n") }
            }
        }
        return nil
    }

    private func indentDoc(_ doc: String) -> String {
        doc.isEmpty ? "    (no documentation)"
            : doc.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "    " + $0 }.joined(separator: "\n")
    }

    static let keywordDocs: [String: String] = [
        "let": "let NAME = EXPR binds a name for good; let [a, b] = xs and let {x, y} = r destructure.",
        "var": "var NAME = EXPR declares a mutable binding, assignable (=, +=, ...) in the same function or cell.",
        "fn": "fn name(a, b = 3) { body } declares a function; fn(x) -> x * 2 is a lambda.",
        "if": "if COND { ... } else { ... } is an expression; without else the missing branch is nil.",
        "for": "for x in xs { ... } iterates lists, ranges, strings, records (keys) and tensors (rows).",
        "while": "while COND { ... } repeats while COND holds; break and continue work as usual.",
        "try": "try { ... } else e { ... } catches a run-time error and binds it as e (message, kind, line, col, file).",
        "import": "import \"file.loupe\" binds its top-level names; import \"file.loupe\" as m binds them as fields of m.",
        "return": "return EXPR leaves the enclosing function with a value.",
        "in": "x in xs tests membership; for x in xs iterates.",
        "and": "a and b: b only when a is truthy (only false and nil are falsy).",
        "or": "a or b: a when it is truthy, else b.",
        "not": "not a: true when a is false or nil.",
    ]

    // MARK: names and completion

    /// The value of a dotted name (`cfg.alpha`, `metrics.ece`, `m.encode`) without evaluating any code: globals,
    /// record fields, host-object members, and built-ins by qualified name.
    private func resolve(_ path: String) -> Value? {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, REPL.isIdentifier(first), parts.allSatisfy(REPL.isIdentifier) else { return nil }
        if let builtin = interpreter.registry.lookup(path) { return .function(builtin) }
        guard var value = interpreter.global(first) else { return nil }
        for part in parts.dropFirst() {
            guard let next = member(of: value, part) else { return nil }
            value = next
        }
        return value
    }

    private func member(of value: Value, _ name: String) -> Value? {
        switch value {
        case let .record(r): return r[name]
        case let .object(o): return o.member(name)
        case let .tensor(t):
            switch name {
            case "shape": return .list(t.shape.map { .int($0) })
            case "rank", "ndim": return .int(t.rank)
            case "size": return .int(t.count)
            default: return nil
            }
        default: return nil
        }
    }

    private func memberNames(of value: Value) -> [String] {
        switch value {
        case let .record(r): return r.keys
        case let .object(o): return o.memberNames
        case .error: return ["message", "kind", "line", "col", "file"]
        case .tensor: return ["shape", "rank", "ndim", "size"]
        default: return []
        }
    }

    private func suffix(for value: Value?) -> String {
        switch value {
        case .function?: return "("
        default: return ""
        }
    }

    /// Candidates for the word being completed: commands after a leading ':', names in scope and keywords, and
    /// after a dot the fields of a record, the members of an object or the functions of a namespace. nil (file
    /// names) for :load.
    func completions(before: String, word: String) -> [Completion]? {
        let head = before.trimmingCharacters(in: .whitespaces)
        if head == ":" && !before.hasSuffix(" ") {
            return REPL.commands.map { Completion(text: $0.name, suffix: " ") }
        }
        if head.hasPrefix(":load") { return nil }
        let inDoc = head.hasPrefix(":doc")
        let registry = interpreter.registry

        if let dot = word.lastIndex(of: ".") {
            let base = String(word[..<dot])
            var out: [Completion] = []
            let prefix = base + "."
            var seen = Set<String>()
            for qualified in registry.names where qualified.hasPrefix(prefix) {
                let rest = qualified.dropFirst(prefix.count)
                let component = String(rest.prefix { $0 != "." })
                guard seen.insert(component).inserted else { continue }
                let nested = rest.contains(".")
                out.append(Completion(text: prefix + component, suffix: inDoc ? "" : nested ? "." : "("))
            }
            if let value = resolve(base) {
                for name in memberNames(of: value) where seen.insert(name).inserted {
                    let v = member(of: value, name)
                    out.append(Completion(text: prefix + name, suffix: inDoc ? "" : suffix(for: v)))
                }
            }
            return out
        }

        var out: [Completion] = []
        // Inside a call's parentheses: its keyword arguments first ("seed: ").
        if !inDoc, let callee = REPL.openCallee(before), case let .function(f)? = resolve(callee) {
            for p in f.parameters { out.append(Completion(text: p.name + ":", suffix: " ")) }
        }
        for ns in registry.namespaces {
            out.append(Completion(text: ns, suffix: inDoc ? "" : "."))
        }
        for name in interpreter.globalNames {
            out.append(Completion(text: name, suffix: inDoc ? "" : suffix(for: interpreter.global(name))))
        }
        for name in registry.names where !name.contains(".") {
            out.append(Completion(text: name, suffix: inDoc ? "" : "("))
        }
        if !inDoc {
            for k in REPL.keywords { out.append(Completion(text: k, suffix: " ")) }
        }
        return out
    }

    /// The dotted name called by the innermost parenthesis still open at the end of `text` (`randn` in
    /// `let t = randn([3, 4], se`), if there is one.
    static func openCallee(_ text: String) -> String? {
        var opens: [(Character, String.Index)] = []
        var inString = false, escaped = false
        for i in text.indices {
            let c = text[i]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                continue
            }
            switch c {
            case "\"": inString = true
            case "(", "[", "{": opens.append((c, i))
            case ")", "]", "}": if !opens.isEmpty { opens.removeLast() }
            default: break
            }
        }
        guard !inString, let (bracket, at) = opens.last, bracket == "(" else { return nil }
        let head = text[..<at]
        let name = head.reversed().prefix { $0 == "_" || $0 == "." || $0.isLetter || $0.isNumber }
        let callee = String(name.reversed())
        return callee.isEmpty ? nil : callee
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && CharacterSet.letters.contains(first)) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) }
    }

    /// The closest known name within a small edit distance, for "did you mean".
    static func nearest(to name: String, in names: [String]) -> String? {
        let target = Array(name)
        var best: (String, Int)?
        for candidate in Set(names) {
            let d = editDistance(target, Array(candidate))
            if d <= max(1, target.count / 3), best == nil || d < best!.1 || (d == best!.1 && candidate < best!.0) {
                best = (candidate, d)
            }
        }
        return best?.0
    }

    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    // MARK: multi-line input

    /// Whether an input is unfinished: a bracket, brace or parenthesis is open, a string is open, or the last line
    /// ends with a binary operator, ',', '=', '|>' or '->' (after which the language ignores a newline).
    static func needsMore(_ text: String) -> Bool {
        var stack: [Character] = []
        var inString = false, escaped = false, inComment = false
        for c in text {
            if inComment {
                if c == "\n" { inComment = false }
                continue
            }
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                continue
            }
            switch c {
            case "#": inComment = true
            case "\"": inString = true
            case "(", "[", "{": stack.append(c)
            case ")", "]", "}":
                let open: Character = c == ")" ? "(" : c == "]" ? "[" : "{"
                if stack.last == open { stack.removeLast() } else { return false }  // unbalanced: let the parser say
            default: break
            }
        }
        if inString || !stack.isEmpty { return true }
        // The last line that has code, without its comment.
        guard let last = text.split(separator: "\n").map({ stripComment(String($0)) })
            .last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else { return false }
        let code = last.trimmingCharacters(in: .whitespaces)
        for op in ["|>", "->", "**", "//", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "..",
                   "+", "-", "*", "/", "%", "@", "<", ">", "=", ","] where code.hasSuffix(op) {
            return true
        }
        for word in ["and", "or", "not", "in", "by", "else"] where code == word || code.hasSuffix(" " + word) {
            return true
        }
        return false
    }

    private static func stripComment(_ line: String) -> String {
        var inString = false, escaped = false
        for (i, c) in zip(line.indices, line) {
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "#" {
                return String(line[..<i])
            }
        }
        return line
    }
}
