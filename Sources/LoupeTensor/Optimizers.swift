import Foundation

// Optimizers, gradient clipping and learning-rate schedules.
//
// Tensors are immutable values, so an optimizer step returns new parameter tensors (leaves that require grad)
// instead of writing into the old ones, in the style of optax. The optimizer keeps its own state (momentum,
// moment estimates) per parameter position.

/// Something that turns parameters and their gradients into updated parameters.
public protocol Optimizer: AnyObject {
    /// Learning rate for the next step (schedules set it before each step).
    var lr: Float { get set }
    /// New parameters from `params` and `grads` (same order and shapes every call).
    func step(_ params: [Tensor], _ grads: [Tensor]) throws -> [Tensor]
}

extension Optimizer {
    /// Step using the gradients accumulated in each parameter's `grad` by `backward()`.
    public func step(_ params: [Tensor]) throws -> [Tensor] {
        let grads = try params.enumerated().map { i, p in
            guard let g = p.grad else { throw TensorError.autograd("parameter \(i) of shape \(fmt(p.shape)) has no gradient; call backward() first") }
            return g
        }
        return try step(params, grads)
    }
}

/// Checks that params and grads line up, and that the state from earlier steps still fits.
private func validate(_ op: String, _ params: [Tensor], _ grads: [Tensor], state: [Tensor]) throws {
    guard params.count == grads.count else {
        throw TensorError.invalidArgument(op: op, message: "\(params.count) parameters but \(grads.count) gradients")
    }
    for (p, g) in zip(params, grads) where p.shape != g.shape {
        throw TensorError.shapeMismatch(op: op, lhs: p.shape, rhs: g.shape)
    }
    guard state.isEmpty || state.count == params.count else {
        throw TensorError.invalidArgument(op: op, message: "called with \(params.count) parameters after \(state.count) earlier")
    }
    for (p, s) in zip(params, state) where p.shape != s.shape {
        throw TensorError.shapeMismatch(op: op, lhs: s.shape, rhs: p.shape)
    }
}

/// A new leaf tensor filled by `body(i)` for each element, in parallel.
private func fill(like p: Tensor, _ body: @escaping (Int) -> Float) throws -> Tensor {
    let t = try Tensor(uninitialized: p.shape, op: "optimizer")
    let o = t.dataPointer
    Parallel.forEach(t.count, cost: 4) { r in for i in r { o[i] = body(i) } }
    return t.requiringGrad()
}

/// Stochastic gradient descent with (optionally Nesterov) momentum and L2 weight decay, as PyTorch's SGD:
/// g = g + wd * p;  b = momentum * b + g (b = g on the first step);  p = p - lr * (nesterov ? g + momentum * b : b).
public final class SGD: Optimizer {
    public var lr: Float
    public let momentum: Float, weightDecay: Float, nesterov: Bool
    private var buffers: [Tensor] = []

    public init(lr: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.lr = lr; self.momentum = momentum; self.weightDecay = weightDecay; self.nesterov = nesterov
    }

    public func step(_ params: [Tensor], _ grads: [Tensor]) throws -> [Tensor] {
        try validate("sgd", params, grads, state: buffers)
        let first = buffers.isEmpty
        var newBuffers: [Tensor] = []
        var out: [Tensor] = []
        for (i, (p, g)) in zip(params, grads).enumerated() {
            let pp = p.dataPointer, gp = g.dataPointer
            let (lr, mu, wd) = (lr, momentum, weightDecay)
            // L2 weight decay folded into the gradient (PyTorch's SGD weight_decay).
            let geff = try fill(like: p) { j in gp[j] + wd * pp[j] }
            let gep = geff.dataPointer
            if mu == 0 {
                out.append(try fill(like: p) { j in pp[j] - lr * gep[j] })
                continue
            }
            let bp = first ? nil : buffers[i].dataPointer
            let b = try fill(like: p) { j in bp.map { mu * $0[j] + gep[j] } ?? gep[j] }
            let nb = b.dataPointer
            let nesterov = self.nesterov
            out.append(try fill(like: p) { j in pp[j] - lr * (nesterov ? gep[j] + mu * nb[j] : nb[j]) })
            newBuffers.append(b.detached())
        }
        if momentum != 0 { buffers = newBuffers }
        return out
    }
}

