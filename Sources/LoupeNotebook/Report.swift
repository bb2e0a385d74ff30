import Foundation
import Ink
import LoupeLang
import LoupeTensor

/// The self-contained HTML report of a run: inline CSS and SVG, nothing fetched. Prose is rendered from Markdown
/// (Ink), code is highlighted, each cell shows what it printed, its value (records and lists of records as tables,
/// tensors summarised), its figures with captions, its error with the caret, or why it was skipped; the end holds
/// the provenance (notebook hash, seed, params, Loupe version, model file hashes, time per cell, cached or not).
public enum Report {
    public static func html(_ run: NotebookRun, interpreter: Interpreter) -> String {
        let nb = run.notebook
        let parser = MarkdownParser()
        let title = nb.frontMatter.title ?? nb.name
        var body = ""
        var resultByIndex: [Int: CellResult] = [:]
        for r in run.results { resultByIndex[r.cell.index] = r }
        for (b, block) in nb.blocks.enumerated() {
            switch block {
            case let .prose(text):
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { body += "<section class=\"prose\">\n" + proseHTML(text, block: b, run: run, parser: parser) + "\n</section>\n" }
            case let .cell(cell):
                body += cellHTML(cell, resultByIndex[cell.index], interpreter: interpreter)
            }
        }
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="loupe \(escapeHTML(run.loupeVersion))">
        <title>\(escapeHTML(title))</title>
        <style>\(css)</style>
        </head>
        <body>
        <main>
        <header><h1 class="title">\(escapeHTML(title))</h1>\(summaryLine(run))</header>
        \(body)
        \(provenance(run))
        </main>
        </body>
        </html>

        """
    }

    /// A prose block as HTML with its `{{ expr }}` values in place. Markdown goes through Ink with a plain-word
    /// placeholder for each value, which is then replaced by the escaped value (or the error, marked), so a value
    /// is never read as Markdown or HTML.
    static func proseHTML(_ text: String, block: Int, run: NotebookRun, parser: MarkdownParser) -> String {
        var marks: [(String, ProseValue)] = []
        let nonce = String(run.notebookHash.prefix(8))
        let marked = ProseInterpolation.substitute(text, block: block, values: run.prose) { v in
            let m = "LOUPEVALUE\(nonce)X\(marks.count)X"
            marks.append((m, v))
            return m
        }
        var html = parser.html(from: marked)
        for (m, v) in marks {
            let shown = v.text.map { "<span class=\"value\">\(escapeHTML($0))</span>" }
                ?? "<span class=\"value-error\" title=\"\(escapeHTML(v.error ?? ""))\">\(escapeHTML(ProseInterpolation.plain(v)))</span>"
            html = html.replacingOccurrences(of: m, with: shown)
        }
        return html
    }

    static func summaryLine(_ run: NotebookRun) -> String {
        var counts: [CellStatus: Int] = [:]
        for r in run.results { counts[r.status, default: 0] += 1 }
        let parts = [CellStatus.computed, .cached, .failed, .skipped].compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }
        return "<p class=\"summary\">\(run.results.count) cells: \(parts.joined(separator: ", ")) · \(String(format: "%.2f", run.seconds)) s</p>"
    }

    static func cellHTML(_ cell: Cell, _ r: CellResult?, interpreter: Interpreter) -> String {
        let status = r?.status ?? .skipped
        let anchor = "cell-\(cell.index)"
        var h = "<section class=\"cell \(status.rawValue)\" id=\"\(anchor)\">\n"
        var badge = status.rawValue
        if let r, status == .computed || status == .cached { badge += String(format: " · %.3f s", r.seconds) }
        let label = cell.options.name.map { "<span class=\"name\">\(escapeHTML($0))</span> " } ?? ""
        h += "<div class=\"meta\">\(label)<a href=\"#\(anchor)\">[\(cell.index)]</a> line \(cell.line) <span class=\"badge \(status.rawValue)\">\(badge)</span></div>\n"
        if !cell.options.hide {
            h += "<pre class=\"code\"><code>" + Highlighter.html(trimTrailingNewline(cell.code), interpreter: interpreter) + "</code></pre>\n"
        }
        guard let r else { return h + "</section>\n" }
        if let note = r.cacheNote { h += "<p class=\"note\">\(escapeHTML(note))</p>\n" }
        switch r.status {
        case .skipped:
            h += "<p class=\"skipped\">skipped: \(escapeHTML(r.skipReason ?? "not run"))</p>\n"
        case .failed:
            if !r.output.isEmpty { h += "<pre class=\"output\">\(escapeHTML(r.output))</pre>\n" }
            h += "<pre class=\"error\">\(escapeHTML(r.error ?? "error"))</pre>\n"
        case .computed, .cached:
            if !r.output.isEmpty { h += "<pre class=\"output\">\(escapeHTML(trimTrailingNewline(r.output)))</pre>\n" }
            if let v = r.value, !isFigure(v, r) {
                h += "<div class=\"value\">" + valueHTML(v) + "</div>\n"
            } else if r.value == nil, let t = r.valueText {
                h += "<div class=\"value\"><pre class=\"repr\">" + escapeHTML(t) + "</pre></div>\n"
            }
            for (k, f) in r.figures.enumerated() {
                h += "<figure id=\"\(anchor)-fig-\(k + 1)\">\n" + f.svg + "\n"
                if let c = f.caption ?? f.title { h += "<figcaption>\(escapeHTML(c))</figcaption>\n" }
                h += "</figure>\n"
            }
        }
        return h + "</section>\n"
    }

    /// A figure value is shown as the figure, not as its summary.
    static func isFigure(_ v: Value, _ r: CellResult) -> Bool {
        if case .object = v { return !r.figures.isEmpty }
        if case let .list(xs) = v, !xs.isEmpty, xs.allSatisfy({ if case .object = $0 { return true } else { return false } }) {
            return !r.figures.isEmpty
        }
        return false
    }

    static func trimTrailingNewline(_ s: String) -> String {
        var s = s
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }

    // MARK: Values

    /// A value as HTML: a table for a record or a list of records, a summary for a tensor, its repr otherwise.
    public static func valueHTML(_ v: Value) -> String {
        switch v {
        case let .record(r) where r.count > 0:
            var h = "<table class=\"record\"><tbody>"
            for (k, x) in zip(r.keys, r.values) {
                h += "<tr><th>\(escapeHTML(k))</th><td>\(cellText(x))</td></tr>"
            }
            return h + "</tbody></table>"
        case let .list(xs) where !xs.isEmpty && xs.allSatisfy({ if case .record = $0 { return true } else { return false } }):
            var keys: [String] = []
            for case let .record(r) in xs { for k in r.keys where !keys.contains(k) { keys.append(k) } }
            var h = "<table class=\"rows\"><thead><tr>" + keys.map { "<th>\(escapeHTML($0))</th>" }.joined() + "</tr></thead><tbody>"
            for case let .record(r) in xs.prefix(200) {
                h += "<tr>" + keys.map { "<td>\(r[$0].map(cellText) ?? "")</td>" }.joined() + "</tr>"
            }
            h += "</tbody></table>"
            if xs.count > 200 { h += "<p class=\"note\">… \(xs.count - 200) more rows</p>" }
            return h
        case let .tensor(t):
            return "<pre class=\"tensor\">" + escapeHTML(tensorSummary(t)) + "</pre>"
        default:
            return "<pre class=\"repr\">" + escapeHTML(clip(v.repr, 4000)) + "</pre>"
        }
    }

    static func cellText(_ v: Value) -> String {
        switch v {
        case let .string(s): return escapeHTML(clip(s, 300))
        case let .tensor(t): return escapeHTML("tensor \(t.shape)")
        default: return escapeHTML(clip(v.repr, 300))
        }
    }

    static func clip(_ s: String, _ n: Int) -> String { s.count <= n ? s : String(s.prefix(n)) + " …" }

    /// `tensor [3, 4] float32 · min -1.2 · max 2.3 · mean 0.01`, then the values (clipped).
    public static func tensorSummary(_ t: Tensor) -> String {
        var line = "tensor \(t.shape) float32"
        if t.count > 0 {
            let xs = t.scalars
            var lo = Float.infinity, hi = -Float.infinity, sum = 0.0, nans = 0
            for x in xs { if x.isNaN { nans += 1; continue }; lo = min(lo, x); hi = max(hi, x); sum += Double(x) }
            let finite = xs.count - nans
            if finite > 0 {
                line += " · min \(fmt(Double(lo))) · max \(fmt(Double(hi))) · mean \(fmt(sum / Double(finite)))"
            }
            if nans > 0 { line += " · \(nans) nan" }
        }
        return line + "\n" + clip(t.description, 1200)
    }

    static func fmt(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return String(format: "%.5g", d)
    }

    // MARK: Provenance

    static func provenance(_ run: NotebookRun) -> String {
        let nb = run.notebook
        var h = "<section class=\"provenance\"><h2>Provenance</h2><table><tbody>"
        func row(_ k: String, _ v: String) { h += "<tr><th>\(escapeHTML(k))</th><td>\(v)</td></tr>" }
        row("notebook", "<code>\(escapeHTML((nb.path as NSString).lastPathComponent))</code> sha256 <code>\(run.notebookHash.prefix(16))</code>")
        row("seed", "<code>\(nb.frontMatter.seed)</code>")
        row("params", run.params.isEmpty ? "none" : run.params.map { "<code>\(escapeHTML($0.name))=\(escapeHTML($0.value.description))</code>" }.joined(separator: " "))
        row("loupe", "<code>\(escapeHTML(run.loupeVersion))</code>")
        row("run", "\(UTCStamp.iso8601(run.started)), \(String(format: "%.3f", run.seconds)) s")
        var models: [String: String] = [:]
        for r in run.results { for (p, s) in r.modelFiles { models[p] = s } }
        row("model files", models.isEmpty ? "none" : models.sorted { $0.key < $1.key }.map {
            "<code>\(escapeHTML(($0.key as NSString).lastPathComponent))</code> sha256 <code>\($0.value.prefix(16))</code>"
        }.joined(separator: "<br>"))
        h += "</tbody></table><h3>Cells</h3><table class=\"cells\"><thead><tr><th>#</th><th>cell</th><th>line</th><th>status</th><th>seconds</th><th>cache</th></tr></thead><tbody>"
        for r in run.results {
            let cache: String
            switch r.status {
            case .cached: cache = "served from cache"
            case .computed: cache = r.notCachedBecause.map { "not stored: " + $0 } ?? "stored"
            default: cache = ""
            }
            h += "<tr class=\"\(r.status.rawValue)\"><td><a href=\"#cell-\(r.cell.index)\">\(r.cell.index)</a></td><td>\(escapeHTML(r.cell.options.name ?? ""))</td><td>\(r.cell.line)</td><td>\(r.status.rawValue)</td><td>\(String(format: "%.3f", r.seconds))</td><td>\(escapeHTML(clip(cache, 200)))</td></tr>"
        }
        return h + "</tbody></table></section>"
    }

    static let css = """
    body{margin:0;background:#fdfdfc;color:#1d1d1f;font:16px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
    main{max-width:52rem;margin:0 auto;padding:2rem 1.25rem 4rem}
    h1.title{margin-bottom:.2rem}.summary{color:#666;margin-top:0;font-size:.9rem}
    pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-x:auto;margin:.4rem 0;padding:.6rem .8rem;border-radius:6px}
    pre.code{background:#f4f5f7;border:1px solid #e3e5e8}
    pre.output,pre.repr,pre.tensor{background:#fff;border:1px solid #eee;max-height:24rem;overflow:auto}
    pre.error{background:#fff4f4;border:1px solid #f1b8b8;color:#8b1a1a}
    .cell{margin:1.4rem 0}.meta{font-size:.78rem;color:#888}.meta a{color:#888;text-decoration:none}.name{font-weight:600;color:#555}
    .badge{border-radius:3px;padding:0 .35rem;margin-left:.3rem}.badge.computed{background:#e6f4ea;color:#1e6b34}
    .badge.cached{background:#e8f0fe;color:#1a4fa0}.badge.failed{background:#fde7e7;color:#a11}.badge.skipped{background:#f1f1f1;color:#777}
    .skipped{color:#777;font-style:italic}.note{color:#8a6d00;font-size:.85rem}
    .k{color:#a626a4;font-weight:600}.n{color:#986801}.s{color:#50a14f}.c{color:#a0a1a7;font-style:italic}.o{color:#555}.f{color:#4078f2}
    table{border-collapse:collapse;font-size:.9rem;margin:.4rem 0}th,td{border:1px solid #e3e5e8;padding:.2rem .55rem;text-align:left;vertical-align:top}
    thead th,table.record th{background:#f7f7f8}
    figure{margin:1rem 0;text-align:center}figure svg{max-width:100%;height:auto}figcaption{font-size:.9rem;color:#555;margin-top:.3rem}
    .provenance{margin-top:3rem;border-top:1px solid #ddd;font-size:.88rem}.provenance tr.failed td{color:#a11}
    .value{font-variant-numeric:tabular-nums;border-bottom:1px dotted #9ab}.value-error{color:#a11;background:#fde7e7;border-radius:3px;padding:0 .2rem}
    """
}
