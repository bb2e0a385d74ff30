import Foundation

/// A matrix drawn as coloured cells, row 0 at the top (the way matrices and attention patterns are read:
/// queries down, keys across).
struct HeatmapData {
    let values: [[Double]]
    let rowLabels: [String]?
    let columnLabels: [String]?
    /// The values mapped to the ends of the colour scale.
    let low: Double
    let high: Double
    var rows: Int { values.count }
    var columns: Int { values.first?.count ?? 0 }
}

extension Figure {
    /// Sets the figure's heatmap: `matrix[r][c]` coloured on viridis from `range`'s lower end (dark purple) to its
    /// upper end (yellow), with a colour bar. `rowLabels` and `columnLabels` name the rows (left) and columns
    /// (below, slanted when long); for an attention pattern pass the tokens as both. NaN and infinite cells
    /// (masked positions) are drawn light grey. A matrix with more rows or columns than half the figure's
    /// smaller side has pixels is drawn averaged over square blocks (the colour range stays that of the full matrix).
    ///
    /// - Parameter range: the values at the ends of the colour scale; nil uses the smallest and largest finite value.
    /// - Throws: `PlotError` for an empty or ragged matrix, a matrix with no finite value, label counts that do not
    ///   match, a bad range, or a figure that already holds a chart.
    public func heatmap(_ matrix: [[Double]], rowLabels: [String]? = nil, columnLabels: [String]? = nil,
                        range: ClosedRange<Double>? = nil) throws {
        // A heatmap fills the whole figure: even a second heatmap cannot share it.
        if let kind { throw PlotError.incompatibleKinds(existing: kind, adding: .heatmap) }
        guard let first = matrix.first, !first.isEmpty else { throw PlotError.emptyData(series: "heatmap") }
        for (r, row) in matrix.enumerated() where row.count != first.count {
            throw PlotError.raggedMatrix(row: r, expected: first.count, got: row.count)
        }
        if let rowLabels, rowLabels.count != matrix.count {
            throw PlotError.labelCountMismatch(axis: "y", expected: matrix.count, got: rowLabels.count)
        }
        if let columnLabels, columnLabels.count != first.count {
            throw PlotError.labelCountMismatch(axis: "x", expected: first.count, got: columnLabels.count)
        }
        var e = Extent()
        for row in matrix { for v in row { e.add(v) } }
        guard !e.isEmpty else { throw PlotError.noFiniteValues(series: "heatmap") }
        if let range, !(range.lowerBound.isFinite && range.upperBound.isFinite && range.lowerBound < range.upperBound) {
            throw PlotError.invalidRange(lo: range.lowerBound, hi: range.upperBound)
        }
        try adopt(.heatmap)
        heatmap = HeatmapData(values: matrix, rowLabels: rowLabels, columnLabels: columnLabels,
                              low: range?.lowerBound ?? e.lo, high: range?.upperBound ?? e.hi)
    }

    /// The colour scale position of `v`, 0...1 (0.5 when all values are equal).
    func heatmapFraction(_ v: Double, _ h: HeatmapData) -> Double {
        h.high > h.low ? min(max((v - h.low) / (h.high - h.low), 0), 1) : 0.5
    }

    /// Labels for the rows (y) and columns (x): the caller's ticks, the labels given with the data, or indices.
    func heatmapLabels(_ h: HeatmapData) -> (rows: [String], columns: [String]) {
        let rows = yTicks.flatMap { $0.count == h.rows ? $0.map(\.label) : nil } ?? h.rowLabels ?? (0..<h.rows).map { String($0) }
        let cols = xTicks.flatMap { $0.count == h.columns ? $0.map(\.label) : nil } ?? h.columnLabels ?? (0..<h.columns).map { String($0) }
        return (rows, cols)
    }

