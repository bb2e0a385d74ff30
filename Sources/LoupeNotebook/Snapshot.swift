import Foundation
import LoupeLang
import LoupeTensor

/// Values in snapshots and manifests: plain JSON a reader can diff (numbers as numbers, tensors as
/// `{"shape": [...], "data": [...]}`), not the cache's exact form.
public enum SnapshotValue {
    /// Tensors with more elements than this are kept as summary statistics.
    static let maxTensorElements = 4096

    public static func json(_ v: Value) -> Any {
        switch v {
        case .nil: return NSNull()
        case let .bool(b): return b
        case let .int(i): return i
        case let .float(d): return d.isFinite ? d : ["float": "\(d)"]
        case let .string(s): return s
        case let .list(xs): return xs.map(json)
        case let .record(r):
            return ["record": r.keys.map { [$0, json(r[$0]!)] }]
        case let .range(r): return ["range": [r.start, r.end, r.step]]
        case let .tensor(t):
            if t.count <= maxTensorElements {
                return ["shape": t.shape, "data": t.scalars.map { $0.isFinite ? Double($0) as Any : "\($0)" }]
            }
            let xs = t.scalars
            let sum = xs.reduce(0.0) { $0 + Double($1) }
            let sq = xs.reduce(0.0) { $0 + Double($1) * Double($1) }
            return ["shape": t.shape, "sum": sum, "sum_squares": sq, "first": xs.prefix(16).map { Double($0) }]
        case let .error(e): return ["error": e.error.message]
        case .function, .object: return ["type": v.typeName, "repr": v.repr]
        }
    }
}

/// A notebook's snapshot: each cell's printed text and value, stored as `NAME.nb.snap.json` beside the notebook
/// (committed, so a change in outputs shows in review). `loupe test` reruns the notebook and compares: text exactly
/// except numbers, which may differ by the notebook's `tolerance` (relative or absolute).
public struct Snapshot {
    public var cells: [[String: Any]]
    /// The `-P` overrides the snapshot was made with (`loupe test --update -P quick=true`); `loupe test` reruns
    /// the notebook with them, so a long study can keep a snapshot of its quick mode.
    public var params: [(name: String, value: String)] = []

    public static func path(for notebook: String) -> String { notebook + ".snap.json" }

    public init(run: NotebookRun) {
        cells = run.results.map { r in
            var c: [String: Any] = ["cell": Snapshot.key(r.cell), "status": r.status == .cached ? "computed" : r.status.rawValue,
                                    "output": r.output]
            if let v = r.value { c["value"] = SnapshotValue.json(v) }
            if let e = r.error { c["error"] = e.split(separator: "\n").first.map(String.init) ?? e }
            return c
        }
        // Prose values are outputs too: the headline numbers a report states are checked like a cell's output.
        var seen: [String: Int] = [:]
        for v in run.prose {
            var k = "prose {{ \(v.expression.source) }}"
            seen[k, default: 0] += 1
            if let n = seen[k], n > 1 { k += " #\(n)" }
            var c: [String: Any] = ["cell": k, "status": v.error == nil ? "computed" : "failed", "output": v.text ?? ""]
            if let e = v.error { c["error"] = e.split(separator: "\n").first.map(String.init) ?? e }
            cells.append(c)
        }
    }

    init(cells: [[String: Any]], params: [(name: String, value: String)] = []) { self.cells = cells; self.params = params }

    static func key(_ cell: Cell) -> String { cell.options.name ?? "cell \(cell.index)" }

    public func data() throws -> Data {
        var o: [String: Any] = ["format": 1, "cells": cells]
        if !params.isEmpty { o["params"] = Dictionary(params.map { ($0.name, $0.value) }, uniquingKeysWith: { _, b in b }) }
        var d = try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        d.append(0x0A)
        return d
    }

