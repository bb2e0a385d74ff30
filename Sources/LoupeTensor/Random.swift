// Seeded random numbers: the Philox4x64-10 counter-based generator, named independent streams, scalar draws and
// the random tensor constructors (rand, randn, uniform, randint), permutations and categorical sampling.
//
// Why a counter-based generator: block i of a Philox stream is a pure function of (key, counter + i), so a tensor
// fill can hand disjoint blocks to different cores and still produce exactly the values that one thread drawing
// them in order would, whatever the core count. Every value below is integer math or IEEE float arithmetic
// (no libm calls), so a seed gives the same bits on every platform.

// MARK: - Philox4x64-10

/// The Philox4x64-10 bit generator of Salmon et al. (Random123, SC 2011), with numpy's conventions, so that a
/// `Philox(key:counter:)` produces exactly the raw output of `numpy.random.Philox(key=..., counter=...)`:
///
/// - the 256-bit counter is incremented (with carry across its four little-endian words) *before* each block
///   is computed, so a fresh generator with counter `c` starts with block `c + 1`;
/// - each block is four 64-bit words, handed out in order by `next64()`;
/// - `next32()` returns the low half of a fresh word and keeps the high half for the next `next32()` call;
///   `next64()` ignores the kept half, which stays pending across 64-bit draws (numpy's `has_uint32`).
///
/// Note that numpy's Philox is the 4x64 variant (256-bit counter, 128-bit key), not Random123's 4x32 one.
public struct Philox: Sendable, Hashable {
    /// The 128-bit key, least significant word first. It selects the stream; it never changes.
    public let key: SIMD2<UInt64>
    /// The 256-bit counter of the last block computed, least significant word first.
    public private(set) var counter: SIMD4<UInt64>
    /// The last block computed; words at `bufferPosition...` have not been handed out yet.
    var buffer: SIMD4<UInt64> = .zero
    var bufferPosition = 4
    /// The high half of the last word split by `next32()`, while it is pending.
    var pendingHalf: UInt32?

    static let multiplier0: UInt64 = 0xD2E7_470E_E14C_6C93
    static let multiplier1: UInt64 = 0xCA5A_8263_9512_1157
    /// Weyl increments of the key between rounds (golden ratio and sqrt(3) - 1).
    static let bump0: UInt64 = 0x9E37_79B9_7F4A_7C15
    static let bump1: UInt64 = 0xBB67_AE85_84CA_A73B

    /// A generator at `counter` for `key`: numpy's `Philox(key=k0 + k1 << 64, counter=c0 + c1 << 64 + ...)`.
    public init(key: SIMD2<UInt64>, counter: SIMD4<UInt64> = .zero) {
        self.key = key
        self.counter = counter
    }

    /// The Philox4x64-10 bijection: ten rounds of two 64x64 -> 128-bit multiplies, the key bumped between rounds.
    @inline(__always)
    public static func block(counter: SIMD4<UInt64>, key: SIMD2<UInt64>) -> SIMD4<UInt64> {
        var x0 = counter[0], x1 = counter[1], x2 = counter[2], x3 = counter[3]
        var k0 = key[0], k1 = key[1]
        for round in 0..<10 {
            if round > 0 { k0 &+= bump0; k1 &+= bump1 }
            let p0 = multiplier0.multipliedFullWidth(by: x0)
            let p1 = multiplier1.multipliedFullWidth(by: x2)
            (x0, x1, x2, x3) = (p1.high ^ x1 ^ k0, p1.low, p0.high ^ x3 ^ k1, p0.low)
        }
        return SIMD4(x0, x1, x2, x3)
    }

    /// `counter + n` in 256-bit arithmetic, wrapping at 2^256 as numpy does.
    @inline(__always)
    static func add(_ counter: SIMD4<UInt64>, _ n: UInt64) -> SIMD4<UInt64> {
        var c = counter
        var carry: Bool
        (c[0], carry) = c[0].addingReportingOverflow(n)
        var i = 1
        while carry && i < 4 {
            (c[i], carry) = c[i].addingReportingOverflow(1)
            i += 1
        }
        return c
    }

    /// The next 64 random bits (numpy's `next_uint64`, `random_raw`).
    @inline(__always)
    public mutating func next64() -> UInt64 {
        if bufferPosition < 4 {
            defer { bufferPosition += 1 }
            return buffer[bufferPosition]
        }
        counter = Philox.add(counter, 1)
        buffer = Philox.block(counter: counter, key: key)
        bufferPosition = 1
        return buffer[0]
    }

