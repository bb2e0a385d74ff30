import Foundation

/// A grid of braille dots: each character cell holds 2 x 4 dots, so a 60 x 15 character canvas has 120 x 60
/// dots, enough to show the shape of a curve in a terminal.
struct BrailleCanvas {
    let columns: Int, rows: Int
    private var bits: [UInt8]
    var dotWidth: Int { columns * 2 }
    var dotHeight: Int { rows * 4 }

    init(columns: Int, rows: Int) {
        self.columns = columns; self.rows = rows
        bits = [UInt8](repeating: 0, count: columns * rows)
    }

    /// The bit of each dot within its cell, by [row][column] inside the cell (Unicode's braille numbering).
    private static let dotBits: [[UInt8]] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]

    /// Sets dot (x, y), with y = 0 at the top; dots outside the canvas are ignored.
    mutating func set(_ x: Int, _ y: Int) {
        guard x >= 0, y >= 0, x < dotWidth, y < dotHeight else { return }
        bits[(y / 4) * columns + x / 2] |= BrailleCanvas.dotBits[y % 4][x % 2]
    }

    /// A straight line of dots (Bresenham).
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var e = dx + dy
        while true {
            set(x, y)
            if x == x1 && y == y1 { break }
            let e2 = 2 * e
            if e2 >= dy { e += dy; x += sx }
            if e2 <= dx { e += dx; y += sy }
        }
    }

    /// Row `r` as text (U+2800 is the empty braille cell, so blank areas keep their width).
    func row(_ r: Int) -> String {
        String(String.UnicodeScalarView(bits[(r * columns)..<((r + 1) * columns)].map { Unicode.Scalar(0x2800 + UInt32($0))! }))
    }
}

extension Figure {
    /// A compact Unicode sketch of the figure for a terminal, about `width` columns by `height` lines: the title,
    /// then braille dots for line and scatter charts, horizontal bars (▏▎▍▌▋▊▉█) for bar charts, columns
    /// (▁▂▃▄▅▆▇█) for histograms and shades (░▒▓█) for heatmaps, with the ranges of the axes.
    public func terminalPreview(width: Int = 72, height: Int = 18) -> String {
        let width = max(width, 24), height = max(height, 6)
        var header = title ?? (kind.map { "\($0.rawValue) chart" } ?? "empty figure")
        var notes: [String] = []
        if xScale == .log { notes.append("log x") }
        if yScale == .log { notes.append("log y") }
        if !notes.isEmpty { header += " (" + notes.joined(separator: ", ") + ")" }
        var lines = [Figure.clip(header, width)]
        switch kind {
        case nil: lines.append("(no data)")
        case .bar?: lines += previewBars(width: width, height: height - 1)
        case .histogram?: lines += previewHistograms(width: width, height: height - 1)
        case .heatmap?: lines += previewHeatmap(width: width, height: height - 1)
        default: lines += previewXY(width: width, height: height - 1)
        }
        return lines.joined(separator: "\n")
    }

    /// `s` cut to `n` characters with "…".
    static func clip(_ s: String, _ n: Int) -> String {
        s.count <= n ? s : String(s.prefix(max(n - 1, 0))) + "…"
    }

    static func pad(_ s: String, _ n: Int, right: Bool = false) -> String {
        let s = clip(s, n)
        let fill = String(repeating: " ", count: max(0, n - s.count))
        return right ? fill + s : s + fill
    }

    /// The line under a chart: the x range at its ends, the x label centred between them when there is room.
    private func xRangeLine(indent: Int, columns: Int, lo: String, hi: String) -> String {
        var middle = columns - lo.count - hi.count
        var label = ""
        if let xLabel, middle >= xLabel.count + 2 {
            let before = (middle - xLabel.count) / 2
            label = String(repeating: " ", count: before) + xLabel
            middle -= label.count
        }
        return String(repeating: " ", count: indent) + lo + label + String(repeating: " ", count: max(1, middle)) + hi
    }

    private var legendLine: String? {
        guard legendShown, seriesCount > 1 else { return nil }
        return "series: " + seriesNames.enumerated().map { "\($0.offset + 1) \($0.element)" }.joined(separator: ", ")
    }

