import Foundation
import XCTest
@testable import LoupeTensor

/// OpenBLAS is opened at run time with a core type chosen from the CPU flags; these tests check that the choice
/// was made (never the slow "Prescott" kernels on an AVX2 machine) and that GEMM under that choice is correct.
final class BLASTests: XCTestCase {
    private func cpuFlags() -> Set<String> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: ":")[1].split(separator: " ").map(String.init))
    }

    func testCoreTypeIsNotPrescottOnAVX2() throws {
        try BLAS.ensureLoaded()
        let flags = cpuFlags()
        let core = BLAS.coreName
        XCTAssertFalse(core.isEmpty)
        if flags.contains("avx2") && flags.contains("fma") {
            XCTAssertNotEqual(core.lowercased(), "prescott", "OpenBLAS runs its SSE3 kernels on an AVX2 CPU")
        }
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map({ $0 != BLAS.coreTypeChosen }) ?? false {
            return  // the user (or the launcher) chose; nothing more to check
        }
        let avx512 = ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains)
        if avx512 { XCTAssertEqual(BLAS.coreTypeChosen, "SKYLAKEX") } else if flags.contains("avx2") {
            XCTAssertEqual(BLAS.coreTypeChosen, "HASWELL")
        }
    }

    /// Reference product in Double, straight from the definition.
    private func naive(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for p in 0..<k { let x = Double(a[i * k + p]); for j in 0..<n { c[i * n + j] += x * Double(b[p * n + j]) } } }
        return c
    }

    private func values(_ n: Int, seed: Int) -> [Float] {
        // A cheap deterministic sequence in [-1, 1): the test must not depend on the RNG under test elsewhere.
        var s = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<n).map { _ in
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return Float(s >> 40) / Float(1 << 23) - 1
        }
    }

    func testSgemmMatchesDefinitionOnOddShapes() throws {
        // Odd sizes exercise every edge path of the blocked kernels.
        for (m, k, n) in [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 1, 64), (129, 67, 131), (200, 300, 100)] {
            let a = values(m * k, seed: m), b = values(k * n, seed: n)
            let c = try Tensor(shape: [m, k], data: a).matmul(Tensor(shape: [k, n], data: b))
            let ref = naive(a, b, m: m, k: k, n: n)
            for (x, y) in zip(c.scalars, ref) {
                XCTAssertEqual(Double(x), y, accuracy: 1e-4 * Double(k).squareRoot() + 1e-5, "sgemm \(m)x\(k)x\(n)")
            }
        }
    }

    func testLargeSgemmAgainstDefinition() throws {
        // n = 1024 is where the multithreaded, fully blocked path runs; compare a sample of rows in full.
        let n = 1024
        let a = values(n * n, seed: 1), b = values(n * n, seed: 2)
        let c = try Tensor(shape: [n, n], data: a).matmul(Tensor(shape: [n, n], data: b)).scalars
        for i in [0, 1, 511, 1000, 1023] {
            for j in stride(from: 0, to: n, by: 37) {
                var s = 0.0
                for p in 0..<n { s += Double(a[i * n + p]) * Double(b[p * n + j]) }
                XCTAssertEqual(Double(c[i * n + j]), s, accuracy: 2e-3, "c[\(i), \(j)]")
            }
        }
    }

    func testTransposedOperandsAndBatches() throws {
        // The backward pass uses sgemm's transpose flags; check them against explicit transposes.
        let a = try Tensor(shape: [2, 3, 4, 5], data: values(120, seed: 3))
        let b = try Tensor(shape: [3, 6, 5], data: values(90, seed: 4))
        let viaFlags = try Tensor.batchedMatmul(a, false, b, true, op: "test")
        let viaCopy = try a.matmul(b.transpose())
        XCTAssertEqual(viaFlags.shape, [2, 3, 4, 6])
        for (x, y) in zip(viaFlags.scalars, viaCopy.scalars) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        let at = try a.transpose()
        let viaFlagsA = try Tensor.batchedMatmul(at, true, b, true, op: "test")
        for (x, y) in zip(viaFlagsA.scalars, viaCopy.scalars) { XCTAssertEqual(x, y, accuracy: 1e-5) }
    }

    func testMatmulShapeErrorNamesBothShapes() throws {
        let a = try Tensor.zeros([2, 3]), b = try Tensor.zeros([4, 5])
        XCTAssertThrowsError(try a.matmul(b)) { error in
            XCTAssertEqual("\(error)", "matmul: shapes (2, 3) and (4, 5) do not match")
        }
    }
}
