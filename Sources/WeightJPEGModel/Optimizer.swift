import Foundation

/// The optimizers, with PyTorch's update rules so that the same hyper-parameters mean the same thing.
public enum OptimizerKind: Equatable, Sendable {
    /// `torch.optim.Adam` (β₁ 0.9, β₂ 0.999, ε 1e-8, no weight decay).
    case adam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8)
    /// `torch.optim.SGD` with momentum (`buf = μ·buf + g; p −= lr·buf`).
    case sgd(momentum: Float = 0.9)
}

/// Optimizer state for every parameter tensor of a model, updated in place.
package struct Optimizer {
    let kind: OptimizerKind
    private var first: [[Float]]
    private var second: [[Float]]
    private var step = 0

    package init(kind: OptimizerKind, model: MLP) {
        self.kind = kind
        let shapes = model.layers.flatMap { [$0.weight.count, $0.bias.count] }
        first = shapes.map { [Float](repeating: 0, count: $0) }
        if case .adam = kind {
            second = shapes.map { [Float](repeating: 0, count: $0) }
        } else {
            second = []
        }
    }

    /// One update of every parameter of `model` from `gradients` at learning rate `lr`.
    package mutating func update(_ model: inout MLP, gradients: [DenseLayer], lr: Float) {
        step += 1
        for l in model.layers.indices {
            update(&model.layers[l].weight.storage, gradients[l].weight.storage, slot: 2 * l, lr: lr)
            update(&model.layers[l].bias, gradients[l].bias, slot: 2 * l + 1, lr: lr)
        }
    }

    /// PyTorch's Adam step on raw buffers, 16 lanes at a time (the optimizer is a large share of an
    /// epoch: keep it vectorized), then the tail one by one with the same arithmetic.
    private static func adam(p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                             v: UnsafeMutablePointer<Float>, count n: Int, beta1: Float, beta2: Float, epsilon: Float,
                             stepSize: Float, invRootCorrection2: Float) {
        typealias V = SIMD16<Float>
        let lanes = V.scalarCount
        var i = 0
        let b1 = V(repeating: beta1), c1 = V(repeating: 1 - beta1)
        let b2 = V(repeating: beta2), c2 = V(repeating: 1 - beta2)
        let step = V(repeating: stepSize), inv = V(repeating: invRootCorrection2), eps = V(repeating: epsilon)
        while i + lanes <= n {
            let gi = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
            let mi = b1 * UnsafeRawPointer(m + i).loadUnaligned(as: V.self) + c1 * gi
            let vi = b2 * UnsafeRawPointer(v + i).loadUnaligned(as: V.self) + c2 * gi * gi
            UnsafeMutableRawPointer(m + i).storeBytes(of: mi, as: V.self)
            UnsafeMutableRawPointer(v + i).storeBytes(of: vi, as: V.self)
            let pi = UnsafeRawPointer(p + i).loadUnaligned(as: V.self) - step * mi / (vi.squareRoot() * inv + eps)
            UnsafeMutableRawPointer(p + i).storeBytes(of: pi, as: V.self)
            i += lanes
        }
        while i < n {
            let gi = g[i]
            let mi = beta1 * m[i] + (1 - beta1) * gi
            let vi = beta2 * v[i] + (1 - beta2) * gi * gi
            m[i] = mi
            v[i] = vi
            p[i] -= stepSize * mi / (vi.squareRoot() * invRootCorrection2 + epsilon)
            i += 1
        }
    }

    private mutating func update(_ p: inout [Float], _ g: [Float], slot: Int, lr: Float) {
        let n = p.count
        switch kind {
        case .adam(let beta1, let beta2, let epsilon):
            let correction1 = 1 - Float(pow(Double(beta1), Double(step)))
            let correction2 = 1 - Float(pow(Double(beta2), Double(step)))
            let stepSize = lr / correction1
            let invRootCorrection2 = 1 / correction2.squareRoot()
            p.withUnsafeMutableBufferPointer { p in
                g.withUnsafeBufferPointer { g in
                    first[slot].withUnsafeMutableBufferPointer { m in
                        second[slot].withUnsafeMutableBufferPointer { v in
                            Self.adam(p: p.baseAddress!, g: g.baseAddress!, m: m.baseAddress!, v: v.baseAddress!, count: n,
                                      beta1: beta1, beta2: beta2, epsilon: epsilon,
                                      stepSize: stepSize, invRootCorrection2: invRootCorrection2)
                        }
                    }
                }
            }
        case .sgd(let momentum):
            p.withUnsafeMutableBufferPointer { p in
                g.withUnsafeBufferPointer { g in
                    first[slot].withUnsafeMutableBufferPointer { b in
                        if step == 1 {
                            for i in 0..<n { b[i] = g[i]; p[i] -= lr * g[i] }
                        } else {
                            for i in 0..<n {
                                let bi = momentum * b[i] + g[i]
                                b[i] = bi
                                p[i] -= lr * bi
                            }
                        }
                    }
                }
            }
        }
    }
}
