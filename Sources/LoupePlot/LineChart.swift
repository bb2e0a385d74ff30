import Foundation

/// One series of y against x, drawn as a line (`line`) or as markers (`scatter`), with optional error bars and a
/// shaded band.
struct XYSeries {
    enum Style { case line, markers }
    let name: String
    /// Whether the caller named it (unnamed single series get no legend).
    let named: Bool
    let style: Style
    let x: [Double]
    let y: [Double]
    /// Half-lengths of vertical error bars, one per point (NaN: no bar).
    let err: [Double]?
    /// Lower and upper edges of a shaded band, one pair per point.
    let band: (lo: [Double], hi: [Double])?
    /// Position among the figure's series: picks the colour and dash.
    let index: Int
}

extension Figure {
    /// Adds a line: `y` against `x` (default 0, 1, 2, ...). `err` draws symmetric vertical error bars (half-lengths,
    /// taken by magnitude); `band` shades the region between `lo` and `hi` (a confidence interval, a min-max range).
    /// The line breaks at NaN or infinite values; a point with no finite neighbour is drawn as a dot.
    ///
    /// - Throws: `PlotError` for empty data, lengths that do not match `y`, values a log axis cannot show, or a
    ///   figure that already holds another kind of chart.
    public func line(x: [Double]? = nil, y: [Double], name: String? = nil, err: [Double]? = nil,
                     band: (lo: [Double], hi: [Double])? = nil) throws {
        try addXY(.line, x: x, y: y, name: name, err: err, band: band)
    }

    func addXY(_ style: XYSeries.Style, x: [Double]?, y: [Double], name: String?, err: [Double]?,
               band: (lo: [Double], hi: [Double])?) throws {
        try adopt(style == .line ? .line : .scatter)
        let label = seriesName(name)
        guard !y.isEmpty else { throw PlotError.emptyData(series: label) }
        let xs = x ?? y.indices.map(Double.init)
        if xs.count != y.count { throw PlotError.lengthMismatch(series: label, field: "x", expected: y.count, got: xs.count) }
        if let err, err.count != y.count {
            throw PlotError.lengthMismatch(series: label, field: "err", expected: y.count, got: err.count)
        }
        if let band {
            if band.lo.count != y.count { throw PlotError.lengthMismatch(series: label, field: "band lo", expected: y.count, got: band.lo.count) }
            if band.hi.count != y.count { throw PlotError.lengthMismatch(series: label, field: "band hi", expected: y.count, got: band.hi.count) }
        }
        try checkLog(xs, scale: xScale, axis: "x", series: label)
        try checkLog(y, scale: yScale, axis: "y", series: label)
        if let band {
            try checkLog(band.lo, scale: yScale, axis: "y", series: label + " (band lo)")
            try checkLog(band.hi, scale: yScale, axis: "y", series: label + " (band hi)")
        }
        guard zip(xs, y).contains(where: { $0.isFinite && $1.isFinite }) else { throw PlotError.noFiniteValues(series: label) }
        xy.append(XYSeries(name: label, named: name != nil, style: style, x: xs, y: y, err: err.map { $0.map(abs) },
                           band: band, index: seriesCount))
    }

    /// The data extents of the x-y series: every drawable x, and every y including error bars and bands.
    func xyExtents() -> (x: Extent, y: Extent) {
        var ex = Extent(), ey = Extent()
        for s in xy {
            for i in s.y.indices where xScale.accepts(s.x[i]) {
                if yScale.accepts(s.y[i]) {
                    ex.add(s.x[i]); ey.add(s.y[i])
                    if let e = s.err?[i], e.isFinite {
                        ey.add(s.y[i] + e)
                        if yScale.accepts(s.y[i] - e) { ey.add(s.y[i] - e) }
                    }
                }
                if let b = s.band, yScale.accepts(b.lo[i]), yScale.accepts(b.hi[i]) {
                    ex.add(s.x[i]); ey.add(b.lo[i]); ey.add(b.hi[i])
                }
            }
        }
        return (ex, ey)
    }