    /// The next 32 random bits (numpy's `next_uint32`): halves of 64-bit words, low half first.
    @inline(__always)
    public mutating func next32() -> UInt32 {
        if let half = pendingHalf {
            pendingHalf = nil
            return half
        }
        let word = next64()
        pendingHalf = UInt32(truncatingIfNeeded: word >> 32)
        return UInt32(truncatingIfNeeded: word)
    }

    /// Hands out the next `n` 64-bit words, exactly the values of `n` calls of `next64()`, leaving the generator
    /// where those calls would. `body(first, words, count)` receives runs of them, `first` being the index of
    /// `words[0]` among the `n`. Whole blocks are computed on several cores, so `body` may run concurrently on
    /// disjoint runs. `cost` is the work per word, in `Parallel.forEach` units.
    mutating func generate(_ n: Int, cost: Int, _ body: (Int, UnsafePointer<UInt64>, Int) -> Void) {
        guard n > 0 else { return }
        var done = 0
        // Words left in the current block come first, in order.
        if bufferPosition < 4 {
            let k = Swift.min(n, 4 - bufferPosition)
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 4) { tmp in
                for i in 0..<k { tmp[i] = next64() }
                body(0, UnsafePointer(tmp.baseAddress!), k)
            }
            done = k
        }
        // Whole blocks: block j is a function of counter + 1 + j alone.
        let blocks = (n - done) / 4
        if blocks > 0 {
            let start = counter, key = key, offset = done
            Parallel.forEach(blocks, cost: 4 * cost + 40) { range in
                // 64 blocks (2 KiB) at a time, on the stack, so that body sees the words while they are in L1.
                withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 256) { tmp in
                    let t = tmp.baseAddress!
                    var b = range.lowerBound
                    while b < range.upperBound {
                        let m = Swift.min(64, range.upperBound - b)
                        for j in 0..<m {
                            let w = Philox.block(counter: Philox.add(start, UInt64(b + j + 1)), key: key)
                            t[4 * j] = w[0]; t[4 * j + 1] = w[1]; t[4 * j + 2] = w[2]; t[4 * j + 3] = w[3]
                        }
                        body(offset + 4 * b, UnsafePointer(t), 4 * m)
                        b += m
                    }
                }
            }
            counter = Philox.add(counter, UInt64(blocks))
            // Recompute the last block into the (fully consumed) buffer, so that the state is exactly the one
            // sequential draws leave, numpy's included.
            buffer = Philox.block(counter: counter, key: key)
            bufferPosition = 4
            done += 4 * blocks
        }
        // The start of one more block, through the buffer, so that its remaining words are kept for later draws.
        if done < n {
            let k = n - done
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 4) { tmp in
                for i in 0..<k { tmp[i] = next64() }
                body(done, UnsafePointer(tmp.baseAddress!), k)
            }
        }
    }
}

// MARK: - Streams

/// A seeded, named stream of random numbers: the user-facing generator.
///
/// A stream is a value: copying it copies its position, and drawing from one copy never affects another.
/// Streams made from different `(seed, name)` pairs, or derived under different names, have different Philox
/// keys, so they are statistically independent and never share draws; how many values one of them has drawn
/// does not change any other, which is what lets a program add a draw in one place without changing results
/// elsewhere.
///
/// Keys are derived with fixed, platform-independent functions (never Swift's `Hasher`, which is seeded per
/// process): `init(seed:)` takes the key from the first two SplitMix64 outputs for `seed`; `derive(name)` takes
/// it from the Philox block of the parent's key at the counter (FNV-1a-64 of the name's UTF-8 bytes, their count,
/// 0, "Loupe-dv"), a counter no ordinary stream reaches (its top word is nonzero), so derived keys are
/// unrelated to the parent's draws.
///
/// Draws, and the tensors made from them, are those of numpy's `Generator(Philox(key=..., counter=0))` for
/// `nextUInt32`, `nextUInt64`, `nextFloat` (`random(dtype=float32)`), `nextDouble` (`random()`), `nextInt` and
/// `randint` (`integers(low, high)`) and `permutation`. Normal draws use Box-Muller (numpy uses a ziggurat).
public struct RandomStream: Sendable, Hashable, RandomNumberGenerator {
    /// The underlying bit generator: its key identifies the stream, its counter is the position in it.
    public internal(set) var generator: Philox

