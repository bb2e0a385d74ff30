import Foundation

/// numpy-style printing: nested brackets, at most `edge` values at each end of a long dimension.
enum TensorFormatter {
    static func format(_ t: Tensor, edge: Int = 3, threshold: Int = 1000) -> String {
        let summarize = t.count > threshold
        let values = t.scalars
        let strides = t.strides
        func number(_ x: Float) -> String {
            if x.isNaN { return "nan" }
            if x.isInfinite { return x < 0 ? "-inf" : "inf" }
            if x == x.rounded(), Swift.abs(x) < 1e7 { return String(format: "%.0f.", x) }
            // The shortest decimal that reads back as the same float32, as numpy prints (1000000.5, 0.12345679):
            // a fixed 4 significant digits would print different values identically.
            return "\(x)"
        }
        func walk(_ d: Int, _ offset: Int) -> String {
            if d == t.rank { return number(values[offset]) }
            let n = t.shape[d]
            var items: [String] = []
            let indices: [Int?] = summarize && n > 2 * edge ? Array(0..<edge) + [nil] + Array((n - edge)..<n) : Array(0..<n)
            for i in indices {
                items.append(i.map { walk(d + 1, offset + $0 * strides[d]) } ?? "...")
            }
            let sep = d == t.rank - 1 ? ", " : ",\n" + String(repeating: " ", count: d + 1 + 7)
            return "[" + items.joined(separator: sep) + "]"
        }
        return "tensor(" + walk(0, 0) + ", shape=\(fmt(t.shape)))"
    }
}