    /// Runs of consecutive indices where `ok` holds: the pieces a line or band is drawn in.
    static func runs(_ count: Int, _ ok: (Int) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = [], start: Int? = nil
        for i in 0..<count {
            if ok(i) { if start == nil { start = i } } else if let s = start { out.append(s..<i); start = nil }
        }
        if let s = start { out.append(s..<count) }
        return out
    }

    /// Draws the bands first (underneath), then lines, markers and error bars of every x-y series.
    func drawXY(_ c: inout ChartContext) {
        for s in xy {
            guard let band = s.band else { continue }
            let color = Palette.color(s.index)
            for run in Figure.runs(s.y.count, { xScale.accepts(s.x[$0]) && yScale.accepts(band.lo[$0]) && yScale.accepts(band.hi[$0]) }) {
                let upper = run.map { (c.x(s.x[$0]), c.y(band.hi[$0])) }
                let lower = run.reversed().map { (c.x(s.x[$0]), c.y(band.lo[$0])) }
                c.svg.element("path", [("d", SVGWriter.polyline(upper + lower) + " Z"), ("fill", color),
                                       ("fill-opacity", "0.2"), ("stroke", "none")])
            }
        }
        for s in xy {
            let color = Palette.color(s.index)
            let ok = { (i: Int) in self.xScale.accepts(s.x[i]) && self.yScale.accepts(s.y[i]) }
            switch s.style {
            case .line:
                var d: [String] = []
                for run in Figure.runs(s.y.count, ok) {
                    if run.count == 1 {
                        // A lone point between gaps would be an invisible zero-length path: a dot instead.
                        let i = run.lowerBound
                        c.svg.element("circle", [("cx", SVGWriter.num(c.x(s.x[i]))), ("cy", SVGWriter.num(c.y(s.y[i]))),
                                                 ("r", "2.5"), ("fill", color)])
                    } else {
                        d.append(SVGWriter.polyline(run.map { (c.x(s.x[$0]), c.y(s.y[$0])) }))
                    }
                }
                if !d.isEmpty {
                    var attrs = [("d", d.joined(separator: " ")), ("fill", "none"), ("stroke", color),
                                 ("stroke-width", "2"), ("stroke-linejoin", "round"), ("stroke-linecap", "round")]
                    if let dash = Palette.dash(s.index) { attrs.append(("stroke-dasharray", dash)) }
                    c.svg.element("path", attrs)
                }
            case .markers:
                drawMarkers(s, color: color, ok: ok, &c)
            }
            if let err = s.err { drawErrorBars(s, err, color: color, ok: ok, &c) }
        }
    }

    /// Vertical error bars with caps. On a log axis a lower end at or below zero is drawn to the axis bottom.
    private func drawErrorBars(_ s: XYSeries, _ err: [Double], color: String, ok: (Int) -> Bool, _ c: inout ChartContext) {
        var d: [String] = []
        for i in s.y.indices where ok(i) && err[i].isFinite && err[i] > 0 {
            let px = c.x(s.x[i])
            let top = c.y(s.y[i] + err[i])
            let low = s.y[i] - err[i]
            let bottom = yScale.accepts(low) ? c.y(low) : c.area.bottom
            let cap = 4.0
            d.append("M\(SVGWriter.num(px)) \(SVGWriter.num(top)) L\(SVGWriter.num(px)) \(SVGWriter.num(bottom))")
            d.append("M\(SVGWriter.num(px - cap)) \(SVGWriter.num(top)) L\(SVGWriter.num(px + cap)) \(SVGWriter.num(top))")
            if yScale.accepts(low) {
                d.append("M\(SVGWriter.num(px - cap)) \(SVGWriter.num(bottom)) L\(SVGWriter.num(px + cap)) \(SVGWriter.num(bottom))")
            }
        }
        if !d.isEmpty {
            c.svg.element("path", [("d", d.joined(separator: " ")), ("fill", "none"), ("stroke", color), ("stroke-width", "1.5")])
        }
    }
}