    /// The stream for `seed`.
    public init(seed: UInt64) {
        var sm = SplitMix64(state: seed)
        let k0 = sm.next(), k1 = sm.next()
        generator = Philox(key: SIMD2(k0, k1))
    }

    /// The stream named `name` under `seed`; the same as `RandomStream(seed: seed).derive(name)`.
    public init(seed: UInt64, name: String) {
        self = RandomStream(seed: seed).derive(name)
    }

    /// A stream over an explicit generator state (to match numpy's `Philox(key=..., counter=...)`, or to resume).
    public init(generator: Philox) {
        self.generator = generator
    }

    /// An independent child stream named `name`, starting at its beginning. It depends only on this stream's key
    /// and `name`, not on how much this stream has drawn, so deriving before or after other draws gives the same
    /// child. Derivation chains: `derive("a").derive("b")` differs from `derive("b").derive("a")`.
    public func derive(_ name: String) -> RandomStream {
        let bytes = Array(name.utf8)
        let counter = SIMD4<UInt64>(fnv1a64(bytes), UInt64(bytes.count), 0, RandomStream.deriveTag)
        let child = Philox.block(counter: counter, key: generator.key)
        return RandomStream(generator: Philox(key: SIMD2(child[0], child[1])))
    }

    /// "Loupe-dv" in ASCII: the top counter word reserved for key derivation.
    static let deriveTag: UInt64 = 0x4C6F_7570_652D_6476

    // ---- Scalar draws ----

    /// 32 uniformly random bits.
    public mutating func nextUInt32() -> UInt32 { generator.next32() }

    /// 64 uniformly random bits.
    public mutating func nextUInt64() -> UInt64 { generator.next64() }

    /// `RandomNumberGenerator`: lets Swift's own APIs draw from the stream (`shuffled(using:)`, ...). Their
    /// algorithms are the standard library's and may change between Swift versions; use `permutation`/`shuffle`
    /// for sequences that must stay fixed.
    public mutating func next() -> UInt64 { generator.next64() }

    /// Uniform in [0, 1) on the grid k / 2^24: the top 24 bits of `nextUInt32()`, which a Float holds exactly.
    public mutating func nextFloat() -> Float { unitFloat(generator.next32()) }

    /// Uniform in [0, 1) on the grid k / 2^53: the top 53 bits of `nextUInt64()`.
    public mutating func nextDouble() -> Double { Double(generator.next64() >> 11) * 0x1p-53 }

    /// Uniform in [low, high): `low + (high - low) * nextFloat()`, with a result that rounds up to `high`
    /// moved to the float just below it.
    public mutating func uniform(_ low: Float, _ high: Float) throws -> Float {
        let span = try RandomStream.uniformSpan(low, high, op: "uniform")
        return scaleUnit(nextFloat(), low: low, span: span, high: high)
    }

    /// A standard normal value: the first of the Box-Muller pair `nextNormalPair()` (one 64-bit word per call).
    public mutating func nextNormal() -> Float { nextNormalPair().0 }

    /// Two independent standard normal values from one 64-bit word, by the Box-Muller transform:
    /// r = sqrt(-2 ln u1), theta = 2 pi u2, returning (r cos theta, r sin theta). u1 = (bits 1...31 of the low
    /// half + 0.5) / 2^31 is in (0, 1), so r is finite and at most 6.7 (the tail beyond it has probability 2e-10);
    /// u2 is the top 24 bits of the high half / 2^24. `Tensor.randn` fills its elements with these pairs in order.
    /// The values agree with the formula evaluated in double precision to within 2e-6 (1 + r).
    public mutating func nextNormalPair() -> (Float, Float) {
        let w = generator.next64()
        var lo = SIMD8<UInt32>(repeating: 0), hi = SIMD8<UInt32>(repeating: 0)
        lo[0] = UInt32(truncatingIfNeeded: w)
        hi[0] = UInt32(truncatingIfNeeded: w >> 32)
        // Same vector code as the tensor fill, so that the scalar and tensor values agree to the bit.
        let (c, s) = boxMuller(lo, hi)
        return (c[0], s[0])
    }

