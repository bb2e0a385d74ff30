import Foundation
import LoupeLang

/// `loupe export FILE.nb --to md|ipynb|html`: a run's notebook in another format.
///
/// - md: the prose as written, each cell as a ```loupe block followed by its output (text in a plain fenced
///   block, tables as Markdown tables, figures inline as SVG), the front matter's title as a heading.
/// - ipynb: nbformat 4.5 (validated against its JSON schema by Tests/Fixtures/make_notebook_fixtures.py): the
///   front matter as a raw cell, prose as markdown cells, cells as code cells with stream, execute_result,
///   display_data (image/svg+xml) and error outputs; the provenance in the notebook's metadata under "loupe".
public enum Exporter {
    public enum Format: String, CaseIterable {
        case html, md, ipynb
    }

    public static func export(_ run: NotebookRun, to format: Format, interpreter: Interpreter) throws -> String {
        switch format {
        case .html: return Report.html(run, interpreter: interpreter)
        case .md: return markdown(run)
        case .ipynb: return try ipynb(run)
        }
    }

    // MARK: Markdown

    public static func markdown(_ run: NotebookRun) -> String {
        let nb = run.notebook
        var out = ""
        if let t = nb.frontMatter.title { out += "# \(t)\n\n" }
        var byIndex: [Int: CellResult] = [:]
        for r in run.results { byIndex[r.cell.index] = r }
        for (b, block) in nb.blocks.enumerated() {
            switch block {
            case let .prose(p): out += ProseInterpolation.substitute(p, block: b, values: run.prose, render: ProseInterpolation.plain)
            case let .cell(c):
                if !c.options.hide { out += "```loupe\n" + c.code + "```\n" }
                guard let r = byIndex[c.index] else { continue }
                var parts: [String] = []
                switch r.status {
                case .skipped: parts.append("*skipped: \(r.skipReason ?? "not run")*\n")
                case .failed:
                    if !r.output.isEmpty { parts.append(fence(r.output)) }
                    parts.append(fence(r.error ?? "error"))
                case .computed, .cached:
                    if !r.output.isEmpty { parts.append(fence(r.output)) }
                    if let v = r.value, r.figures.isEmpty { parts.append(markdownValue(v)) }
                    if r.value == nil, let t = r.valueText { parts.append(fence(t)) }
                    for f in r.figures {
                        parts.append("<figure>\n\(f.svg)\n" + ((f.caption ?? f.title).map { "<figcaption>\(escapeHTML($0))</figcaption>\n" } ?? "") + "</figure>\n")
                    }
                }
                if !parts.isEmpty { out += "\n" + parts.joined(separator: "\n") }
            }
        }
        return out
    }

    static func fence(_ text: String) -> String {
        var t = text
        if !t.hasSuffix("\n") { t += "\n" }
        var f = "```"
        while t.contains(f) { f += "`" }
        return f + "text\n" + t + f + "\n"
    }

