/// Colours. Series take the Okabe–Ito palette (Okabe & Ito 2008), chosen to stay distinct under the common forms
/// of colour blindness; its yellow is left out because it vanishes on white. Heatmaps use viridis, which is
/// perceptually even and readable in greyscale and by colour-blind readers.
public enum Palette {
    /// Series colours, in the order series take them.
    public static let series = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

    /// The colour of series `i`; after the seventh the colours repeat (lines then change dash, see `dash`).
    public static func color(_ i: Int) -> String { series[i % series.count] }

    /// The dash pattern of line series `i`: solid for the first round of colours, then dashed, then dotted, so a
    /// repeated colour is still a different line. nil means solid.
    public static func dash(_ i: Int) -> String? {
        switch (i / series.count) % 3 {
        case 0: return nil
        case 1: return "6 3"
        default: return "2 2"
        }
    }

    /// Viridis at nine evenly spaced stops (matplotlib's values), interpolated linearly between them.
    static let viridis: [(Double, Double, Double)] = [
        (68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142),
        (31, 158, 137), (53, 183, 121), (109, 205, 89), (253, 231, 37),
    ]

    /// The viridis colour at `t` in 0...1 (clamped) as "#rrggbb".
    public static func viridis(_ t: Double) -> String {
        let t = t.isNaN ? 0 : min(max(t, 0), 1)
        let x = t * Double(viridis.count - 1)
        let i = min(Int(x), viridis.count - 2)
        let f = x - Double(i)
        let a = viridis[i], b = viridis[i + 1]
        func channel(_ p: Double, _ q: Double) -> String {
            let v = Int((p + (q - p) * f).rounded())
            let hex = String(v, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }
        return "#" + channel(a.0, b.0) + channel(a.1, b.1) + channel(a.2, b.2)
    }
}