    /// A uniformly random integer in [low, high), without modulo bias (Lemire's multiply-shift with rejection,
    /// on 32-bit draws when the range fits in 32 bits, as numpy's `integers` does).
    public mutating func nextInt(_ low: Int, _ high: Int) throws -> Int {
        guard low < high else {
            throw TensorError.invalidArgument(op: "randint", message: "low must be less than high, got low = \(low), high = \(high)")
        }
        return low &+ Int(bitPattern: UInt(bounded(UInt64(bitPattern: Int64(high &- low)) &- 1)))
    }

    /// Uniform in 0...range (numpy's `random_bounded_uint64` with Lemire's method): no draw when range is 0.
    @inline(__always)
    mutating func bounded(_ range: UInt64) -> UInt64 {
        if range == 0 { return 0 }
        if range <= UInt64(UInt32.max) {
            if range == UInt64(UInt32.max) { return UInt64(generator.next32()) }
            // The product's low half is where the bias would be: reject the few values below 2^32 mod n.
            let n = UInt32(range + 1)
            var m = UInt64(generator.next32()) &* UInt64(n)
            if UInt32(truncatingIfNeeded: m) < n {
                let threshold = (0 &- n) % n
                while UInt32(truncatingIfNeeded: m) < threshold { m = UInt64(generator.next32()) &* UInt64(n) }
            }
            return m >> 32
        }
        if range == UInt64.max { return generator.next64() }
        let n = range + 1
        var m = generator.next64().multipliedFullWidth(by: n)
        if m.low < n {
            let threshold = (0 &- n) % n
            while m.low < threshold { m = generator.next64().multipliedFullWidth(by: n) }
        }
        return m.high
    }

    /// Uniform in 0...max by masked rejection (numpy's `random_interval`, which its shuffle uses).
    mutating func interval(_ max: UInt64) -> UInt64 {
        if max == 0 { return 0 }
        // The smallest all-ones mask covering max: fewer than half of the draws are rejected.
        let mask = UInt64.max >> max.leadingZeroBitCount
        if max <= UInt64(UInt32.max) {
            while true {
                let v = UInt64(generator.next32()) & mask
                if v <= max { return v }
            }
        }
        while true {
            let v = generator.next64() & mask
            if v <= max { return v }
        }
    }

    // ---- Permutations ----

    /// Shuffles `values` in place by Fisher-Yates, from the last position down (numpy's `shuffle`).
    public mutating func shuffle<T>(_ values: inout [T]) {
        var i = values.count - 1
        while i > 0 {
            let j = Int(interval(UInt64(i)))
            values.swapAt(i, j)
            i -= 1
        }
    }

    /// A random permutation of 0..<n (numpy's `permutation(n)`).
    public mutating func permutation(_ n: Int) throws -> [Int] {
        guard n >= 0 else {
            throw TensorError.invalidArgument(op: "permutation", message: "n must be >= 0, got \(n)")
        }
        _ = try Shape.elementCount([n], op: "permutation")
        var p = Array(0..<n)
        shuffle(&p)
        return p
    }

    // ---- Categorical sampling ----

    /// One category per row of `probs` ([..., K] probabilities or unnormalised non-negative weights), drawn in
    /// proportion to the weights: an index tensor of shape `probs.shape.dropLast()`. Each row takes one
    /// `nextDouble()`; categories of weight 0 are never drawn. Rows must be finite, non-negative and not all zero.
    public mutating func categorical(probs: Tensor) throws -> IndexTensor {
        let out = try multinomial(probs, numSamples: 1, replacement: true, op: "categorical")
        return IndexTensor(shape: Array(probs.shape.dropLast()), unchecked: out.data)
    }

    /// `numSamples` categories per row of `probs` ([..., K] probabilities or weights): shape
    /// `probs.shape.dropLast() + [numSamples]`. With replacement, each sample is an independent categorical draw
    /// (the same draws `categorical` makes). Without, each draw removes its category and renormalises the rest,
    /// so every row needs at least `numSamples` positive weights.
    public mutating func multinomial(_ probs: Tensor, numSamples: Int, replacement: Bool) throws -> IndexTensor {
        try multinomial(probs, numSamples: numSamples, replacement: replacement, op: "multinomial")
    }

