import Foundation

/// Everything that can go wrong in a tensor operation because of its input.
///
/// Every case carries the operation's name and the offending values, so that the message alone tells the user
/// what to fix. Tensor code never traps on user input: it throws one of these.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// Two shapes that had to agree (or broadcast) did not.
    case shapeMismatch(op: String, lhs: [Int], rhs: [Int])
    /// An index outside `-size ..< size` of a dimension.
    case indexOutOfRange(op: String, index: Int, axis: Int, size: Int)
    /// An axis outside `-rank ..< rank`.
    case invalidAxis(op: String, axis: Int, rank: Int)
    /// A shape or argument that makes no sense for the operation (negative size, wrong rank, ...).
    case invalidArgument(op: String, message: String)
    /// A request for more memory than Loupe will allocate.
    case allocationTooLarge(op: String, elements: Int)
    /// LAPACK reported failure (`info` != 0).
    case linalgFailed(op: String, info: Int, message: String)
    /// OpenBLAS could not be opened.
    case blasUnavailable(String)
    /// Backward was asked of something that cannot provide it.
    case autograd(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, lhs, rhs):
            return "\(op): shapes \(fmt(lhs)) and \(fmt(rhs)) do not match"
        case let .indexOutOfRange(op, index, axis, size):
            return "\(op): index \(index) is out of range for axis \(axis) with size \(size)"
        case let .invalidAxis(op, axis, rank):
            return "\(op): axis \(axis) is out of range for a tensor of rank \(rank)"
        case let .invalidArgument(op, message):
            return "\(op): \(message)"
        case let .allocationTooLarge(op, elements):
            let gib = Double(elements) * 4 / Double(1 << 30)
            return "\(op): refusing to allocate \(elements) elements (\(String(format: "%.1f", gib)) GiB of float32); "
                + "this machine's limit is \(Storage.maxElements) elements"

        case let .linalgFailed(op, info, message):
            return "\(op): \(message) (LAPACK info = \(info))"
        case let .blasUnavailable(message):
            return message
        case let .autograd(message):
            return "backward: \(message)"
        }
    }
}

/// Shapes print the way numpy prints them: `(2, 3)`, `(5,)`, `()`.
func fmt(_ shape: [Int]) -> String {
    shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
}
