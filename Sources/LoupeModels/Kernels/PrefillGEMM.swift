import Foundation

// Prefill products Y = X Wᵀ for weights stored in block formats (X: [tokens, cols] float32, W: [rows, cols]
// quantized or half precision, Y: [tokens, rows]).
//
// This replaced sgemm on float32 panels of dequantized W. OpenBLAS copied every panel we had just dequantized into its
// own packed layout (7% of a Gemma-3 128-token prefill), zeroed Y before accumulating into it (2%), packed X again
// for every panel (2%), and the fixed split of rows between the cores left one waiting for the other (4%). Here:
// - W rows are dequantized `chunkRows` at a time into a per-thread buffer (it stays in L2) and the micro-kernel
//   reads them as they are, row-major: it broadcasts one weight at a time, so W needs no second layout.
// - X is packed once per product (per `superTokens` tokens) into blocks of 16 tokens, k-major (the 16 tokens' values
//   of one k are adjacent), shared by the cores.
// - The micro-kernel computes a 16-token x 6-row tile: per k, two vector loads of X, six broadcasts of W and
//   twelve FMAs into twelve accumulators held in registers (~99 GFLOP/s per core with its operands in L1/L2, the
//   FMA units' peak on these cores).
// - Tiles go to a small per-thread buffer with a short row stride, and from there to Y in runs of `chunkRows`
//   floats. Storing tiles straight into Y cost 20%: Y's row stride is rows x 4 bytes (4 KiB for 1024 rows), so a
//   tile's 16 rows of stores all landed in one L1 set.
// - The threads claim chunks from the pool (each its own span, then the other's from the back), so they finish
//   together whatever the other work on the machine.
// Activations stay float32 and W's values are exactly `BlockDecode`'s: the result differs from exact math only by
// float32 rounding, like sgemm's (each output is one FMA chain per k-block, summed over k-blocks).

/// The blocked product behind `WeightMatrix.matmul` for every format but F32 (which goes to sgemm as it is).
enum PrefillGEMM {
    /// W rows per tile (the broadcast side).
    static let tileRows = 6
    /// Tokens per tile (two AVX2 vectors); an 8-token tile covers the rest.
    static let tileTokens = 16
    /// W rows per chunk: what a thread dequantizes at once and claims from the pool (8 tiles).
    static let chunkRows = 48
    /// Widest k-block: a super-block's packed X for one k-block (256 tokens x 768 floats at most) stays in L2.
    static let maxKBlock = 768
    /// Tokens packed at a time. Longer prompts are done in super-blocks (W dequantized again for each), so the
    /// packed copy of X stays small beside the activations it copies.
    static let superTokens = 256

    @inline(__always)
    static func roundUp(_ n: Int, _ m: Int) -> Int { (n + m - 1) / m * m }

    /// Y = X Wᵀ: `x` is [tokens, cols] row-major, `y` receives [tokens, rows]. `superTokens` is a parameter so that
    /// tests reach the super-block loop with small inputs.
    static func multiply(_ w: WeightMatrix, x: UnsafePointer<Float>, tokens: Int, y: UnsafeMutablePointer<Float>,
                         superTokens: Int = superTokens) {
        let K = w.cols, R = w.rows
        precondition(superTokens > 0 && superTokens % tileTokens == 0, "super-blocks are whole 16-token tiles")
        let kBlocks = (K + maxKBlock - 1) / maxKBlock
        let kc0 = roundUp((K + kBlocks - 1) / kBlocks, 4)  // k-block width; the last may be narrower
        let tsMax = Swift.min(roundUp(tokens, 8), superTokens)
        let chunks = (R + chunkRows - 1) / chunkRows
        let parallel = R * K >= 1 << 16
        PrefillScratch.shared.withBuffers(perThread: chunkRows * K + tsMax * chunkRows, shared: tsMax * K) {
            threadBuffer, packed in
            var s0 = 0
            while s0 < tokens {
                let ts = Swift.min(superTokens, tokens - s0), tsPad = roundUp(ts, 8)
                let xs = x + s0 * K, ys = y + s0 * R
                // Pack X: one pool chunk per k-block and 16-token block.
                let tokenBlocks = (tsPad + tileTokens - 1) / tileTokens
                KernelPool.shared.run(count: kBlocks * tokenBlocks, chunk: 1, parallel: parallel) { range in
                    for b in range {
                        let k0 = (b / tokenBlocks) * kc0, t0 = (b % tokenBlocks) * tileTokens
                        let kc = Swift.min(kc0, K - k0)
                        pack(xs, cols: K, tokens: ts, k0: k0, kc: kc, t0: t0, tw: Swift.min(tileTokens, tsPad - t0),
                             into: packed + k0 * tsPad + t0 * kc)
                    }
                }
                KernelPool.shared.run(count: chunks, chunk: 1, parallel: parallel) { range, thread in
                    let wc = threadBuffer(thread), yb = wc + chunkRows * K
                    for c in range {
                        chunk(w, c, packed: packed, tokens: ts, paddedTokens: tsPad, kc0: kc0, wc: wc, yb: yb, y: ys)
                    }
                }
                s0 += ts
            }
        }
    }