    private func previewXY(width: Int, height: Int) -> [String] {
        let (xAxis, yAxis) = cartesianAxes()
        let top = yLabelText(yAxis.domain.upperBound, yAxis), bottom = yLabelText(yAxis.domain.lowerBound, yAxis)
        let labelWidth = max(top.count, bottom.count)
        let legend = legendLine
        let rows = max(2, height - 2 - (legend == nil ? 0 : 1))
        let cols = max(4, width - labelWidth - 2)
        var canvas = BrailleCanvas(columns: cols, rows: rows)
        let px = PixelMap(xAxis, from: 0, to: Double(canvas.dotWidth - 1))
        let py = PixelMap(yAxis, from: Double(canvas.dotHeight - 1), to: 0)
        for s in xy {
            let ok = { (i: Int) in self.xScale.accepts(s.x[i]) && self.yScale.accepts(s.y[i]) }
            let dot = { (i: Int) in (Int(px(s.x[i]).rounded()), Int(py(s.y[i]).rounded())) }
            for run in Figure.runs(s.y.count, ok) {
                var previous: (Int, Int)? = nil
                for i in run {
                    let p = dot(i)
                    if s.style == .line, let q = previous { canvas.line(q.0, q.1, p.0, p.1) } else { canvas.set(p.0, p.1) }
                    previous = p
                }
            }
        }
        var out: [String] = []
        for r in 0..<rows {
            let label = r == 0 ? top : (r == rows - 1 ? bottom : "")
            let axis = (r == 0 || r == rows - 1) ? "┤" : "│"
            out.append(Figure.pad(label, labelWidth, right: true) + " " + axis + canvas.row(r))
        }
        out.append(String(repeating: " ", count: labelWidth + 1) + "└" + String(repeating: "─", count: cols))
        out.append(xRangeLine(indent: labelWidth + 2, columns: cols, lo: axisText(xAxis.domain.lowerBound, xAxis),
                              hi: axisText(xAxis.domain.upperBound, xAxis)))
        if let legend { out.append(Figure.clip(legend, width)) }
        return out
    }

    /// An axis end as text: the tick label when a tick sits there, else the value.
    private func axisText(_ v: Double, _ axis: Axis) -> String {
        axis.ticks.first { $0.value == v }?.label ?? NumberFormat.plain(v)
    }

    private func yLabelText(_ v: Double, _ axis: Axis) -> String { axisText(v, axis) }

    /// `fraction` (0...1) of `columns` cells as a bar in eighths of a cell.
    static func bar(_ fraction: Double, columns: Int) -> String {
        let eighths = Int((min(max(fraction, 0), 1) * Double(columns) * 8).rounded())
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        return String(repeating: "█", count: eighths / 8) + partial[eighths % 8]
    }

    private func previewBars(width: Int, height: Int) -> [String] {
        let names = barLabels
        let multi = bars.count > 1
        let catWidth = min(12, names.map(\.count).max() ?? 1)
        let seriesWidth = multi ? min(8, bars.map(\.name.count).max() ?? 1) + 1 : 0
        let values = bars.flatMap(\.values).filter { yScale.accepts($0) }
        let texts = values.map(NumberFormat.plain)
        let valueWidth = texts.map(\.count).max() ?? 1
        let columns = max(4, width - catWidth - seriesWidth - valueWidth - 3)
        // Bars measure from zero (linear) or from the smallest value's decade (log), against the largest magnitude.
        let logBase = yScale == .log ? floor(log10(values.min() ?? 1)) : 0
        let extent = values.map { yScale == .log ? log10($0) - logBase + 1 : abs($0) }.max() ?? 1
        var out: [String] = []
        var total = 0
        for (c, name) in names.enumerated() {
            for (k, s) in bars.enumerated() {
                total += 1
                guard out.count < height - 1 else { continue }
                let v = s.values[c]
                let label = k == 0 ? Figure.pad(name, catWidth) : String(repeating: " ", count: catWidth)
                let series = multi ? Figure.pad(s.name, seriesWidth - 1) + " " : ""
                let magnitude = yScale == .log ? (v > 0 ? log10(v) - logBase + 1 : 0) : abs(v)
                let body = yScale.accepts(v) ? Figure.bar(extent > 0 ? magnitude / extent : 0, columns: columns) : "(nan)"
                let sign = v < 0 ? "-" : ""
                out.append(label + " " + series + "│" + sign + body + " " + NumberFormat.plain(v))
            }
        }
        if total > out.count { out.append("… \(total - out.count) more bars") }
        return out
    }