    public static func load(_ path: String) throws -> Snapshot? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let cells = o["cells"] as? [[String: Any]] else {
            throw NotebookError(.snapshot, "snapshot is not valid JSON in the expected form (rewrite it with --update)", file: path)
        }
        guard let params = (o["params"] ?? [String: String]()) as? [String: String] else {
            throw NotebookError(.snapshot, "snapshot params must map names to strings (rewrite it with --update)", file: path)
        }
        return Snapshot(cells: cells, params: params.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) })
    }

    /// Differences from `expected`, one readable line each ("cell 'loss': output line 2: expected '0.5', got
    /// '0.7'"); empty when they match within `tolerance`.
    public func differences(from expected: Snapshot, tolerance: Double) -> [String] {
        var out: [String] = []
        let mine = Dictionary(cells.map { ($0["cell"] as? String ?? "?", $0) }, uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(expected.cells.map { ($0["cell"] as? String ?? "?", $0) }, uniquingKeysWith: { a, _ in a })
        for c in expected.cells {
            let k = c["cell"] as? String ?? "?"
            guard let now = mine[k] else { out.append("\(k): in the snapshot but no longer in the notebook"); continue }
            for field in ["status", "error"] {
                let a = c[field] as? String, b = now[field] as? String
                if a != b { out.append("\(k): \(field): expected \(show(a)), got \(show(b))") }
            }
            let ea = (c["output"] as? String ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            let eb = (now["output"] as? String ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            for i in 0..<max(ea.count, eb.count) {
                let a = i < ea.count ? String(ea[i]) : nil, b = i < eb.count ? String(eb[i]) : nil
                if let a, let b, Snapshot.textMatches(a, b, tolerance) { continue }
                out.append("\(k): output line \(i + 1): expected \(show(a)), got \(show(b))")
            }
            var diffs: [String] = []
            Snapshot.compare(c["value"], now["value"], path: "value", tolerance: tolerance, into: &diffs)
            out += diffs.prefix(10).map { "\(k): \($0)" }
            if diffs.count > 10 { out.append("\(k): … \(diffs.count - 10) more differences in the value") }
        }
        for c in cells where theirs[c["cell"] as? String ?? "?"] == nil {
            out.append("\(c["cell"] as? String ?? "?"): new cell, not in the snapshot")
        }
        return out
    }

    private func show(_ s: String?) -> String {
        guard let s else { return "nothing" }
        return "'" + (s.count > 120 ? String(s.prefix(120)) + "…" : s) + "'"
    }

    static func close(_ a: Double, _ b: Double, _ tol: Double) -> Bool {
        if a == b { return true }
        if a.isNaN && b.isNaN { return true }
        return abs(a - b) <= tol * max(1, max(abs(a), abs(b)))
    }

    /// Two lines match when their non-number text is equal and their numbers are close.
    static func textMatches(_ a: String, _ b: String, _ tol: Double) -> Bool {
        if a == b { return true }
        let (ta, na) = splitNumbers(a), (tb, nb) = splitNumbers(b)
        guard ta == tb, na.count == nb.count else { return false }
        return zip(na, nb).allSatisfy { close($0, $1, tol) }
    }

    /// The text with each number replaced by "#", and the numbers.
    static func splitNumbers(_ s: String) -> ([String], [Double]) {
        var text: [String] = [], nums: [Double] = []
        var cur = ""
        let cs = Array(s)
        var i = 0
        while i < cs.count {
            let c = cs[i]
            let startsNumber = c.isASCII && (c.isNumber || ((c == "-" || c == ".") && i + 1 < cs.count && cs[i + 1].isASCII && cs[i + 1].isNumber))
            // A number starts outside a word: "v2.0" and "x1" are text.
            if startsNumber, !(cur.last.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." } ?? false) {
                var j = i + 1
                while j < cs.count, cs[j].isASCII, cs[j].isNumber || cs[j] == "." || cs[j] == "e" || cs[j] == "E"
                        || ((cs[j] == "-" || cs[j] == "+") && (cs[j - 1] == "e" || cs[j - 1] == "E")) { j += 1 }
                if let d = Double(String(cs[i..<j])) {
                    text.append(cur); cur = ""
                    nums.append(d)
                    i = j
                    continue
                }
            }
            cur.append(c)
            i += 1
        }
        text.append(cur)
        return (text, nums)
    }

    static func compare(_ a: Any?, _ b: Any?, path: String, tolerance: Double, into out: inout [String]) {
        switch (a, b) {
        case (nil, nil): return
        case let (x as NSNumber, y as NSNumber):
            if !close(x.doubleValue, y.doubleValue, tolerance) { out.append("\(path): expected \(x), got \(y)") }
        case let (x as String, y as String):
            if !textMatches(x, y, tolerance) { out.append("\(path): expected '\(x)', got '\(y)'") }
        case let (x as [Any], y as [Any]):
            if x.count != y.count { out.append("\(path): expected \(x.count) items, got \(y.count)"); return }
            for i in 0..<x.count { compare(x[i], y[i], path: "\(path)[\(i)]", tolerance: tolerance, into: &out) }
        case let (x as [String: Any], y as [String: Any]):
            for k in Set(x.keys).union(y.keys).sorted() {
                compare(x[k], y[k], path: "\(path).\(k)", tolerance: tolerance, into: &out)
            }
        case (is NSNull, is NSNull): return
        default:
            out.append("\(path): expected \(a.map { "\($0)" } ?? "nothing"), got \(b.map { "\($0)" } ?? "nothing")")
        }
    }
}