    /// Writes tokens t0 ..< t0 + tw of X's columns k0 ..< k0 + kc in k-major order (`out[j * tw + t]`), zeros for
    /// the padding tokens past `tokens`. Goes 16 columns at a time, so the 16 cache lines being written stay in L1
    /// while every token fills its float in each (one token at a time over all kc columns wrote each line 16
    /// times, from L2).
    static func pack(_ x: UnsafePointer<Float>, cols: Int, tokens: Int, k0: Int, kc: Int, t0: Int, tw: Int,
                     into out: UnsafeMutablePointer<Float>) {
        let real = Swift.max(0, Swift.min(tw, tokens - t0))
        var j0 = 0
        while j0 < kc {
            let j1 = Swift.min(kc, j0 + 16)
            for t in 0..<real {
                let src = x + (t0 + t) * cols + k0
                for j in j0..<j1 { out[j * tw + t] = src[j] }
            }
            for t in real..<tw { for j in j0..<j1 { out[j * tw + t] = 0 } }
            j0 = j1
        }
    }

    /// Rows c * chunkRows ..< (c + 1) * chunkRows of Y for the super-block's tokens: dequantize the rows into `wc`,
    /// tile them into `yb` (row stride `chunkRows`), copy `yb` into Y.
    static func chunk(_ w: WeightMatrix, _ c: Int, packed: UnsafePointer<Float>, tokens: Int, paddedTokens tsPad: Int,
                      kc0: Int, wc: UnsafeMutablePointer<Float>, yb: UnsafeMutablePointer<Float>,
                      y: UnsafeMutablePointer<Float>) {
        let K = w.cols, R = w.rows
        let r0 = c * chunkRows, n = Swift.min(chunkRows, R - r0), nPad = roundUp(n, tileRows)
        for r in 0..<n { w.row(r0 + r, into: wc + r * K) }
        if nPad > n { (wc + n * K).update(repeating: 0, count: (nPad - n) * K) }  // the last chunk's odd rows
        var k0 = 0
        while k0 < K {
            let kc = Swift.min(kc0, K - k0), region = packed + k0 * tsPad
            // Six rows of W (in L1) against every token block of X (streamed from L2).
            for g in stride(from: 0, to: nPad, by: tileRows) {
                let wg = wc + g * K + k0
                var t0 = 0
                while t0 + tileTokens <= tsPad {
                    tile16(region + t0 * kc, wg, K, kc, yb + t0 * chunkRows + g, chunkRows, accumulate: k0 > 0)
                    t0 += tileTokens
                }
                if t0 < tsPad { tile8(region + t0 * kc, wg, K, kc, yb + t0 * chunkRows + g, chunkRows, accumulate: k0 > 0) }
            }
            k0 += kc
        }
        // Whole tiles' rows to Y (a loop of vector moves: `update(from:)` is a memmove call per 48 floats).
        for t in 0..<tokens {
            let src = yb + t * chunkRows, dst = y + t * R + r0
            var i = 0
            while i + 8 <= n { storeFloats(loadX(src, i), dst, i); i += 8 }
            while i < n { dst[i] = src[i]; i += 1 }
        }
    }

    // MARK: - Micro-kernels