    mutating func multinomial(_ probs: Tensor, numSamples: Int, replacement: Bool, op: String) throws -> IndexTensor {
        guard probs.rank >= 1 else {
            throw TensorError.invalidArgument(op: op, message: "probabilities must have at least one axis (the categories), got a scalar")
        }
        let k = probs.shape[probs.rank - 1]
        guard k > 0 else {
            throw TensorError.invalidArgument(op: op, message: "no categories: the last axis of \(fmt(probs.shape)) is empty")
        }
        guard numSamples >= 0 else {
            throw TensorError.invalidArgument(op: op, message: "numSamples must be >= 0, got \(numSamples)")
        }
        let rows = probs.count / k
        let outShape = Array(probs.shape.dropLast()) + [numSamples]
        let total = try Shape.elementCount(outShape, op: op)
        // Check every row before drawing anything, so that a bad row leaves the stream untouched.
        var positives = Int.max
        try probs.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                var sum = 0.0, positive = 0
                for j in 0..<k {
                    let w = p[r * k + j]
                    guard w.isFinite, w >= 0 else {
                        throw TensorError.invalidArgument(
                            op: op, message: "weights must be finite and non-negative, got \(w) at \(RandomStream.position(r * k + j, probs.shape))")
                    }
                    sum += Double(w)
                    if w > 0 { positive += 1 }
                }
                guard sum > 0 else {
                    throw TensorError.invalidArgument(
                        op: op, message: "the weights \(RandomStream.row(r, probs.shape))are all zero")
                }
                positives = Swift.min(positives, positive)
            }
        }
        if !replacement && numSamples > positives {
            throw TensorError.invalidArgument(
                op: op, message: "cannot draw \(numSamples) samples without replacement from a row with only \(positives) nonzero weights")
        }
        var out = [Int](repeating: 0, count: total)
        var cumulative = [Double](repeating: 0, count: k)
        probs.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                let w = p.baseAddress! + r * k
                if replacement {
                    var acc = 0.0
                    for j in 0..<k { acc += Double(w[j]); cumulative[j] = acc }
                    for s in 0..<numSamples { out[r * numSamples + s] = pick(cumulative, total: acc) }
                } else {
                    var weights = (0..<k).map { Double(w[$0]) }
                    for s in 0..<numSamples {
                        // Recomputing the sums after each removal costs O(K) per sample but never lets rounding
                        // from subtracted weights make a removed category drawable again.
                        var acc = 0.0
                        for j in 0..<k { acc += weights[j]; cumulative[j] = acc }
                        let j = pick(cumulative, total: acc)
                        out[r * numSamples + s] = j
                        weights[j] = 0
                    }
                }
            }
        }
        return IndexTensor(shape: outShape, unchecked: out)
    }

    /// The category whose interval of the cumulative weights holds `nextDouble() * total`: the first j with
    /// cumulative[j] > target, found by binary search. A zero weight has an empty interval, so it is never picked.
    mutating func pick(_ cumulative: [Double], total: Double) -> Int {
        let target = nextDouble() * total
        var lo = 0, hi = cumulative.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
        }
        // target can round up to total itself; then take the last category with a positive weight.
        if lo == cumulative.count {
            lo = cumulative.count - 1
            while lo > 0 && cumulative[lo - 1] == cumulative[lo] { lo -= 1 }
        }
        return lo
    }

    /// "at [i, j, :] " naming row r of a [..., K] tensor, or "" for a single row, for error messages.
    static func row(_ r: Int, _ shape: [Int]) -> String {
        guard shape.count > 1 else { return "" }
        let prefix = position(r, Array(shape.dropLast()))
        return "at " + prefix.dropLast() + ", :] "
    }

    /// "[i, j, k]" for a flat position in a row-major shape, for error messages.
    static func position(_ flat: Int, _ shape: [Int]) -> String {
        var rem = flat
        let index = Shape.strides(shape).map { s -> Int in defer { rem %= s }; return rem / s }
        return "[" + index.map(String.init).joined(separator: ", ") + "]"
    }

    /// high - low, after checking that [low, high) is a finite, non-empty interval.
    static func uniformSpan(_ low: Float, _ high: Float, op: String) throws -> Float {
        guard low.isFinite, high.isFinite, low < high, (high - low).isFinite else {
            throw TensorError.invalidArgument(
                op: op, message: "needs finite low < high with a finite high - low, got low = \(low), high = \(high)")
        }
        return high - low
    }
}

/// The top 24 bits of `x` as a Float in [0, 1): exact, since a Float has a 24-bit significand.
@inline(__always)
func unitFloat(_ x: UInt32) -> Float { Float(x >> 8) * 0x1p-24 }

