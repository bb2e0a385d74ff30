import Foundation
import LoupeLang
import LoupePlot
import LoupeTensor

/// A figure as a Loupe value: what `plot.*` returns. Reports collect these (`figure` is the LoupePlot figure);
/// in Loupe code it has `svg()`, `save(path)`, `preview(width, height)` and the fields `title`, `caption`, `kind`.
public final class FigureObject: HostObject {
    public let figure: Figure
    /// Where `terminalDisplay` wrote this figure's SVG, so that showing it again reuses the file.
    var savedPath: String?

    public init(_ figure: Figure) { self.figure = figure }

    public var typeName: String { "figure" }
    public var memberNames: [String] { ["caption", "kind", "preview", "save", "svg", "title"] }

    public func member(_ name: String) -> Value? {
        let figure = self.figure
        switch name {
        case "title": return figure.title.map { .string($0) } ?? .nil
        case "caption": return figure.caption.map { .string($0) } ?? .nil
        case "kind": return figure.kind.map { .string($0.rawValue) } ?? .nil
        case "svg":
            return .function(Builtin(name: "figure.svg", parameters: [], doc: "The figure as standalone SVG text.") { _ in
                .string(figure.svg())
            })
        case "preview":
            return .function(Builtin(name: "figure.preview", parameters: [Parameter("width", .int, default: .int(72)),
                                                                         Parameter("height", .int, default: .int(18))],
                                     doc: "A Unicode sketch of the figure for a terminal, width x height characters.") { a in
                guard case let .int(w) = a["width"], case let .int(h) = a["height"] else { return .nil }
                return .string(figure.terminalPreview(width: w, height: h))
            })
        case "save":
            return .function(Builtin(name: "figure.save", parameters: [Parameter("path", .string)],
                                     doc: "Writes the SVG to path (atomically: a temporary file, then a rename); returns the path.") { a in
                guard case let .string(path) = a["path"] else { return .nil }
                try FigureObject.write(figure.svg(), to: path, function: "figure.save", span: a.span)
                return .string(path)
            })
        default: return nil
        }
    }

    public var summary: String {
        let what = figure.kind.map { "\($0.rawValue), \(figure.seriesCount) series" } ?? "empty"
        return "<figure \(what)\(figure.title.map { ": " + Value.string($0).repr } ?? "")>"
    }

    /// Writes `text` to a temporary file beside `path`, then renames it over `path`, so a reader never sees half
    /// a file and a failed write leaves any previous file in place.
    public static func write(_ text: String, to path: String, function: String = "figure.save",
                             span: SourceSpan? = nil) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try Data(text.utf8).write(to: temp)
        } catch {
            throw LoupeError(.io, "\(function): cannot write \(path): \(error.localizedDescription)", at: span)
        }
        if rename(temp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temp)
            throw LoupeError(.io, "\(function): cannot write \(path): \(reason)", at: span)
        }
    }
}

extension FigureObject {
    /// Where the REPL writes the figures it shows: `$LOUPE_FIGURE_DIR` when set, else `loupe-figures` in
    /// `$TMPDIR` (or /tmp).
    public static var terminalFigureDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["LOUPE_FIGURE_DIR"], !dir.isEmpty { return dir }
        let tmp = env["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return URL(fileURLWithPath: tmp).appendingPathComponent("loupe-figures").path
    }

    /// How the REPL shows a figure: its terminal preview, then the path of its SVG, written on first display to
    /// the next free `figure-N.svg` in `terminalFigureDirectory` (numbers keep rising across sessions, so an
    /// earlier figure is never overwritten; showing the same figure again reuses its file).
    public func terminalDisplay(width: Int, height: Int = 16) -> String {
        let preview = figure.terminalPreview(width: width, height: height)
        do {
            let path = try savedPath ?? nextFigurePath()
            try FigureObject.write(figure.svg(), to: path, function: "figure")
            savedPath = path
            return preview + "\nsvg: " + path
        } catch let e as LoupeError {
            return preview + "\n(svg not written: \(e.message))"
        } catch {
            return preview + "\n(svg not written: \(error))"
        }
    }

