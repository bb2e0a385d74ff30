import Foundation
import XCTest
@testable import LoupeTensor

/// Wrong input must come back as a `TensorError` whose message alone tells the user what to fix: the op, the
/// shapes, the index and the dimension. Nothing here may trap (a trap would end the whole test run).
final class BadInputTests: XCTestCase {
    /// Runs `body`, expecting a TensorError; checks its message holds every fragment. Returns the error.
    @discardableResult
    private func expectError<T>(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                                _ body: () throws -> T) -> TensorError? {
        do {
            _ = try body()
            XCTFail("expected an error mentioning \(fragments)", file: file, line: line)
            return nil
        } catch let e as TensorError {
            let message = e.description
            for f in fragments where !message.contains(f) {
                XCTFail("message \"\(message)\" does not mention \"\(f)\"", file: file, line: line)
            }
            return e
        } catch {
            XCTFail("expected a TensorError, got \(error)", file: file, line: line)
            return nil
        }
    }

    private func isAllocationTooLarge(_ e: TensorError?) -> Bool {
        if case .allocationTooLarge = e { return true }
        return false
    }

    private func isInvalidArgument(_ e: TensorError?) -> Bool {
        if case .invalidArgument = e { return true }
        return false
    }

    private func t(_ shape: [Int]) throws -> Tensor { try Tensor.zeros(shape) }

    // MARK: - Shape mismatches name the op and both shapes

    func testBinaryMismatchNamesOpAndShapes() throws {
        let a = try t([2, 3]), b = try t([4])
        expectError(["add", "(2, 3)", "(4,)"]) { try a + b }
        expectError(["sub", "(2, 3)", "(4,)"]) { try a - b }
        expectError(["mul", "(2, 3)", "(4,)"]) { try a * b }
        expectError(["div", "(2, 3)", "(4,)"]) { try a / b }
        expectError(["pow", "(2, 3)", "(4,)"]) { try a.pow(b) }
        expectError(["maximum", "(2, 3)", "(4,)"]) { try a.maximum(b) }
        expectError(["minimum", "(2, 3)", "(4,)"]) { try a.minimum(b) }
        expectError(["less", "(2, 3)", "(4,)"]) { try a < b }
        expectError(["equal", "(2, 3)", "(4,)"]) { try a == b }
        expectError(["where", "(2, 3)", "(4,)"]) { try Tensor.where(a, b, a) }
        // The pair that conflicts, as written: cond (3,) and x (4,); not the broadcast of cond with y.
        XCTAssertEqual(expectError(["where"]) { try Tensor.where(t([3]), t([4]), t([2, 1])) },
                       .shapeMismatch(op: "where", lhs: [3], rhs: [4]))
        // The shapes as the user wrote them, not after padding.
        let e = expectError(["add", "(2, 1, 3)", "(2, 4)"]) { try t([2, 1, 3]) + t([2, 4]) }
        XCTAssertEqual(e, .shapeMismatch(op: "add", lhs: [2, 1, 3], rhs: [2, 4]))
        expectError(["add", "(0,)", "(2,)"]) { try t([0]) + t([2]) }
    }