/// low + span * u, kept below high (the product and sum round, and could otherwise reach high exactly).
@inline(__always)
func scaleUnit(_ u: Float, low: Float, span: Float, high: Float) -> Float {
    Swift.min(low + span * u, high.nextDown)
}

/// Box-Muller on eight 64-bit words, given as their low and high halves: (r cos theta, r sin theta).
@inline(__always)
func boxMuller(_ lo: SIMD8<UInt32>, _ hi: SIMD8<UInt32>) -> (F8, F8) {
    // u1 = (k + 0.5) / 2^31 for the 31-bit k, in (0, 1); 1 - u1 has the same form with k's complement. A float
    // holds either exactly when it is small, so log(u1) is taken from u1 below one half (the tail: large r) and
    // as log1p(-(1 - u1)) above it (small r, where log(u1) of a rounded u1 would lose most of its digits).
    let k = unsafeBitCast(lo &>> 1, to: I8.self)  // below 2^31: the same value as a signed integer
    let u1 = (F8(k) + 0.5) * 0x1p-31
    let v = (F8(~k & 0x7FFF_FFFF) + 0.5) * 0x1p-31  // 1 - u1
    let small = u1 .< 0.5
    // log1p(-v) = log(w) * -v / (w - 1) for w = 1 - v rounded (Goldberg), which cancels w's rounding error;
    // w - 1 is exact. When w rounds to 1, log1p(-v) = -v to float precision.
    let w = 1 - v
    let l = vlog(u1.replacing(with: w, where: .!small))
    var ln1p = l * -v / (w - 1)
    ln1p.replace(with: -v, where: w .== 1)
    let ln = l.replacing(with: ln1p, where: .!small)
    let r = (ln * -2).replacing(with: 0, where: ln .> 0).squareRoot()  // ln <= 0; the guard keeps sqrt real
    let u2 = F8(unsafeBitCast(hi &>> 8, to: I8.self)) * 0x1p-24
    let (s, c) = vsincos2pi(u2)
    return (r * c, r * s)
}

/// sin(2 pi u) and cos(2 pi u) for u in [0, 1).
///
/// The range reduction works on u itself, where it is exact (u - q/4 for q = round(4u) needs no rounding), so
/// the only error is that of the Cephes polynomials on [-pi/4, pi/4], about 1 ulp.
@inline(__always)
func vsincos2pi(_ u: F8) -> (F8, F8) {
    let t = u * 4 + magicRound  // round(4u) lands in the low mantissa bits of t
    let q = t - magicRound
    let quadrant = bits(t) & 3
    let x = (u - q * 0.25) * (2 * Float.pi)
    let z = x * x
    var s = F8(repeating: -1.9515295891e-4)
    s = s * z + 8.3321608736e-3
    s = s * z + -1.6666654611e-1
    s = s * z * x + x
    var c = F8(repeating: 2.443315711809948e-5)
    c = c * z + -1.388731625493765e-3
    c = c * z + 4.166664568298827e-2
    c = c * z * z - z * 0.5 + 1
    // Angle x + quadrant * pi/2: odd quadrants swap sin and cos; sin is negative in quadrants 2, 3 and cos in 1, 2.
    // Done with integer bit operations: comparisons of integer vectors compile to a scalar loop per lane.
    let odd = 0 &- (quadrant & 1)  // all ones in odd quadrants
    let sb = bits(s), cb = bits(c)
    let sinb = ((sb & ~odd) | (cb & odd)) ^ ((quadrant & 2) &<< 30)
    let cosb = ((cb & ~odd) | (sb & odd)) ^ (((quadrant &+ 1) & 2) &<< 30)
    return (float(sinb), float(cosb))
}

/// SplitMix64 (Steele, Lea & Flood 2014): turns a 64-bit seed into well-mixed key words.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// FNV-1a, 64-bit: a fixed hash of a name's bytes, the same on every platform and in every process.
func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return h
}

// MARK: - Random tensors

extension Tensor {
    /// Uniform values in [0, 1): element i is the i-th `stream.nextFloat()`.
    public static func rand(_ shape: [Int], stream: inout RandomStream) throws -> Tensor {
        let t = try Tensor(uninitialized: shape, op: "rand")
        fillUnit(t.dataPointer, t.count, &stream) { $0 }
        return t
    }