    private func nextFigurePath() throws -> String {
        let dir = FigureObject.terminalFigureDirectory
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw LoupeError(.io, "cannot create \(dir): \(error.localizedDescription)")
        }
        let taken = Set((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
        var n = 1
        for name in taken where name.hasPrefix("figure-") && name.hasSuffix(".svg") {
            if let k = Int(name.dropFirst(7).dropLast(4)), k >= n { n = k + 1 }
        }
        return URL(fileURLWithPath: dir).appendingPathComponent("figure-\(n).svg").path
    }
}

/// The `plot` namespace: line, scatter, bar, hist and heatmap charts as figure values.
///
/// Decisions:
/// - Data comes first: a list of numbers, a range or a 1-d tensor is one series; a list of lists or a 2-d tensor
///   is one series per row; a record maps series names to lists. `nil` inside a list is a gap (NaN).
/// - Options are keywords and shared by all five where they make sense: `title`, `xlabel`, `ylabel`, `caption`,
///   `labels` (series names; `legend:` takes names too, or a bool to force the legend on or off), `log_x`,
///   `log_y`, `xticks`/`yticks` (a list of labels at 0, 1, 2, ..., of positions, or of [position, label] pairs),
///   `width`, `height` (pixels of the SVG).
/// - Line and scatter take `x:` (shared by all series), `err:` (error bar half-lengths, a list per series) and,
///   for lines, `band: [lo, hi]` (one pair per series when there are several).
/// - `plot.hist` bins all series over one common range so their bars line up, exactly as numpy.histogram bins.
enum PlotBuiltins {
    static func register(_ r: LibRegistrar) {
        r.registry.documentNamespace("plot", "Charts as SVG figures: line, scatter, bar, hist, heatmap.")
        let text = ValueType.optional(.string)
        let common: [Parameter] = [
            Parameter("title", text, default: .nil, keywordOnly: true),
            Parameter("xlabel", text, default: .nil, keywordOnly: true),
            Parameter("ylabel", text, default: .nil, keywordOnly: true),
            Parameter("caption", text, default: .nil, keywordOnly: true),
            Parameter("labels", .optional(.oneOf([.string, .list])), default: .nil, keywordOnly: true),
            Parameter("legend", .optional(.oneOf([.bool, .list])), default: .nil, keywordOnly: true),
            Parameter("xticks", .optional(.oneOf([.list, .tensor])), default: .nil, keywordOnly: true),
            Parameter("yticks", .optional(.oneOf([.list, .tensor])), default: .nil, keywordOnly: true),
            Parameter("width", .int, default: .int(640), keywordOnly: true),
            Parameter("height", .int, default: .int(400), keywordOnly: true),
        ]
        let logs = [Parameter("log_x", .bool, default: .bool(false), keywordOnly: true),
                    Parameter("log_y", .bool, default: .bool(false), keywordOnly: true)]
        let data = Parameter("data")
        let x = Parameter("x", .optional(.tensorLike), default: .nil, keywordOnly: true)
        let err = Parameter("err", .optional(.tensorLike), default: .nil, keywordOnly: true)

        add(r, "line", [data, x, err, Parameter("band", .optional(.oneOf([.list, .tensor])), default: .nil, keywordOnly: true)] + logs + common,
            doc: """
            A line chart: plot.line([3.1, 2.2, 1.7], title: "loss", xlabel: "step", log_y: true).
            Several series: a list of lists, a 2-d tensor (one row each) or a record {name: values}. x: shared x values;
            err: error bar half-lengths; band: [lo, hi] shaded around the line. NaN or nil values break the line.
            """) { a, fig in
            try addXY(a, fig, style: .line)
        }
        add(r, "scatter", [data, x, err] + logs + common,
            doc: """
            A scatter plot of y against x: plot.scatter(ys, x: xs, labels: ["model"]).
            Several series as for plot.line; err: vertical error bars. Points with a NaN coordinate are skipped.
            """) { a, fig in
            try addXY(a, fig, style: .scatter)
        }
        add(r, "bar", [data, err, logs[1]] + common,
            doc: """
            A bar chart, grouped when there are several series: plot.bar({base: [0.61, 0.72], ours: [0.68, 0.80]},
            xticks: ["mmlu", "gsm8k"]). A record of numbers gives one bar per field. err: error bar half-lengths.
            """) { a, fig in
            try addBars(a, fig)
        }
        add(r, "hist", [data, Parameter("bins", .int, default: .int(10), keywordOnly: true),
                        Parameter("range", .optional(.list), default: .nil, keywordOnly: true)] + logs + common,
            doc: """
            A histogram: plot.hist(values, bins: 20). Counts match numpy.histogram(values, bins, range); several
            series are binned over one common range and overlaid. NaN values are skipped. log_x bins in log10.
            """) { a, fig in
            try addHistograms(a, fig)
        }
        add(r, "heatmap", [data, Parameter("tokens", .optional(.list), default: .nil, keywordOnly: true),
                           Parameter("vmin", .optional(.number), default: .nil, keywordOnly: true),
                           Parameter("vmax", .optional(.number), default: .nil, keywordOnly: true)] + common,
            doc: """
            A heatmap of a matrix (row 0 at the top) with a colour bar: plot.heatmap(pattern[0], tokens: toks).
            tokens: labels for both axes (an attention map); xticks/yticks label columns and rows separately;
            vmin/vmax: the values at the ends of the colour scale.
            """) { a, fig in
            try addHeatmap(a, fig)
        }
    }

