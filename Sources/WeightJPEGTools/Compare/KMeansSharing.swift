import WeightJPEG
/// Weight sharing by 1-D k-means per matrix (Deep Compression's linear initialization, Lloyd
/// iterations on the sorted values with prefix sums), float16 codebook, Huffman-coded indices.
/// When the matrix has at most `k` distinct values the codebook is exactly those values.
///
/// Layout per matrix: codebook size (varint), codebook (float16, ascending), Huffman block of indices.
package enum KMeansSharing {
    static let iterations = 40

    /// Ascending centroids (float16-representable, distinct) for `values`.
    static func centroids(_ values: [Float], k: Int) -> [Float] {
        let sorted = values.sorted()
        var distinct: [Float] = []
        for v in sorted where distinct.last != v {
            distinct.append(v)
            if distinct.count > k { break }
        }
        if distinct.count <= k { return roundedUnique(distinct) }
        let n = sorted.count
        var prefix = [Double](repeating: 0, count: n + 1)
        for i in 0..<n { prefix[i + 1] = prefix[i] + Double(sorted[i]) }
        let lo = Double(sorted[0]), hi = Double(sorted[n - 1])
        var c = (0..<k).map { lo + (hi - lo) * (Double($0) + 0.5) / Double(k) }
        for _ in 0..<iterations {
            // Boundaries at midpoints; each cluster is a run of the sorted values.
            var next: [Double] = []
            var start = 0
            for j in 0..<c.count {
                let end = j == c.count - 1 ? n : upperBound(sorted, Float((c[j] + c[j + 1]) / 2), from: start)
                if end > start { next.append((prefix[end] - prefix[start]) / Double(end - start)) }
                start = end
            }
            if next == c { break }
            c = next
        }
        return roundedUnique(c.map { Float($0) })
    }

    private static func roundedUnique(_ c: [Float]) -> [Float] {
        var out: [Float] = []
        for v in c.map({ HalfPrecision.float(fromHalfBits: HalfPrecision.halfBits(from: $0)) }).sorted() where out.last != v { out.append(v) }
        return out
    }

    /// First index in `sorted[from...]` whose value is > `x`.
    private static func upperBound(_ sorted: [Float], _ x: Float, from: Int) -> Int {
        var lo = from, hi = sorted.count
        while lo < hi { let mid = (lo + hi) / 2; if sorted[mid] <= x { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    /// Index of the nearest of the ascending `codebook` to `v`.
    static func nearest(_ v: Float, _ codebook: [Float]) -> Int {
        var lo = 0, hi = codebook.count - 1
        while lo < hi { let mid = (lo + hi) / 2; if v > (codebook[mid] + codebook[mid + 1]) / 2 { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    static func encode(_ m: Matrix, k: Int, into w: inout ByteWriter) {
        let codebook = centroids(m.storage, k: k)
        w.varint(codebook.count)
        w.f16s(codebook)
        w.lengthPrefixed(HuffmanCoder.encode(m.storage.map { nearest($0, codebook) }, alphabetSize: codebook.count))
    }

    static func decode(_ r: inout CompactReader, rows: Int, columns: Int) throws(CompareError) -> Matrix {
        let k = try r.varint(limit: 4096)
        guard k > 0 else { throw r.corrupt("empty codebook") }
        let codebook = try r.halves(k)
        var hr = CompactReader(try r.block(), what: r.what + " (k-means indices)")
        let indices = try HuffmanCoder.decode(&hr)
        guard indices.count == rows * columns, indices.allSatisfy({ $0 < k }) else {
            throw r.corrupt("\(indices.count) indices for a \(rows)×\(columns) matrix")
        }
        return Matrix(rows: rows, columns: columns, storage: indices.map { codebook[$0] })
    }
}