    func testShapeOpMismatchesNameOpAndShapes() throws {
        let x = try t([2, 3, 4])
        expectError(["reshape", "(2, 3, 4)", "(7,)"]) { try x.reshape([7]) }
        expectError(["reshape", "(2, 3, 4)", "(5, -1)"]) { try x.reshape([5, -1]) }
        expectError(["reshape", "-1"]) { try x.reshape([-1, -1]) }
        expectError(["broadcast_to", "(3,)", "(4, 2)"]) { try t([3]).broadcast(to: [4, 2]) }
        expectError(["broadcast_to", "(3,)", "(1,)"]) { try t([3]).broadcast(to: [1]) }
        expectError(["expand", "(2, 3, 4)", "(4,)"]) { try x.expand([4]) }
        expectError(["expand", "(3, 1)", "(4, -1)"]) { try t([3, 1]).expand([4, -1]) }
        expectError(["expand", "-1", "new dimension"]) { try t([3, 1]).expand([-1, 3, 2]) }
        expectError(["concat", "(2, 3)", "(3, 2)"]) { try Tensor.concat([t([2, 3]), t([3, 2])], axis: 0) }
        expectError(["stack", "(2, 3)", "(2, 2)"]) { try Tensor.stack([t([2, 3]), t([2, 2])]) }
        expectError(["matmul", "(3, 4)", "(5, 2)"]) { try t([3, 4]).matmul(t([5, 2])) }
        expectError(["matmul", "(3,)", "(4,)"]) { try t([3]).matmul(t([4])) }
        expectError(["matmul", "(2, 3, 4)", "(3, 4, 5)"]) { try t([2, 3, 4]).matmul(t([3, 4, 5])) }
        expectError(["matmul", "()"]) { try Tensor(scalar: 1).matmul(t([3])) }
        expectError(["take_along_axis", "(3, 4)", "(2, 2)"]) {
            try t([3, 4]).takeAlongAxis(IndexTensor(shape: [2, 2], data: [0, 0, 0, 0]), axis: 1)
        }
        expectError(["split", "(3, 10)"]) { try t([3, 10]).split(sections: 3, axis: 1) }
        expectError(["split"]) { try t([3, 10]).split(sizes: [Int.max, Int.max, 2], axis: 1) }
        expectError(["split"]) { try t([3, 10]).split(sizes: [12, -2], axis: 1) }
        expectError(["tensor", "(2, 2)", "4", "3"]) { try Tensor(shape: [2, 2], data: [1, 2, 3]) }
        expectError(["index_tensor"]) { try IndexTensor(shape: [2], data: [1, 2, 3]) }
    }

    // MARK: - Out-of-range indices name the index and the dimension

    func testOutOfRangeIndicesNameIndexAndDimension() throws {
        let x = try t([4, 5, 6])
        var e = expectError(["slice", "index 4", "axis 0", "size 4"]) { try x.slice([.index(4)]) }
        XCTAssertEqual(e, .indexOutOfRange(op: "slice", index: 4, axis: 0, size: 4))
        e = expectError(["slice", "index -6", "axis 1", "size 5"]) { try x.slice([.all, .index(-6)]) }
        XCTAssertEqual(e, .indexOutOfRange(op: "slice", index: -6, axis: 1, size: 5))
        expectError(["slice", "index 6", "axis 2", "size 6"]) { try x.slice([.ellipsis, .index(6)]) }
        expectError(["slice", "index \(Int.min)"]) { try x.slice([.index(Int.min)]) }
        expectError(["slice", "4 indices", "rank 3"]) { try x.slice([.index(0), .index(0), .index(0), .index(0)]) }
        expectError(["slice", "ellipsis"]) { try x.slice([.ellipsis, .ellipsis]) }
        expectError(["slice", "step"]) { try x.slice([.range(nil, nil, 0)]) }
        expectError(["index_select", "index 5", "axis 1", "size 5"]) { try x.indexSelect(axis: 1, indices: [0, 5]) }
        expectError(["index_select", "index -7", "axis 2", "size 6"]) { try x.indexSelect(axis: -1, indices: [-7]) }
        expectError(["take_along_axis", "index 4", "axis 1", "size 4"]) {
            try t([3, 4]).takeAlongAxis(IndexTensor(shape: [3, 1], data: [0, 4, 0]), axis: 1)
        }
        expectError(["take_along_axis", "index -4", "axis 0", "size 3"]) {
            try t([3, 4]).takeAlongAxis(IndexTensor(shape: [1, 4], data: [0, 0, -4, 0]), axis: 0)
        }
        expectError(["one_hot", "index 5", "size 5"]) { try Tensor.oneHot(IndexTensor([1, 5]), classes: 5) }
        expectError(["one_hot", "index -1"]) { try Tensor.oneHot(IndexTensor([-1]), classes: 5) }
        expectError(["embedding", "index 6", "axis 0", "size 6"]) { try t([6, 3]).embedding(IndexTensor([2, 6])) }
        expectError(["embedding", "index -7"]) { try t([6, 3]).embedding(IndexTensor([-7])) }
        expectError(["value", "index 2", "axis 1", "size 2"]) { try t([3, 2]).value(at: [0, 2]) }
    }