    /// Registers `plot.NAME`: builds the figure from the common options, lets `body` add the data, applies the
    /// ticks and the legend, and turns `PlotError`s into errors that name the built-in.
    static func add(_ r: LibRegistrar, _ name: String, _ parameters: [Parameter], doc: String,
                    _ body: @escaping (LibArgs, Figure) throws -> Void) {
        let hasLogX = parameters.contains { $0.name == "log_x" }, hasLogY = parameters.contains { $0.name == "log_y" }
        r.add("plot", name, parameters, doc: doc) { a in
            do {
                let width = try a.int("width"), height = try a.int("height")
                for (arg, v) in [("width", width), ("height", height)] where !(Figure.minSize.width...Figure.maxSide).contains(v) {
                    throw a.error(arg, "must be between \(arg == "width" ? Figure.minSize.width : Figure.minSize.height) and \(Figure.maxSide) pixels, got \(v)")
                }
                let fig = try Figure(title: try a.optString("title"), xLabel: try a.optString("xlabel"),
                                     yLabel: try a.optString("ylabel"),
                                     logX: hasLogX ? try a.bool("log_x") : false,
                                     logY: hasLogY ? try a.bool("log_y") : false,
                                     width: width, height: height)
                fig.caption = try a.optString("caption")
                if case let .bool(b) = a["legend"] { fig.showLegend = b }
                try body(a, fig)
                if name != "heatmap" {
                    if let t = try ticks(a, "xticks") { try fig.setXTicks(t) }
                    if let t = try ticks(a, "yticks") { try fig.setYTicks(t) }
                }
                return .object(FigureObject(fig))
            } catch let e as PlotError {
                throw a.fail(e.description)
            }
        }
    }

    // MARK: - Reading data

    /// One series: its name when the data named it (a record key), and its values.
    struct Series {
        var name: String?
        var values: [Double]
    }

    /// A number as a Double; nil in a list is a gap (NaN).
    static func number(_ v: Value) -> Double? {
        switch v {
        case let .int(i): return Double(i)
        case let .float(d): return d
        case .nil: return .nan
        default: return nil
        }
    }

    /// The values of one series: a list of numbers (nil for gaps), a range, a number or a 1-d tensor.
    static func values(_ v: Value, _ a: LibArgs, _ arg: String, at: String = "") throws -> [Double] {
        switch v {
        case let .tensor(t):
            guard t.rank <= 1 else {
                throw a.error(arg, "\(at)must be 1-d here, got a tensor of shape \(LibConvert.showShape(t.shape))", kind: .shape)
            }
            return t.scalars.map(Double.init)
        case let .range(r): return (0..<r.count).map { Double(r[$0]) }
        case let .list(xs):
            return try xs.enumerated().map { i, x in
                guard let d = number(x) else {
                    throw a.error(arg, "\(at)must hold numbers, found \(x.typeName) at index \(i)", kind: .type)
                }
                return d
            }
        case .int, .float: return [number(v)!]
        default:
            throw a.typeError(arg, "a list of numbers or a tensor", v)
        }
    }

    /// The series of a data argument: one (numbers, range, 1-d tensor), one per row (list of lists, 2-d tensor),
    /// or one per field of a record.
    static func seriesList(_ v: Value, _ a: LibArgs, _ arg: String) throws -> [Series] {
        switch v {
        case let .tensor(t) where t.rank == 2:
            let cols = t.shape[1], data = t.scalars
            return (0..<t.shape[0]).map { r in Series(values: data[(r * cols)..<((r + 1) * cols)].map(Double.init)) }
        case let .tensor(t) where t.rank > 2:
            throw a.error(arg, "must be 1-d or 2-d (one series per row), got a tensor of shape \(LibConvert.showShape(t.shape))", kind: .shape)
        case let .list(xs) where !xs.isEmpty && xs.allSatisfy({ if case .list = $0 { return true }; if case .tensor = $0 { return true }; if case .range = $0 { return true }; return false }):
            return try xs.enumerated().map { i, x in Series(values: try values(x, a, arg, at: "[\(i)] ")) }
        case let .record(r):
            return try zip(r.keys, r.values).map { k, x in Series(name: k, values: try values(x, a, arg, at: "field '\(k)' ")) }
        default:
            return [Series(values: try values(v, a, arg))]
        }
    }

