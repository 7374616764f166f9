/// An N-dimensional tensor of `Float` values in row-major order: how weights travel between the
/// file formats and the model.
public struct FloatTensor: Equatable, Sendable {
    /// The dimensions, outermost first (PyTorch's order).
    public let shape: [Int]
    /// `shape.reduce(1, *)` values, row-major.
    public var values: [Float]

    /// A tensor; `values.count` must equal the product of `shape`.
    public init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "tensor of shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
        self.shape = shape
        self.values = values
    }

    /// A 2-D tensor viewed as a matrix (shares nothing; copies on write as arrays do).
    public init(_ matrix: Matrix) {
        self.init(shape: [matrix.rows, matrix.columns], values: matrix.storage)
    }

    /// Number of elements.
    public var count: Int { values.count }
}