    func testInvalidAxesNameAxisAndRank() throws {
        let x = try t([2, 3, 4])
        expectError(["sum", "axis 3", "rank 3"]) { try x.sum(axis: 3) }
        expectError(["sum", "axis -4", "rank 3"]) { try x.sum(axis: -4) }
        expectError(["sum", "axis -2 repeated"]) { try x.sum(axes: [1, -2]) }
        expectError(["mean", "axis 5"]) { try x.mean(axis: 5) }
        expectError(["var", "axis 5"]) { try x.variance(axes: [5]) }
        expectError(["max", "axis 3"]) { try x.max(axis: 3) }
        expectError(["argmax", "axis 3"]) { try x.argmax(axis: 3) }
        expectError(["logsumexp", "axis 3"]) { try x.logsumexp(axes: [3]) }
        expectError(["softmax", "axis 3", "rank 3"]) { try x.softmax(axis: 3) }
        expectError(["log_softmax", "axis -4"]) { try x.logSoftmax(axis: -4) }
        expectError(["cumsum", "axis 3"]) { try x.cumsum(axis: 3) }
        expectError(["unsqueeze", "axis 5", "rank 4"]) { try x.unsqueeze(5) }
        expectError(["permute"]) { try x.permute([0, 0, 1]) }
        expectError(["permute", "axis 3"]) { try x.permute([0, 1, 3]) }
        expectError(["transpose", "axis 3"]) { try x.transpose(0, 3) }
        expectError(["squeeze", "axis 1", "size 3"]) { try x.squeeze(axes: [1]) }
        expectError(["concat", "axis 2"]) { try Tensor.concat([t([2, 2]), t([2, 2])], axis: 2) }
        expectError(["stack", "axis 3"]) { try Tensor.stack([t([2, 2]), t([2, 2])], axis: 3) }
        expectError(["flip", "axis 3"]) { try x.flip(axis: 3) }
        expectError(["argsort", "axis 3"]) { try x.argsort(axis: 3) }
        expectError(["topk", "axis 3"]) { try x.topk(1, axis: 3) }
        expectError(["index_select", "axis 3"]) { try x.indexSelect(axis: 3, indices: [0]) }
    }

    // MARK: - Absurd sizes throw instead of crashing