    /// Series names from `labels:` or `legend:` (a string or a list of strings), checked against the count.
    static func names(_ a: LibArgs, count: Int) throws -> [String]? {
        for arg in ["labels", "legend"] {
            let v = a[arg]
            let list: [Value]
            switch v {
            case .nil, .bool: continue
            case .string: list = [v]
            case let .list(xs): list = xs
            default: throw a.typeError(arg, "a string or a list of strings", v)
            }
            let names = try list.enumerated().map { i, x -> String in
                guard case let .string(s) = x else { throw a.error(arg, "must hold strings, found \(x.typeName) at index \(i)", kind: .type) }
                return s
            }
            guard names.count == count else {
                throw a.error(arg, "has \(names.count) name\(names.count == 1 ? "" : "s") for \(count) series")
            }
            return names
        }
        return nil
    }

    /// Per-series arrays of an option (err): one list for a single series, else one list (or nil) per series.
    static func perSeries(_ a: LibArgs, _ arg: String, count: Int) throws -> [[Double]?] {
        let v = a[arg]
        if case .nil = v { return Array(repeating: nil, count: count) }
        if count == 1 { return [try values(v, a, arg)] }
        let parts: [Value]
        switch v {
        case let .list(xs): parts = xs
        case let .tensor(t) where t.rank == 2: return try seriesList(v, a, arg).map(\.values) + Array(repeating: nil, count: max(0, count - t.shape[0]))
        default: throw a.error(arg, "must hold one list per series (\(count) series)")
        }
        guard parts.count == count else { throw a.error(arg, "has \(parts.count) entries for \(count) series") }
        return try parts.enumerated().map { i, p in if case .nil = p { return nil }; return try values(p, a, arg, at: "[\(i)] ") }
    }

    /// `xticks`/`yticks`: labels at 0, 1, 2, ...; positions (labelled with their values); or [position, label] pairs.
    static func ticks(_ a: LibArgs, _ arg: String) throws -> [Axis.Tick]? {
        let v = a[arg]
        switch v {
        case .nil: return nil
        case let .tensor(t): return t.scalars.map { Axis.Tick(value: Double($0), label: Value.float(Double($0)).repr) }
        case let .list(xs):
            return try xs.enumerated().map { i, x in
                switch x {
                case let .string(s): return Axis.Tick(value: Double(i), label: s)
                case .int, .float: return Axis.Tick(value: number(x)!, label: x.repr)
                case let .list(pair) where pair.count == 2:
                    guard let pos = number(pair[0]), pos.isFinite else {
                        throw a.error(arg, "[\(i)] must be [position, label] with a number first", kind: .type)
                    }
                    let label: String
                    if case let .string(s) = pair[1] { label = s } else { label = pair[1].repr }
                    return Axis.Tick(value: pos, label: label)
                default:
                    throw a.error(arg, "must hold labels, positions or [position, label] pairs, found \(x.typeName) at index \(i)", kind: .type)
                }
            }
        default: throw a.typeError(arg, "a list", v)
        }
    }

    /// Token labels (strings, or anything printable) from a list.
    static func labelList(_ a: LibArgs, _ arg: String) throws -> [String]? {
        let v = a[arg]
        switch v {
        case .nil: return nil
        case let .list(xs): return xs.map { if case let .string(s) = $0 { return s }; return $0.repr }
        default: throw a.typeError(arg, "a list of labels", v)
        }
    }

    // MARK: - The chart kinds

    enum XYStyle { case line, scatter }