    static func markdownValue(_ v: Value) -> String {
        func cell(_ x: Value) -> String {
            let s: String
            if case let .string(str) = x { s = str } else if case let .tensor(t) = x { s = "tensor \(t.shape)" } else { s = x.repr }
            return Report.clip(s, 200).replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        switch v {
        case let .record(r) where r.count > 0:
            return "| field | value |\n|---|---|\n" + zip(r.keys, r.values).map { "| \($0) | \(cell($1)) |\n" }.joined()
        case let .list(xs) where !xs.isEmpty && xs.allSatisfy({ if case .record = $0 { return true } else { return false } }):
            var keys: [String] = []
            for case let .record(r) in xs { for k in r.keys where !keys.contains(k) { keys.append(k) } }
            var s = "| " + keys.joined(separator: " | ") + " |\n|" + keys.map { _ in "---|" }.joined() + "\n"
            for case let .record(r) in xs.prefix(200) { s += "| " + keys.map { r[$0].map(cell) ?? "" }.joined(separator: " | ") + " |\n" }
            return s
        case let .tensor(t): return fence(Report.tensorSummary(t))
        default: return fence(Report.clip(v.repr, 4000))
        }
    }

    // MARK: ipynb

    /// Notebook text as nbformat's list of lines (each line keeps its "\n", the last has none).
    static func lines(_ s: String) -> [String] {
        var out = splitLinesKeepingEnds(s).map(String.init)
        if out.last == "" { out.removeLast() }
        return out
    }

    public static func ipynb(_ run: NotebookRun) throws -> String {
        let nb = run.notebook
        var cells: [[String: Any]] = []
        var byIndex: [Int: CellResult] = [:]
        for r in run.results { byIndex[r.cell.index] = r }
        if !nb.frontMatter.raw.isEmpty {
            cells.append(["cell_type": "raw", "id": "front-matter", "metadata": [String: Any](), "source": lines(nb.frontMatter.raw)])
        }
        var md = 0
        var execution = 0
        var executionCount: [Int: Int] = [:]
        for (k, i) in run.order.enumerated() { executionCount[run.results[i].cell.index] = k + 1 }
        for (b, block) in nb.blocks.enumerated() {
            switch block {
            case let .prose(p):
                let trimmed = ProseInterpolation.substitute(p, block: b, values: run.prose, render: ProseInterpolation.plain)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if trimmed.isEmpty { continue }
                md += 1
                cells.append(["cell_type": "markdown", "id": "md-\(md)", "metadata": [String: Any](), "source": lines(trimmed)])
            case let .cell(c):
                let r = byIndex[c.index]
                var outputs: [[String: Any]] = []
                var count: Any = NSNull()
                if let r, r.status == .computed || r.status == .cached || r.status == .failed {
                    execution = executionCount[c.index] ?? execution + 1
                    count = execution
                    if !r.output.isEmpty { outputs.append(["output_type": "stream", "name": "stdout", "text": lines(r.output)]) }
                    if r.status == .failed {
                        let e = r.error ?? "error"
                        let first = e.split(separator: "\n").first.map(String.init) ?? e
                        outputs.append(["output_type": "error", "ename": "LoupeError", "evalue": first,
                                        "traceback": e.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)])
                    } else {
                        if let v = r.value, r.figures.isEmpty {
                            var data: [String: Any] = ["text/plain": lines(Report.clip(v.repr, 4000))]
                            switch v {
                            case .record, .list, .tensor: data["text/html"] = lines(Report.valueHTML(v))
                            default: break
                            }
                            outputs.append(["output_type": "execute_result", "execution_count": execution, "data": data,
                                            "metadata": [String: Any]()])
                        }
                        for f in r.figures {
                            outputs.append(["output_type": "display_data",
                                            "data": ["image/svg+xml": lines(f.svg), "text/plain": [f.caption ?? f.title ?? "figure"]],
                                            "metadata": [String: Any]()])
                        }
                    }
                }
                var meta: [String: Any] = [:]
                if let r { meta["loupe"] = ["status": r.status.rawValue, "seconds": r.seconds, "cached": r.status == .cached] }
                if c.options.hide { meta["jupyter"] = ["source_hidden": true] }
                if let n = c.options.name { meta["name"] = n }
                cells.append(["cell_type": "code", "id": "cell-\(c.index)", "metadata": meta, "execution_count": count,
                              "outputs": outputs, "source": lines(Report.trimTrailingNewline(c.code))])
            }
        }
        let meta: [String: Any] = [
            "kernelspec": ["display_name": "Loupe", "language": "loupe", "name": "loupe"],
            "language_info": ["name": "loupe", "file_extension": ".loupe", "version": run.loupeVersion],
            "loupe": ["notebook_sha256": run.notebookHash, "seed": NSNumber(value: nb.frontMatter.seed),
                      "params": Dictionary(uniqueKeysWithValues: run.params.map { ($0.name, OutputWriter.paramJSON($0.value)) })],
        ]
        let doc: [String: Any] = ["cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5]
        let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