/// Adam with decoupled weight decay (Loshchilov & Hutter), matching PyTorch's AdamW:
/// p = p - lr * wd * p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p = p - lr * mhat / (sqrt(vhat) + eps).
public final class AdamW: Optimizer {
    public var lr: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public private(set) var stepCount = 0
    private var m: [Tensor] = [], v: [Tensor] = []

    public init(lr: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
    }

    public func step(_ params: [Tensor], _ grads: [Tensor]) throws -> [Tensor] {
        try validate("adamw", params, grads, state: m)
        stepCount += 1
        let (b1, b2, eps, lr, wd) = (beta1, beta2, eps, lr, weightDecay)
        let c1 = 1 - Float(Foundation.pow(Double(b1), Double(stepCount)))
        let c2 = 1 - Float(Foundation.pow(Double(b2), Double(stepCount)))
        var newM: [Tensor] = [], newV: [Tensor] = [], out: [Tensor] = []
        for (i, (p, g)) in zip(params, grads).enumerated() {
            let pp = p.dataPointer, gp = g.dataPointer
            let mp = m.isEmpty ? nil : m[i].dataPointer, vp = v.isEmpty ? nil : v[i].dataPointer
            let mt = try fill(like: p) { j in b1 * (mp?[j] ?? 0) + (1 - b1) * gp[j] }
            let vt = try fill(like: p) { j in b2 * (vp?[j] ?? 0) + (1 - b2) * gp[j] * gp[j] }
            let mtp = mt.dataPointer, vtp = vt.dataPointer
            out.append(try fill(like: p) { j in
                let decayed = pp[j] * (1 - lr * wd)
                return decayed - lr * (mtp[j] / c1) / ((vtp[j] / c2).squareRoot() + eps)
            })
            newM.append(mt.detached()); newV.append(vt.detached())
        }
        m = newM; v = newV
        return out
    }
}

/// Gradient clipping.
public enum GradClip {
    /// Scales all gradients by min(1, maxNorm / globalNorm); returns the clipped gradients and the norm before.
    public static func byGlobalNorm(_ grads: [Tensor], maxNorm: Float) throws -> (grads: [Tensor], norm: Float) {
        guard maxNorm > 0 else { throw TensorError.invalidArgument(op: "clip_grad_norm", message: "max_norm must be positive, got \(maxNorm)") }
        var total: Double = 0
        for g in grads { let n = Double(try (g * g).sum().item()); total += n }
        let norm = Float(total.squareRoot())
        let scale = Swift.min(1, maxNorm / (norm + 1e-6))
        if scale >= 1 { return (grads, norm) }
        return (try grads.map { try $0 * scale }, norm)
    }

    /// Clamps each gradient element into [-limit, limit].
    public static func byValue(_ grads: [Tensor], limit: Float) throws -> [Tensor] {
        try grads.map { try $0.clamp(min: -limit, max: limit) }
    }
}

/// Learning rate as a function of the step number (0-based).
public struct LRSchedule {
    public let rate: (Int) -> Float
    public func callAsFunction(_ step: Int) -> Float { rate(step) }

    public static func constant(_ lr: Float) -> LRSchedule { LRSchedule { _ in lr } }

    /// Linear warm-up from 0 over `warmup` steps, then cosine decay to `minLR` at `total` steps.
    public static func warmupCosine(base: Float, warmup: Int, total: Int, minLR: Float = 0) -> LRSchedule {
        LRSchedule { step in
            if step < warmup { return base * Float(step + 1) / Float(warmup) }
            let t = Swift.min(1, Double(step - warmup) / Double(Swift.max(1, total - warmup)))
            return minLR + (base - minLR) * Float(0.5 * (1 + Foundation.cos(Double.pi * t)))
        }
    }

    /// Linear warm-up from 0 over `warmup` steps, then linear decay to `minLR` at `total` steps.
    public static func warmupLinear(base: Float, warmup: Int, total: Int, minLR: Float = 0) -> LRSchedule {
        LRSchedule { step in
            if step < warmup { return base * Float(step + 1) / Float(warmup) }
            let t = Swift.min(1, Float(step - warmup) / Float(Swift.max(1, total - warmup)))
            return base + (minLR - base) * t
        }
    }
}