    static func addXY(_ a: LibArgs, _ fig: Figure, style: XYStyle) throws {
        let series = try seriesList(a["data"], a, "data")
        let names = try names(a, count: series.count)
        let x = a.isNil("x") ? nil : try values(a["x"], a, "x")
        let errs = try perSeries(a, "err", count: series.count)
        var bands: [(lo: [Double], hi: [Double])?] = Array(repeating: nil, count: series.count)
        if style == .line, !a.isNil("band") {
            let v = a["band"]
            let entries: [Value]
            if series.count == 1 {
                entries = [v]
            } else {
                guard case let .list(xs) = v, xs.count == series.count else {
                    throw a.error("band", "must hold one [lo, hi] pair per series (\(series.count) series)")
                }
                entries = xs
            }
            for (i, e) in entries.enumerated() {
                if case .nil = e { continue }
                let at = series.count == 1 ? "" : "[\(i)] "
                let pair = try seriesList(e, a, "band")
                guard pair.count == 2 else { throw a.error("band", "\(at)must be [lo, hi]: two lists of numbers") }
                bands[i] = (pair[0].values, pair[1].values)
            }
        }
        for (i, s) in series.enumerated() {
            let name = names?[i] ?? s.name
            switch style {
            case .line: try fig.line(x: x, y: s.values, name: name, err: errs[i], band: bands[i])
            case .scatter: try fig.scatter(x: x, y: s.values, name: name, err: errs[i])
            }
        }
    }

    static func addBars(_ a: LibArgs, _ fig: Figure) throws {
        let v = a["data"]
        var categories: [String]? = nil
        var series: [Series]
        // A record of numbers is one series with a bar per field.
        if case let .record(r) = v, r.values.allSatisfy({ if case .int = $0 { return true }; if case .float = $0 { return true }; return false }) {
            categories = r.keys
            series = [Series(values: r.values.map { number($0)! })]
        } else {
            series = try seriesList(v, a, "data")
        }
        let names = try names(a, count: series.count)
        let errs = try perSeries(a, "err", count: series.count)
        if let ticks = try ticks(a, "xticks") {
            guard ticks.count == series[0].values.count else {
                throw a.error("xticks", "has \(ticks.count) labels for \(series[0].values.count) categories")
            }
            categories = ticks.map(\.label)
        }
        for (i, s) in series.enumerated() {
            try fig.bar(categories: i == 0 ? categories : nil, values: s.values, name: names?[i] ?? s.name, err: errs[i])
        }
    }

    static func addHistograms(_ a: LibArgs, _ fig: Figure) throws {
        let v = a["data"]
        // A tensor of any rank is one sample (flattened), as numpy.histogram takes it; lists follow seriesList.
        let series: [Series]
        if case let .tensor(t) = v { series = [Series(values: t.scalars.map(Double.init))] } else { series = try seriesList(v, a, "data") }
        let names = try names(a, count: series.count)
        let bins = try a.int("bins")
        guard bins >= 1 else { throw a.error("bins", "must be at least 1, got \(bins)") }
        var range: ClosedRange<Double>? = nil
        if !a.isNil("range") {
            let r = try values(a["range"], a, "range")
            guard r.count == 2, r[0].isFinite, r[1].isFinite, r[0] < r[1] else {
                throw a.error("range", "must be [lo, hi] with lo < hi")
            }
            range = r[0]...r[1]
        } else if series.count > 1 {
            // One range for all series, so that their bins coincide.
            let scale: Scale = fig.xScale
            let all = series.flatMap(\.values).filter { scale.accepts($0) }
            if let lo = all.min(), let hi = all.max() {
                range = lo < hi ? lo...hi : (scale == .log ? (lo / 2)...(hi * 2) : (lo - 0.5)...(hi + 0.5))
            }
        }
        for (i, s) in series.enumerated() {
            try fig.histogram(s.values, bins: bins, range: range, name: names?[i] ?? s.name)
        }
    }

    static func addHeatmap(_ a: LibArgs, _ fig: Figure) throws {
        let v = a["data"]
        if case let .tensor(t) = v, t.rank > 2 {
            throw a.error("data", "must be a 2-d matrix, got a tensor of shape \(LibConvert.showShape(t.shape)) (pick one head: pattern[h])", kind: .shape)
        }
        let rows = try seriesList(v, a, "data").map(\.values)
        let tokens = try labelList(a, "tokens")
        let xt = try ticks(a, "xticks")?.map(\.label), yt = try ticks(a, "yticks")?.map(\.label)
        var range: ClosedRange<Double>? = nil
        let lo = try a.optDouble("vmin"), hi = try a.optDouble("vmax")
        if lo != nil || hi != nil {
            var e = (lo: Double.infinity, hi: -Double.infinity)
            for row in rows { for x in row where x.isFinite { e = (min(e.lo, x), max(e.hi, x)) } }
            let l = lo ?? e.lo, h = hi ?? e.hi
            guard l < h else { throw a.fail("vmin (\(Value.float(l).repr)) must be below vmax (\(Value.float(h).repr))") }
            range = l...h
        }
        try fig.heatmap(rows, rowLabels: yt ?? tokens, columnLabels: xt ?? tokens, range: range)
    }

}
