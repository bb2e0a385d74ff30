import Foundation

/// A problem with the inputs of a metric or of an `ML` routine. Every case names the argument at fault (as the
/// language binding calls it: `scores`, `labels`, `conf`, ...) so that the binding can report
/// "metrics.auroc: argument 'labels' must hold only 0 and 1, found 2 at index 3".
public enum MetricsError: Error, Equatable, CustomStringConvertible {
    /// An input that must not be empty is.
    case empty(argument: String)
    /// Two inputs that must pair up element by element have different lengths.
    case lengthMismatch(argument: String, count: Int, other: String, otherCount: Int)
    /// A binary label that is neither 0 nor 1.
    case notBinary(argument: String, index: Int, value: Double)
    /// Only one class present where the metric needs both (AUROC, average precision, stratified folds).
    case singleClass(argument: String, detail: String)
    /// A value outside its domain (a NaN score, a confidence above 1, a negative probability, ...).
    case invalidValue(argument: String, index: Int?, message: String)
    /// A scalar parameter outside its range (`bins: 0`, `k > n`, ...).
    case invalidParameter(argument: String, message: String)

    /// The argument the problem is about.
    public var argument: String {
        switch self {
        case let .empty(a), let .lengthMismatch(a, _, _, _), let .notBinary(a, _, _), let .singleClass(a, _),
             let .invalidValue(a, _, _), let .invalidParameter(a, _):
            return a
        }
    }

    /// The problem, phrased to follow "argument 'NAME' ".
    public var problem: String {
        switch self {
        case .empty: return "must not be empty"
        case let .lengthMismatch(_, n, other, m):
            return "has \(n) elements but '\(other)' has \(m); they must pair up"
        case let .notBinary(_, i, v): return "must hold only 0 and 1, found \(MetricsError.show(v)) at index \(i)"
        case let .singleClass(_, detail): return detail
        case let .invalidValue(_, i, message): return i.map { "\(message) (at index \($0))" } ?? message
        case let .invalidParameter(_, message): return message
        }
    }

    public var description: String { "argument '\(argument)' \(problem)" }

    /// 1.0 as "1", 0.25 as "0.25".
    static func show(_ v: Double) -> String {
        v == v.rounded() && Swift.abs(v) < 1e15 ? String(Int(v)) : String(v)
    }
}

/// Input checks shared by the metrics (each throws a `MetricsError` naming the argument).
enum Check {
    static func nonEmpty<T>(_ xs: [T], _ name: String) throws {
        if xs.isEmpty { throw MetricsError.empty(argument: name) }
    }

    static func sameCount<T, U>(_ a: [T], _ aName: String, _ b: [U], _ bName: String) throws {
        if a.count != b.count {
            throw MetricsError.lengthMismatch(argument: bName, count: b.count, other: aName, otherCount: a.count)
        }
    }

    /// Labels as Bools (1 = true); anything but exactly 0 or 1 is an error.
    static func binary(_ ys: [Double], _ name: String) throws -> [Bool] {
        var out: [Bool] = []
        out.reserveCapacity(ys.count)
        for (i, y) in ys.enumerated() {
            if y == 1 { out.append(true) } else if y == 0 { out.append(false) } else {
                throw MetricsError.notBinary(argument: name, index: i, value: y)
            }
        }
        return out
    }

    static func finite(_ xs: [Double], _ name: String) throws {
        for (i, x) in xs.enumerated() where !x.isFinite {
            throw MetricsError.invalidValue(argument: name, index: i, message: "must hold finite numbers, found \(x)")
        }
    }

    /// Values in [0, 1] (confidences, probabilities).
    static func unit(_ xs: [Double], _ name: String) throws {
        for (i, x) in xs.enumerated() where !(x >= 0 && x <= 1) {
            throw MetricsError.invalidValue(argument: name, index: i, message: "must hold numbers in [0, 1], found \(x)")
        }
    }
}