    /// Y[t, i] (+)= Σ_j xp[j * 16 + t] · w[i * ldw + j] for 16 tokens t and 6 rows i, j < kc.
    @inline(__always)
    static func tile16(_ xp: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ ldw: Int, _ kc: Int,
                       _ y: UnsafeMutablePointer<Float>, _ ldy: Int, accumulate: Bool) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        let w0 = w, w1 = w + ldw, w2 = w + 2 * ldw, w3 = w + 3 * ldw, w4 = w + 4 * ldw, w5 = w + 5 * ldw
        // One k: two loads of X (16 tokens), six broadcasts of W (vbroadcastss), twelve vfmadd231ps. Twelve
        // accumulators cover the FMA latency (4 cycles x 2 pipes) with room to spare; 15 of 16 ymm registers.
        @inline(__always) func step(_ x: UnsafePointer<Float>, _ j: Int) {
            let x0 = loadX(x, 0), x1 = loadX(x, 8)
            var b = SIMD8<Float>(repeating: w0[j]); c00.addProduct(x0, b); c01.addProduct(x1, b)
            b = SIMD8<Float>(repeating: w1[j]); c10.addProduct(x0, b); c11.addProduct(x1, b)
            b = SIMD8<Float>(repeating: w2[j]); c20.addProduct(x0, b); c21.addProduct(x1, b)
            b = SIMD8<Float>(repeating: w3[j]); c30.addProduct(x0, b); c31.addProduct(x1, b)
            b = SIMD8<Float>(repeating: w4[j]); c40.addProduct(x0, b); c41.addProduct(x1, b)
            b = SIMD8<Float>(repeating: w5[j]); c50.addProduct(x0, b); c51.addProduct(x1, b)
        }
        var x = xp, j = 0
        while j + 4 <= kc {  // unrolled by four k: the loop's own instructions stay off the critical front end
            step(x, j); step(x + 16, j + 1); step(x + 32, j + 2); step(x + 48, j + 3)
            x += 64
            j += 4
        }
        while j < kc { step(x, j); x += 16; j += 1 }
        store(c00, y, ldy, accumulate); store(c01, y + 8 * ldy, ldy, accumulate)
        store(c10, y + 1, ldy, accumulate); store(c11, y + 8 * ldy + 1, ldy, accumulate)
        store(c20, y + 2, ldy, accumulate); store(c21, y + 8 * ldy + 2, ldy, accumulate)
        store(c30, y + 3, ldy, accumulate); store(c31, y + 8 * ldy + 3, ldy, accumulate)
        store(c40, y + 4, ldy, accumulate); store(c41, y + 8 * ldy + 4, ldy, accumulate)
        store(c50, y + 5, ldy, accumulate); store(c51, y + 8 * ldy + 5, ldy, accumulate)
    }

    /// `tile16` for the last 8 tokens of a block count that is not a multiple of 16 (`xp[j * 8 + t]`).
    @inline(__always)
    static func tile8(_ xp: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ ldw: Int, _ kc: Int,
                      _ y: UnsafeMutablePointer<Float>, _ ldy: Int, accumulate: Bool) {
        var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>()
        var c3 = SIMD8<Float>(), c4 = SIMD8<Float>(), c5 = SIMD8<Float>()
        let w0 = w, w1 = w + ldw, w2 = w + 2 * ldw, w3 = w + 3 * ldw, w4 = w + 4 * ldw, w5 = w + 5 * ldw
        var x = xp
        for j in 0..<kc {
            let x0 = loadX(x, 0)
            c0.addProduct(x0, SIMD8(repeating: w0[j])); c1.addProduct(x0, SIMD8(repeating: w1[j]))
            c2.addProduct(x0, SIMD8(repeating: w2[j])); c3.addProduct(x0, SIMD8(repeating: w3[j]))
            c4.addProduct(x0, SIMD8(repeating: w4[j])); c5.addProduct(x0, SIMD8(repeating: w5[j]))
            x += 8
        }
        store(c0, y, ldy, accumulate); store(c1, y + 1, ldy, accumulate); store(c2, y + 2, ldy, accumulate)
        store(c3, y + 3, ldy, accumulate); store(c4, y + 4, ldy, accumulate); store(c5, y + 5, ldy, accumulate)
    }

    /// y[t * ldy] (+)= v[t] for the 8 tokens of one accumulator (one row of W: a column of the tile).
    @inline(__always)
    static func store(_ v: SIMD8<Float>, _ y: UnsafeMutablePointer<Float>, _ ldy: Int, _ accumulate: Bool) {
        if accumulate {
            for t in 0..<8 { y[t * ldy] += v[t] }
        } else {
            for t in 0..<8 { y[t * ldy] = v[t] }
        }
    }
}

/// The scratch of `PrefillGEMM`: one buffer per pool thread (dequantized W rows and the tile buffer) and one shared
/// (packed X), kept between calls (a prefill makes seven products per layer, and batched passes often follow each
/// other) and handed back to the kernel by `release()` before a decode step that follows a batched pass.
final class PrefillScratch: @unchecked Sendable {
    static let shared = PrefillScratch()

    private let lock = NSLock()
    private var threadBuffers: [PageBuffer] = []
    private var sharedBuffer: PageBuffer?

    /// Runs `body` with each pool thread's buffer (at least `perThread` floats; by thread index) and the shared one
    /// (at least `shared` floats). Callers from other threads wait their turn, so thread indices never collide.
    func withBuffers(perThread: Int, shared: Int,
                     _ body: ((Int) -> UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        let threads = KernelPool.shared.workers + 1
        if threadBuffers.count < threads || threadBuffers[0].capacity < perThread {
            threadBuffers = (0..<threads).map { _ in PageBuffer(count: perThread) }
        }
        if sharedBuffer == nil || sharedBuffer!.capacity < shared { sharedBuffer = PageBuffer(count: shared) }
        let buffers = threadBuffers.map(\.pointer)
        body({ buffers[$0] }, sharedBuffer!.pointer)
    }

    /// Returns the buffers' pages to the kernel (decode never uses them; a later batched pass faults them back in).
    func release() {
        lock.lock()
        defer { lock.unlock() }
        for b in threadBuffers { b.release(from: 0) }
        sharedBuffer?.release(from: 0)
    }
}