    /// `h` averaged over `k` x `k` blocks (finite values only; a block with none stays NaN), keeping each block's
    /// first label and the colour range of the full matrix.
    static func blocks(_ h: HeatmapData, rowNames: [String], columnNames: [String], k: Int) -> (HeatmapData, [String], [String]) {
        let rows = stride(from: 0, to: h.rows, by: k).map { r0 in
            stride(from: 0, to: h.columns, by: k).map { c0 -> Double in
                var sum = 0.0, count = 0
                for r in r0..<min(r0 + k, h.rows) {
                    for c in c0..<min(c0 + k, h.columns) where h.values[r][c].isFinite { sum += h.values[r][c]; count += 1 }
                }
                return count == 0 ? .nan : sum / Double(count)
            }
        }
        let pick = { (names: [String]) in stride(from: 0, to: names.count, by: k).map { names[$0] } }
        return (HeatmapData(values: rows, rowLabels: nil, columnLabels: nil, low: h.low, high: h.high),
                pick(rowNames), pick(columnNames))
    }

    /// The most cells drawn along a side: one per two pixels of the figure's smaller side. Larger matrices are
    /// averaged in blocks, which keeps a long-context attention map to a few thousand rects instead of millions.
    var heatmapCellBudget: Int { max(16, min(width, height) / 2) }

