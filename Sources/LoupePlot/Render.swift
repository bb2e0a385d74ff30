import Foundation

/// The rectangle data is drawn in, in pixels (y grows downwards, as in SVG).
struct PlotArea {
    let left: Double, top: Double, right: Double, bottom: Double
    var width: Double { right - left }
    var height: Double { bottom - top }
}

/// What a chart kind draws with: the writer, the plot area and the maps from data to pixels.
struct ChartContext {
    var svg: SVGWriter
    let area: PlotArea
    let x: PixelMap
    let y: PixelMap
}

/// Type sizes and the estimate of text width used for layout. SVG text cannot be measured without a font
/// engine, so widths are estimated from character counts (0.6 em per character, 1 em for wide East Asian
/// characters and emoji), which errs on the wide side for the sans-serif fonts browsers pick.
enum Typography {
    static let family = "DejaVu Sans, Helvetica, Arial, sans-serif"
    static let tick = 11.0
    static let label = 13.0
    static let title = 15.0

    static func width(_ s: String, size: Double) -> Double {
        var em = 0.0
        for u in s.unicodeScalars { em += u.value >= 0x1100 && !(0x2000...0x206F).contains(u.value) ? 1.0 : 0.6 }
        return em * size
    }

    /// `s` cut with "…" to fit `maxWidth` pixels.
    static func fit(_ s: String, _ maxWidth: Double, size: Double) -> String {
        if width(s, size: size) <= maxWidth { return s }
        var out = ""
        for c in s {
            if width(out + String(c) + "…", size: size) > maxWidth { break }
            out.append(c)
        }
        return out + "…"
    }
}