    private func previewHistograms(width: Int, height: Int) -> [String] {
        var out: [String] = []
        let panels = min(histograms.count, max(1, height / 4))
        let panelHeight = max(2, (height - (panels > 1 ? panels : 0)) / panels - 2)
        for s in histograms.prefix(panels) {
            let h = s.histogram
            if histograms.count > 1 { out.append(Figure.clip(s.name, width)) }
            let maxCount = h.counts.max() ?? 0
            let top = String(maxCount)
            let labelWidth = top.count
            let cols = max(4, width - labelWidth - 2)
            // Neighbouring bins merge when there are more bins than columns; each bin gets at least one column.
            let per = max(1, Int((Double(h.counts.count) / Double(cols)).rounded(.up)))
            var merged: [Int] = []
            stride(from: 0, to: h.counts.count, by: per).forEach { merged.append(h.counts[$0..<min($0 + per, h.counts.count)].reduce(0, +)) }
            let cellWidth = max(1, cols / merged.count)
            let peak = max(merged.max() ?? 1, 1)
            let levels = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
            for r in 0..<panelHeight {
                let rowFromBottom = panelHeight - 1 - r
                var line = ""
                for n in merged {
                    let eighths = Int((Double(n) / Double(peak) * Double(panelHeight * 8)).rounded())
                    let here = eighths - rowFromBottom * 8
                    let ch = here >= 8 ? "█" : (here > 0 ? levels[here - 1] : " ")
                    line += String(repeating: ch, count: cellWidth)
                }
                let label = r == 0 ? String(peak) : (r == panelHeight - 1 ? "0" : "")
                out.append(Figure.pad(label, labelWidth, right: true) + " " + (r == 0 || r == panelHeight - 1 ? "┤" : "│") + line)
            }
            let used = cellWidth * merged.count
            out.append(String(repeating: " ", count: labelWidth + 1) + "└" + String(repeating: "─", count: used))
            out.append(xRangeLine(indent: labelWidth + 2, columns: max(used, 8), lo: NumberFormat.plain(h.edges.first!),
                                  hi: NumberFormat.plain(h.edges.last!)))
        }
        if histograms.count > panels { out.append("… \(histograms.count - panels) more histograms") }
        return out
    }

    private func previewHeatmap(width: Int, height: Int) -> [String] {
        guard let h = heatmap else { return [] }
        let (rowNames, colNames) = heatmapLabels(h)
        let labelWidth = min(10, rowNames.map(\.count).max() ?? 1)
        let availableCols = max(4, width - labelWidth - 2)
        let availableRows = max(2, height - 3)
        // Blocks of cells are averaged (over their finite values) when the matrix is larger than the terminal.
        let colStep = max(1, Int((Double(h.columns) / Double(availableCols)).rounded(.up)))
        let rowStep = max(1, Int((Double(h.rows) / Double(availableRows)).rounded(.up)))
        let cellWidth = (h.columns + colStep - 1) / colStep * 2 <= availableCols ? 2 : 1
        let shades: [Character] = [" ", "░", "▒", "▓", "█"]
        var out: [String] = []
        for r0 in stride(from: 0, to: h.rows, by: rowStep) {
            var line = ""
            for c0 in stride(from: 0, to: h.columns, by: colStep) {
                var sum = 0.0, n = 0
                for r in r0..<min(r0 + rowStep, h.rows) { for c in c0..<min(c0 + colStep, h.columns) where h.values[r][c].isFinite {
                    sum += h.values[r][c]; n += 1
                } }
                let ch: Character = n == 0 ? "·" : shades[min(4, Int(heatmapFraction(sum / Double(n), h) * 5))]
                line += String(repeating: ch, count: cellWidth)
            }
            let name = rowStep == 1 ? rowNames[r0] : "\(r0)"
            out.append(Figure.pad(name, labelWidth, right: true) + " │" + line)
        }
        let first = colNames.first ?? "", last = colNames.last ?? ""
        out.append(String(repeating: " ", count: labelWidth + 2) + Figure.clip("\(first) … \(last)", availableCols)
                   + (colStep > 1 || rowStep > 1 ? "  (\(rowStep)x\(colStep) cells per character)" : ""))
        out.append("scale: \(NumberFormat.plain(h.low)) \u{2591}\u{2592}\u{2593}\u{2588} \(NumberFormat.plain(h.high))")
        return out
    }
}
