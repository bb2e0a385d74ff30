/// What can go wrong when building a figure. Every case names the series (or axis) at fault so a message can be
/// traced back to the data that caused it; `description` is the user-facing text.
public enum PlotError: Error, Equatable, CustomStringConvertible {
    /// A series with no values at all.
    case emptyData(series: String)
    /// A series whose values are all NaN or infinite (nothing could be drawn).
    case noFiniteValues(series: String)
    /// Two arrays that must line up do not (`field` has `got` values where `expected` are needed).
    case lengthMismatch(series: String, field: String, expected: Int, got: Int)
    /// A value at or below zero on a log axis (`axis` is "x" or "y").
    case nonPositiveOnLogAxis(axis: String, series: String, index: Int, value: Double)
    /// A histogram asked for fewer than one bin.
    case invalidBins(Int)
    /// A range whose lower end is not below its upper end, or is not finite.
    case invalidRange(lo: Double, hi: Double)
    /// A heatmap row whose length differs from the first row's.
    case raggedMatrix(row: Int, expected: Int, got: Int)
    /// Tick or category labels whose count does not match the data (`axis` is "x" or "y").
    case labelCountMismatch(axis: String, expected: Int, got: Int)
    /// A later bar series that names categories other than the first series'.
    case categoriesDiffer(series: String, expected: [String], got: [String])
    /// A chart kind that cannot share a figure with the one already there (line and scatter can; the others
    /// stand alone, since their axes mean different things).
    case incompatibleKinds(existing: Figure.Kind, adding: Figure.Kind)
    /// A figure size outside what can be laid out.
    case invalidSize(width: Int, height: Int)

    /// A series as messages name it: "series 2" for the unnamed, "series 'loss'" for the named.
    static func show(_ s: String) -> String {
        let unnamed = s.hasPrefix("series ") && s.dropFirst(7).allSatisfy(\.isNumber) && s.count > 7
        if s == "heatmap" { return "the heatmap" }
        return unnamed ? s : "series '\(s)'"
    }

    public var description: String {
        switch self {
        case let .emptyData(s):
            return "\(PlotError.show(s)) is empty: a plot needs at least one value"
        case let .noFiniteValues(s):
            return "\(PlotError.show(s)) has no finite values (all NaN or infinite): nothing to draw"
        case let .lengthMismatch(s, field, expected, got):
            return "\(PlotError.show(s)): \(field) has \(got) value\(got == 1 ? "" : "s") but \(expected) \(expected == 1 ? "is" : "are") needed"
        case let .nonPositiveOnLogAxis(axis, s, index, value):
            return "\(PlotError.show(s)): value \(NumberFormat.plain(value)) at index \(index) cannot be shown on a log \(axis) axis (log axes need values > 0)"
        case let .invalidBins(n):
            return "bins must be between 1 and \(Histogram.maxBins), got \(n)"
        case let .invalidRange(lo, hi):
            return "range must be finite with lo < hi, got [\(NumberFormat.plain(lo)), \(NumberFormat.plain(hi))]"
        case let .raggedMatrix(row, expected, got):
            return "heatmap rows must have equal lengths: row \(row) has \(got) values, row 0 has \(expected)"
        case let .labelCountMismatch(axis, expected, got):
            return "\(axis) labels: \(got) given for \(expected) position\(expected == 1 ? "" : "s")"
        case let .categoriesDiffer(s, expected, got):
            return "\(PlotError.show(s)): categories \(got) differ from the figure's \(expected)"
        case let .incompatibleKinds(existing, adding):
            return "cannot add a \(adding.rawValue) chart to a figure that holds a \(existing.rawValue) chart"
        case let .invalidSize(w, h):
            return "figure size must be between \(Figure.minSize.width)x\(Figure.minSize.height) and \(Figure.maxSide)x\(Figure.maxSide) pixels, got \(w)x\(h)"
        }
    }
}