    func testAbsurdAllocationsThrow() throws {
        let huge = [1 << 20, 1 << 20, 1 << 20]
        XCTAssertTrue(isAllocationTooLarge(expectError(["zeros", "refusing to allocate"]) { try Tensor.zeros(huge) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["full"]) { try Tensor.full(huge, 1) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["ones"]) { try Tensor.ones([1 << 62, 4]) }))  // overflows Int
        XCTAssertTrue(isAllocationTooLarge(expectError(["eye"]) { try Tensor.eye(1 << 20) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["arange"]) { try Tensor.arange(0, 1e30) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["arange"]) { try Tensor.arange(-3e38, 3e38, step: 1e-30) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["linspace"]) { try Tensor.linspace(0, 1, num: 1 << 40) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["one_hot"]) { try Tensor.oneHot(IndexTensor([0]), classes: 1 << 40) }))
        let row = try t([1, 1 << 20]), col = try t([1 << 20, 1])
        XCTAssertTrue(isAllocationTooLarge(expectError(["add"]) { try row + col }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["where"]) { try Tensor.where(row, col, row) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["matmul"]) { try col.matmul(row) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["matmul"]) { try Tensor.outer(row, col) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["broadcast_to"]) { try row.broadcast(to: [1 << 30, 1 << 20]) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["broadcast_to"]) { try row.expand([1 << 30, -1]) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["tensor"]) { try Tensor(shape: huge, data: []) }))
        XCTAssertTrue(isAllocationTooLarge(expectError(["index_tensor"]) { try IndexTensor(shape: huge, data: []) }))
        // A zero dimension does not excuse the others: their strides would still overflow.
        XCTAssertTrue(isAllocationTooLarge(expectError(["zeros"]) { try Tensor.zeros([0, 1 << 40, 1 << 40]) }))
        XCTAssertEqual(try Tensor.zeros([0, 1 << 10, 3]).shape, [0, 1024, 3])
    }

    func testNegativeDimensionsThrow() throws {
        XCTAssertTrue(isInvalidArgument(expectError(["zeros", "negative dimension -1", "(2, -1)"]) { try Tensor.zeros([2, -1]) }))
        XCTAssertTrue(isInvalidArgument(expectError(["full", "negative dimension"]) { try Tensor.full([-3], 1) }))
        XCTAssertTrue(isInvalidArgument(expectError(["eye", "negative dimension -1"]) { try Tensor.eye(-1) }))
        XCTAssertTrue(isInvalidArgument(expectError(["eye", "negative dimension -2"]) { try Tensor.eye(3, -2) }))
        XCTAssertTrue(isInvalidArgument(expectError(["one_hot", "classes", "-3"]) { try Tensor.oneHot(IndexTensor([0]), classes: -3) }))
        XCTAssertTrue(isInvalidArgument(expectError(["reshape", "negative dimension"]) { try t([6]).reshape([-2, -3]) }))
        XCTAssertTrue(isInvalidArgument(expectError(["reshape", "negative dimension"]) { try t([6]).reshape([-1, -3]) }))
        XCTAssertTrue(isInvalidArgument(expectError(["broadcast_to", "negative"]) { try t([1]).broadcast(to: [-2]) }))
        XCTAssertTrue(isInvalidArgument(expectError(["linspace", "-1"]) { try Tensor.linspace(0, 1, num: -1) }))
        XCTAssertTrue(isInvalidArgument(expectError(["tensor", "negative"]) { try Tensor(shape: [-1], data: []) }))
    }

    /// Sizes and steps at the ends of Int's range are legal inputs that must neither trap nor misbehave.
    func testExtremeIntegersDoNotTrap() throws {
        let y = try Tensor.arange(0, 10)
        XCTAssertEqual(try y.slice([.range(nil, nil, Int.max)]).scalars, [0])
        XCTAssertEqual(try y.slice([.range(nil, nil, Int.min)]).scalars, [9])
        XCTAssertEqual(try y.slice([.range(3, Int.max, 4)]).scalars, [3, 7])
        XCTAssertEqual(try y.slice([.range(Int.min, Int.max, nil)]).scalars, y.scalars)
        XCTAssertEqual(try y.slice([.range(Int.max, Int.min, -3)]).scalars, [9, 6, 3, 0])
        XCTAssertEqual(try y.slice([.range(Int.min, nil, -1)]).scalars, [])
        XCTAssertEqual(try Tensor.eye(2, k: Int.max).scalars, [0, 0, 0, 0])
        XCTAssertEqual(try Tensor.eye(2, k: Int.min).scalars, [0, 0, 0, 0])
        XCTAssertEqual(try Tensor.eye(2, 3, k: 2).scalars, [0, 0, 1, 0, 0, 0])
        expectError(["reshape"]) { try y.reshape([-1, 1 << 40, 1 << 40]) }
        expectError(["reshape"]) { try y.reshape([1 << 40, 1 << 40, 1 << 40]) }
        let v = try y.variance(ddof: Int.min)  // numpy: divides by N - ddof, a huge number
        XCTAssertEqual(try v.item(), 0, accuracy: 1e-6)
        XCTAssertEqual(try y.variance(ddof: Int.max).item(), .infinity)  // N - ddof < 0: divide by 0
        expectError(["topk", "k = -1"]) { try y.topk(-1) }
        expectError(["topk", "k = 11", "size 10"]) { try y.topk(11) }
        expectError(["one_hot", "classes"]) { try Tensor.oneHot(IndexTensor([0]), classes: 0) }
        expectError(["index_select", "index \(Int.max)"]) { try y.indexSelect(axis: 0, indices: [Int.max]) }
        expectError(["index_select", "index \(Int.min)"]) { try y.indexSelect(axis: 0, indices: [Int.min]) }
        expectError(["unsqueeze", "axis \(Int.min)"]) { try y.unsqueeze(Int.min) }
        expectError(["sum", "axis \(Int.min)"]) { try y.sum(axis: Int.min) }
        expectError(["split"]) { try y.split(sections: 0) }
        expectError(["split"]) { try y.split(sections: Int.min) }
    }

    // MARK: - Other arguments that make no sense

    func testBadArgumentsThrow() throws {
        let x = try Tensor([3, 1, 2])
        expectError(["arange", "step", "0"]) { try Tensor.arange(0, 1, step: 0) }
        expectError(["arange", "step", "nan"]) { try Tensor.arange(0, 1, step: .nan) }
        expectError(["arange", "finite"]) { try Tensor.arange(0, .infinity) }
        expectError(["clamp", "min 2", "max 1"]) { try x.clamp(min: 2, max: 1) }
        expectError(["split", "too many"]) { try Tensor.zeros([0, 2]).split(sections: 1 << 40, axis: 0) }
        XCTAssertEqual(try Tensor.zeros([0, 2]).split(sections: 3, axis: 0).map(\.shape), [[0, 2], [0, 2], [0, 2]])
        expectError(["max", "zero-size", "(0, 3)"]) { try t([0, 3]).max(axis: 0) }
        expectError(["min", "zero-size"]) { try t([0]).min() }
        expectError(["argmax", "empty"]) { try t([0, 3]).argmax(axis: 0) }
        expectError(["argmin", "empty"]) { try t([0]).argmin() }
        expectError(["concat", "at least one"]) { try Tensor.concat([]) }
        expectError(["concat", "0-d"]) { try Tensor.concat([Tensor(scalar: 1)]) }
        expectError(["stack", "at least one"]) { try Tensor.stack([]) }
        expectError(["transpose", "rank >= 2"]) { try Tensor(scalar: 1).transpose() }
        expectError(["embedding", "[vocab, d]"]) { try x.embedding(IndexTensor([0])) }
        expectError(["take_along_axis", "rank 1", "rank 2"]) { try t([2, 2]).takeAlongAxis(IndexTensor([0]), axis: 0) }
        expectError(["item", "(3,)", "3 elements"]) { try x.item() }
        expectError(["value", "2 entries", "rank 1"]) { try x.value(at: [0, 0]) }
        expectError(["norm", "NaN"]) { try x.norm(p: .nan) }
    }

    func testNestedListsMustBeRectangularNumbers() throws {
        XCTAssertEqual(try Tensor.from(nested: [[1, 2], [3, 4]]).shape, [2, 2])
        XCTAssertEqual(try Tensor.from(nested: [[1.5, 2], [3, 4]] as [[Double]]).scalars, [1.5, 2, 3, 4])
        XCTAssertEqual(try Tensor.from(nested: [true, false]).scalars, [1, 0])
        XCTAssertEqual(try Tensor.from(nested: [[Int]]()).shape, [0])
        XCTAssertEqual(try Tensor.from(nested: [[Int](), []]).shape, [2, 0])
        XCTAssertEqual(try Tensor.from(nested: 2.5).shape, [])
        expectError(["tensor", "ragged", "[1]", "expected 2"]) { try Tensor.from(nested: [[1, 2], [3]]) }
        expectError(["tensor", "element at [1]", "not a number"]) { try Tensor.from(nested: [1, [2]] as [Any]) }
        expectError(["tensor", "not a number", "x"]) { try Tensor.from(nested: [[1, 2], [3, "x"]] as [[Any]]) }
    }

    // MARK: - Every op's error message starts with the op's name

    func testMessagesStartWithOpName() throws {
        let checks: [(String, () throws -> Any)] = [
            ("add: ", { try Tensor([1, 2]) + Tensor([1, 2, 3]) }),
            ("matmul: ", { try Tensor([1, 2]).matmul(Tensor([1, 2, 3])) }),
            ("reshape: ", { try Tensor([1, 2]).reshape([3]) }),
            ("slice: ", { try Tensor([1, 2]).slice([.index(2)]) }),
            ("softmax: ", { try Tensor([1, 2]).softmax(axis: 1) }),
            ("zeros: ", { try Tensor.zeros([-1]) }),
        ]
        for (prefix, body) in checks {
            do {
                _ = try body()
                XCTFail("expected an error starting with \(prefix)")
            } catch let e as TensorError {
                XCTAssertTrue(e.description.hasPrefix(prefix), "\(e.description)")
            }
        }
    }
}