extension Figure {
    /// The figure as a standalone SVG document (with `xmlns`, `viewBox`, a `<title>` and the caption as
    /// `<desc>`). The same figure gives the same bytes: numbers carry at most two decimals, and the one id it
    /// defines (the clip path) is derived from the content, so that several figures inlined in one HTML page do
    /// not collide.
    public func svg() -> String {
        var body = SVGWriter()
        switch kind {
        case nil: drawEmpty(&body)
        case .heatmap?: drawHeatmap(&body)
        default: drawCartesian(&body)
        }
        var head = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" font-family=\"\(Typography.family)\" font-size=\"\(SVGWriter.num(Typography.tick))\">\n"
        if let title { head += " <title>\(SVGWriter.escape(title))</title>\n" }
        if let caption { head += " <desc>\(SVGWriter.escape(caption))</desc>\n" }
        head += " <rect width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>\n"
        let content = body.text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : " " + $0 }.joined(separator: "\n")
        let document = head + content + "</svg>\n"
        let id = "loupe-clip-" + String(fnv1a(document), radix: 16)
        return document.replacingOccurrences(of: Figure.clipPlaceholder, with: id)
    }

    /// Every how many slanted (45 degree) labels one is drawn, for labels `spacing` pixels apart.
    static func slantedLabelStride(spacing: Double, font: Double) -> Int {
        max(1, Int((font * 0.85 / (spacing * 0.71)).rounded(.up)))
    }

    /// Stands in for the clip path's id until the document's hash is known.
    static let clipPlaceholder = "@CLIP@"

    private func drawTitle(_ w: inout SVGWriter) {
        guard let title else { return }
        w.element("text", [("x", SVGWriter.num(Double(width) / 2)), ("y", "24"), ("text-anchor", "middle"),
                           ("font-size", SVGWriter.num(Typography.title)), ("font-weight", "bold"), ("fill", "#222222")],
                  content: Typography.fit(title, Double(width) - 20, size: Typography.title))
    }

    private func drawEmpty(_ w: inout SVGWriter) {
        drawTitle(&w)
        w.element("text", [("x", SVGWriter.num(Double(width) / 2)), ("y", SVGWriter.num(Double(height) / 2)),
                           ("text-anchor", "middle"), ("fill", "#888888")], content: "no data")
    }

    /// The axes of a line, scatter, bar or histogram chart.
    func cartesianAxes() -> (x: Axis, y: Axis) {
        var ex = Extent(), ey = Extent()
        switch kind {
        case .bar?:
            ey = barExtent()
            if yScale == .log, !ey.isEmpty { ey.add(ey.lo / 2) }
            let n = barCategories.count
            let ticks = Figure.indexTicks(barLabels)
            let x = Axis(scale: .linear, domain: -0.5...(Double(n) - 0.5), ticks: ticks, minorTicks: [])
            let (lo, hi) = ey.bounds(or: (yScale == .log ? 1 : 0, 1))
            return (x, yTicks.map { Axis.labelled($0, lo, hi, scale: yScale) } ?? Axis.covering(lo, hi, scale: yScale))
        case .histogram?:
            (ex, ey) = histogramExtents()
        default:
            (ex, ey) = xyExtents()
        }
        let fallback = (1.0, 10.0)
        let (xlo, xhi) = ex.bounds(or: fallback), (ylo, yhi) = ey.bounds(or: fallback)
        let x = xTicks.map { Axis.labelled($0, xlo, xhi, scale: xScale) } ?? Axis.covering(xlo, xhi, scale: xScale, target: 6)
        let y = yTicks.map { Axis.labelled($0, ylo, yhi, scale: yScale) } ?? Axis.covering(ylo, yhi, scale: yScale)
        return (x, y)
    }

    /// One legend entry: its name, colour and swatch shape.
    struct LegendEntry {
        enum Swatch { case line(dash: String?), marker, box(opacity: String?) }
        let name: String
        let color: String
        let swatch: Swatch
    }

    var legendEntries: [LegendEntry] {
        xy.map { LegendEntry(name: $0.name, color: Palette.color($0.index),
                             swatch: $0.style == .line ? .line(dash: Palette.dash($0.index)) : .marker) }
            + bars.map { LegendEntry(name: $0.name, color: Palette.color($0.index), swatch: .box(opacity: nil)) }
            + histograms.map { LegendEntry(name: $0.name, color: Palette.color($0.index), swatch: .box(opacity: histogramOpacity)) }
    }

    private func drawCartesian(_ w: inout SVGWriter) {
        let (xAxis, yAxis) = cartesianAxes()
        let W = Double(width), H = Double(height)
        let tickFont = Typography.tick

        // Left: y tick labels and the rotated y label.
        let yTickWidth = yAxis.ticks.map { Typography.width($0.label, size: tickFont) }.max() ?? 0
        var left = 10 + (yLabel == nil ? 0 : 22) + yTickWidth + 8
        let top: Double = title == nil ? 16 : 40

        // Right: the legend, at most a third of the width, and room for half of the last x tick label.
        let entries = legendShown ? legendEntries : []
        let legendWidth = entries.isEmpty ? 0
            : min(W / 3, 42 + (entries.map { Typography.width($0.name, size: tickFont) }.max() ?? 0))
        let xLabels = xAxis.ticks.map { kind == .bar ? Typography.fit($0.label, 140, size: tickFont) : $0.label }
        let lastHalf = (xLabels.last.map { Typography.width($0, size: tickFont) } ?? 0) / 2
        let right = W - max(14, lastHalf + 4) - legendWidth

        // Bottom: x tick labels, rotated 45 degrees when they would overlap, then the x label.
        let widest = xLabels.map { Typography.width($0, size: tickFont) }.max() ?? 0
        let provisional = PixelMap(xAxis, from: left, to: right)
        let positions = xAxis.ticks.map { provisional($0.value) }
        let spacing = zip(positions, positions.dropFirst()).map { abs($1 - $0) }.min() ?? .infinity
        let rotate = widest + 6 > spacing
        // Slanted at 45 degrees, neighbouring labels are 0.71 x spacing apart across their baselines; below about
        // the height of a capital, keep only every k-th.
        let every = rotate ? Figure.slantedLabelStride(spacing: spacing, font: tickFont) : 1
        if rotate, let first = xLabels.first {
            left = max(left, Typography.width(first, size: tickFont) * 0.71 - (positions.first! - left) + 8)
        }
        let labelHeight = rotate ? widest * 0.71 + tickFont : tickFont + 6
        let bottom = H - (10 + 6 + labelHeight + (xLabel == nil ? 0 : 22))
        let area = PlotArea(left: left, top: top, right: max(right, left + 40), bottom: max(bottom, top + 40))
        var c = ChartContext(svg: w, area: area, x: PixelMap(xAxis, from: area.left, to: area.right),
                             y: PixelMap(yAxis, from: area.bottom, to: area.top))

        drawTitle(&c.svg)
        drawGrid(&c, xAxis, yAxis)
        // Clipping keeps anything past the axes (a log-axis error bar) out of the margins; the slack lets markers
        // that sit on the edge show whole.
        c.svg.open("defs")
        c.svg.open("clipPath", [("id", Figure.clipPlaceholder)])
        c.svg.element("rect", [("x", SVGWriter.num(area.left - 6)), ("y", SVGWriter.num(area.top - 6)),
                               ("width", SVGWriter.num(area.width + 12)), ("height", SVGWriter.num(area.height + 12))])
        c.svg.close("clipPath")
        c.svg.close("defs")
        c.svg.open("g", [("clip-path", "url(#\(Figure.clipPlaceholder))")])
        switch kind {
        case .bar?: drawBars(&c)
        case .histogram?: drawHistograms(&c)
        default: drawXY(&c)
        }
        c.svg.close("g")
        drawAxes(&c, xAxis, yAxis, labels: xLabels, rotate: rotate, every: every)
        drawLegend(&c, entries, x: area.right + 16, width: legendWidth - 16)
        w = c.svg
    }

    /// Light grid lines at the y ticks, and at the x ticks of numeric x axes.
    private func drawGrid(_ c: inout ChartContext, _ xAxis: Axis, _ yAxis: Axis) {
        var d: [String] = []
        for t in yAxis.ticks {
            let y = SVGWriter.num(c.y(t.value))
            d.append("M\(SVGWriter.num(c.area.left)) \(y) L\(SVGWriter.num(c.area.right)) \(y)")
        }
        if kind != .bar {
            for t in xAxis.ticks {
                let x = SVGWriter.num(c.x(t.value))
                d.append("M\(x) \(SVGWriter.num(c.area.top)) L\(x) \(SVGWriter.num(c.area.bottom))")
            }
        }
        if !d.isEmpty {
            c.svg.element("path", [("d", d.joined(separator: " ")), ("fill", "none"), ("stroke", "#e3e3e3"), ("stroke-width", "1")])
        }
    }

    /// Axis lines, tick marks, tick labels and axis labels.
    private func drawAxes(_ c: inout ChartContext, _ xAxis: Axis, _ yAxis: Axis, labels: [String], rotate: Bool, every: Int) {
        let a = c.area
        let n = SVGWriter.num
        var marks = ["M\(n(a.left)) \(n(a.top)) L\(n(a.left)) \(n(a.bottom)) L\(n(a.right)) \(n(a.bottom))"]
        for t in yAxis.ticks { marks.append("M\(n(a.left - 5)) \(n(c.y(t.value))) L\(n(a.left)) \(n(c.y(t.value)))") }
        for v in yAxis.minorTicks { marks.append("M\(n(a.left - 3)) \(n(c.y(v))) L\(n(a.left)) \(n(c.y(v)))") }
        for t in xAxis.ticks { marks.append("M\(n(c.x(t.value))) \(n(a.bottom)) L\(n(c.x(t.value))) \(n(a.bottom + 5))") }
        for v in xAxis.minorTicks { marks.append("M\(n(c.x(v))) \(n(a.bottom)) L\(n(c.x(v))) \(n(a.bottom + 3))") }
        c.svg.element("path", [("d", marks.joined(separator: " ")), ("fill", "none"), ("stroke", "#333333"), ("stroke-width", "1")])

        c.svg.open("g", [("fill", "#333333")])
        for t in yAxis.ticks {
            c.svg.element("text", [("x", n(a.left - 8)), ("y", n(c.y(t.value))), ("dy", "0.35em"), ("text-anchor", "end")],
                          content: t.label)
        }
        for (i, t) in xAxis.ticks.enumerated() where i % every == 0 {
            let x = c.x(t.value), y = a.bottom + 9
            if rotate {
                c.svg.element("text", [("x", n(x)), ("y", n(y)), ("dy", "0.35em"), ("text-anchor", "end"),
                                       ("transform", "rotate(-45 \(n(x)) \(n(y)))")], content: labels[i])
            } else {
                c.svg.element("text", [("x", n(x)), ("y", n(y)), ("dy", "0.8em"), ("text-anchor", "middle")], content: labels[i])
            }
        }
        c.svg.close("g")
        let H = Double(height)
        if let xLabel {
            c.svg.element("text", [("x", n((a.left + a.right) / 2)), ("y", n(H - 10)), ("text-anchor", "middle"),
                                   ("font-size", n(Typography.label)), ("fill", "#222222")],
                          content: Typography.fit(xLabel, a.width, size: Typography.label))
        }
        if let yLabel {
            let x = 10 + Typography.label * 0.8, y = (a.top + a.bottom) / 2
            c.svg.element("text", [("x", n(x)), ("y", n(y)), ("text-anchor", "middle"), ("font-size", n(Typography.label)),
                                   ("fill", "#222222"), ("transform", "rotate(-90 \(n(x)) \(n(y)))")],
                          content: Typography.fit(yLabel, a.height, size: Typography.label))
        }
    }

    /// The legend, right of the plot area: one row per series, as many as fit, then "… N more".
    private func drawLegend(_ c: inout ChartContext, _ entries: [LegendEntry], x: Double, width: Double) {
        guard !entries.isEmpty else { return }
        let n = SVGWriter.num
        let rowHeight = 18.0
        let fits = max(1, Int((c.area.height - 4) / rowHeight))
        let shown = entries.count > fits ? Array(entries.prefix(fits - 1)) : entries
        c.svg.open("g", [("font-size", n(Typography.tick))])
        for (i, e) in shown.enumerated() {
            let y = c.area.top + 8 + Double(i) * rowHeight
            switch e.swatch {
            case let .line(dash):
                var attrs = [("d", "M\(n(x)) \(n(y)) L\(n(x + 18)) \(n(y))"), ("stroke", e.color), ("stroke-width", "2.5")]
                if let dash { attrs.append(("stroke-dasharray", dash)) }
                c.svg.element("path", attrs)
            case .marker:
                c.svg.element("circle", [("cx", n(x + 9)), ("cy", n(y)), ("r", "4"), ("fill", e.color)])
            case let .box(opacity):
                // The swatch matches the bars, overlaid histograms' transparency included.
                var attrs = [("x", n(x + 3)), ("y", n(y - 6)), ("width", "12"), ("height", "12"), ("fill", e.color)]
                if let opacity { attrs.append(("fill-opacity", opacity)) }
                c.svg.element("rect", attrs)
            }
            c.svg.element("text", [("x", n(x + 24)), ("y", n(y)), ("dy", "0.35em"), ("fill", "#222222")],
                          content: Typography.fit(e.name, width - 24, size: Typography.tick))
        }
        if shown.count < entries.count {
            let y = c.area.top + 8 + Double(shown.count) * rowHeight
            c.svg.element("text", [("x", n(x + 24)), ("y", n(y)), ("dy", "0.35em"), ("fill", "#666666")],
                          content: "… \(entries.count - shown.count) more")
        }
        c.svg.close("g")
    }
}