    /// Uniform values in [0, 1) from a fresh `RandomStream(seed: seed)`.
    public static func rand(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var stream = RandomStream(seed: seed)
        return try rand(shape, stream: &stream)
    }

    /// Uniform values in [low, high): element i is the i-th `stream.uniform(low, high)`.
    public static func uniform(_ shape: [Int], _ low: Float, _ high: Float, stream: inout RandomStream) throws -> Tensor {
        let span = try RandomStream.uniformSpan(low, high, op: "uniform")
        let t = try Tensor(uninitialized: shape, op: "uniform")
        fillUnit(t.dataPointer, t.count, &stream) { scaleUnit($0, low: low, span: span, high: high) }
        return t
    }

    /// Standard normal values: elements 2i and 2i+1 are the i-th `stream.nextNormalPair()`; an odd last element
    /// takes the first of one more pair (so it equals `stream.nextNormal()`).
    public static func randn(_ shape: [Int], stream: inout RandomStream) throws -> Tensor {
        let t = try Tensor(uninitialized: shape, op: "randn")
        let n = t.count, out = t.dataPointer
        stream.generator.generate(n / 2, cost: 12) { first, words, count in
            let o = out + 2 * first
            var i = 0
            // Eight words -> sixteen values per step; the tail goes through a zero-padded vector, so every value
            // comes from the same lane code whatever the chunking.
            while i < count {
                let m = Swift.min(8, count - i)
                var v = SIMD8<UInt64>(repeating: 0)
                if m == 8 {
                    v = UnsafeRawPointer(words + i).loadUnaligned(as: SIMD8<UInt64>.self)
                } else {
                    for j in 0..<m { v[j] = words[i + j] }
                }
                let (c, s) = boxMuller(SIMD8<UInt32>(truncatingIfNeeded: v), SIMD8<UInt32>(truncatingIfNeeded: v &>> 32))
                for j in 0..<m {
                    o[2 * (i + j)] = c[j]
                    o[2 * (i + j) + 1] = s[j]
                }
                i += 8
            }
        }
        if n % 2 == 1 { out[n - 1] = stream.nextNormal() }
        return t
    }

    /// Standard normal values from a fresh `RandomStream(seed: seed)`: the language's `randn(shape, seed: S)`.
    public static func randn(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var stream = RandomStream(seed: seed)
        return try randn(shape, stream: &stream)
    }

    /// Uniform integers in [low, high), without modulo bias: element i is the i-th `stream.nextInt(low, high)`
    /// (numpy's `integers(low, high, size=shape)` for the same Philox state).
    public static func randint(_ low: Int, _ high: Int, _ shape: [Int], stream: inout RandomStream) throws -> IndexTensor {
        guard low < high else {
            throw TensorError.invalidArgument(op: "randint", message: "low must be less than high, got low = \(low), high = \(high)")
        }
        let n = try Shape.elementCount(shape, op: "randint")
        let range = UInt64(bitPattern: Int64(high &- low)) &- 1
        // Sequential: rejection makes the number of draws per element vary, so elements cannot be placed ahead.
        var data = [Int](repeating: 0, count: n)
        for i in 0..<n { data[i] = low &+ Int(bitPattern: UInt(stream.bounded(range))) }
        return IndexTensor(shape: shape, unchecked: data)
    }

    /// Fills out[0..<n] with f(u) for the next n values u of `nextFloat()`, the bulk of them in parallel.
    @inline(__always)
    static func fillUnit(_ out: UnsafeMutablePointer<Float>, _ n: Int, _ stream: inout RandomStream, _ f: (Float) -> Float) {
        guard n > 0 else { return }
        var start = 0
        // A half word kept by an earlier nextUInt32 comes first.
        if stream.generator.pendingHalf != nil {
            out[0] = f(stream.nextFloat())
            start = 1
        }
        let o = out + start
        stream.generator.generate((n - start) / 2, cost: 2) { first, words, count in
            let d = o + 2 * first
            for i in 0..<count {
                let w = words[i]
                d[2 * i] = f(unitFloat(UInt32(truncatingIfNeeded: w)))
                d[2 * i + 1] = f(unitFloat(UInt32(truncatingIfNeeded: w >> 32)))
            }
        }
        // An odd count ends on a low half; its high half stays pending, as after nextUInt32.
        if (n - start) % 2 == 1 { out[n - 1] = f(stream.nextFloat()) }
    }
}