    func drawHeatmap(_ w: inout SVGWriter) {
        guard var h = heatmap else { return }
        let n = SVGWriter.num
        let W = Double(width), H = Double(height)
        let font = Typography.tick
        var (rowNames, colNames) = heatmapLabels(h)
        let k = (max(h.rows, h.columns) + heatmapCellBudget - 1) / heatmapCellBudget
        if k > 1 { (h, rowNames, colNames) = Figure.blocks(h, rowNames: rowNames, columnNames: colNames, k: k) }
        let rowText = rowNames.map { Typography.fit($0, 120, size: font) }
        let colText = colNames.map { Typography.fit($0, 120, size: font) }
        let rowWidth = rowText.map { Typography.width($0, size: font) }.max() ?? 0
        let colWidth = colText.map { Typography.width($0, size: font) }.max() ?? 0

        // Colour bar on the right: its ticks and their labels.
        let barTicks = Ticks.linear(h.low, h.high, target: 5)
        let barValues = h.high > h.low ? barTicks.values.filter { $0 >= h.low - 1e-12 * abs(h.low) && $0 <= h.high + 1e-12 * abs(h.high) } : [h.low]
        let barLabels = h.high > h.low ? Ticks.labels(barValues, step: barTicks.step) : barValues.map(NumberFormat.plain)
        let barLabelWidth = barLabels.map { Typography.width($0, size: font) }.max() ?? 0
        let barBlock = 18 + 14 + 6 + barLabelWidth + 10

        let left = 10 + (yLabel == nil ? 0 : 22) + rowWidth + 8
        let top: Double = title == nil ? 16 : 40
        let availableW = W - left - barBlock
        // Column labels slant when they do not fit across a cell; their height then decides the bottom margin.
        let provisionalCell = availableW / Double(h.columns)
        let slant = colWidth + 4 > provisionalCell
        let labelHeight = slant ? colWidth * 0.71 + font : font + 6
        let availableH = H - top - (10 + 6 + labelHeight + (xLabel == nil ? 0 : 22))
        // Square cells when the shape allows (an attention map is square); at least one pixel each.
        let cell = max(min(availableW / Double(h.columns), max(availableH, 20) / Double(h.rows)), 1)
        let area = PlotArea(left: left, top: top, right: left + cell * Double(h.columns), bottom: top + cell * Double(h.rows))

        if let title {
            w.element("text", [("x", n(W / 2)), ("y", "24"), ("text-anchor", "middle"), ("font-size", n(Typography.title)),
                               ("font-weight", "bold"), ("fill", "#222222")], content: Typography.fit(title, W - 20, size: Typography.title))
        }
        // Cells: grouped by colour, so a large map repeats each colour once and stays small.
        var groups: [String: [String]] = [:], order: [String] = []
        for (r, row) in h.values.enumerated() {
            for (col, v) in row.enumerated() {
                let color = v.isFinite ? Palette.viridis(heatmapFraction(v, h)) : "#d9d9d9"
                let rect = "<rect x=\"\(n(area.left + Double(col) * cell))\" y=\"\(n(area.top + Double(r) * cell))\" width=\"\(n(cell))\" height=\"\(n(cell))\"/>"
                if groups[color] == nil { order.append(color) }
                groups[color, default: []].append(rect)
            }
        }
        // Adjacent rects drawn without anti-aliased seams between them.
        w.open("g", [("shape-rendering", "crispEdges")])
        for color in order {
            w.open("g", [("fill", color)])
            for rect in groups[color]! { w.raw(rect) }
            w.close("g")
        }
        w.close("g")
        w.element("rect", [("x", n(area.left)), ("y", n(area.top)), ("width", n(area.width)), ("height", n(area.height)),
                           ("fill", "none"), ("stroke", "#333333"), ("stroke-width", "1")])

        // Labels: every k-th when cells are smaller than a line of text (slanted ones may sit closer).
        let every = max(1, Int((font * 1.2 / cell).rounded(.up)))
        let everyColumn = slant ? Figure.slantedLabelStride(spacing: cell, font: font) : every
        w.open("g", [("fill", "#333333")])
        for (r, name) in rowText.enumerated() where r % every == 0 {
            w.element("text", [("x", n(area.left - 6)), ("y", n(area.top + (Double(r) + 0.5) * cell)), ("dy", "0.35em"),
                               ("text-anchor", "end")], content: name)
        }
        for (col, name) in colText.enumerated() where col % everyColumn == 0 {
            let x = area.left + (Double(col) + 0.5) * cell, y = area.bottom + 6
            if slant {
                w.element("text", [("x", n(x)), ("y", n(y)), ("dy", "0.35em"), ("text-anchor", "end"),
                                   ("transform", "rotate(-45 \(n(x)) \(n(y)))")], content: name)
            } else {
                w.element("text", [("x", n(x)), ("y", n(y)), ("dy", "0.8em"), ("text-anchor", "middle")], content: name)
            }
        }
        w.close("g")

        // The colour bar: 64 bands from low (bottom) to high (top), with ticks at nice values.
        let bx = area.right + 18, bw = 14.0
        let bTop = area.top, bBottom = max(area.bottom, area.top + 60)
        let steps = 64
        let bandH = (bBottom - bTop) / Double(steps)
        w.open("g", [("shape-rendering", "crispEdges")])
        for i in 0..<steps {
            let t = (Double(i) + 0.5) / Double(steps)
            w.element("rect", [("x", n(bx)), ("y", n(bBottom - Double(i + 1) * bandH)), ("width", n(bw)),
                               ("height", n(bandH + 0.5)), ("fill", Palette.viridis(t))])
        }
        w.close("g")
        w.element("rect", [("x", n(bx)), ("y", n(bTop)), ("width", n(bw)), ("height", n(bBottom - bTop)), ("fill", "none"),
                           ("stroke", "#333333"), ("stroke-width", "1")])
        w.open("g", [("fill", "#333333")])
        for (v, label) in zip(barValues, barLabels) {
            let f = heatmapFraction(v, h)
            let y = bBottom - f * (bBottom - bTop)
            w.element("path", [("d", "M\(n(bx + bw)) \(n(y)) L\(n(bx + bw + 4)) \(n(y))"), ("stroke", "#333333")])
            w.element("text", [("x", n(bx + bw + 6)), ("y", n(y)), ("dy", "0.35em")], content: label)
        }
        w.close("g")

        if let xLabel {
            w.element("text", [("x", n((area.left + area.right) / 2)), ("y", n(H - 10)), ("text-anchor", "middle"),
                               ("font-size", n(Typography.label)), ("fill", "#222222")], content: xLabel)
        }
        if let yLabel {
            let x = 10 + Typography.label * 0.8, y = (area.top + area.bottom) / 2
            w.element("text", [("x", n(x)), ("y", n(y)), ("text-anchor", "middle"), ("font-size", n(Typography.label)),
                               ("fill", "#222222"), ("transform", "rotate(-90 \(n(x)) \(n(y)))")], content: yLabel)
        }
    }
}
