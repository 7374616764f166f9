import Foundation
import WeightJPEG

/// What a `wj_file *` points to: a `ContainerReader` (header validated, payloads untouched), the C
/// strings the header's facts are handed out as (owned here, freed on close), and a pool of JPEG
/// codecs so that concurrent `wj_tensor_read` calls decode in parallel (a codec is not thread-safe).
final class OpenedFile: @unchecked Sendable {
    /// Header facts of one tensor, ready for `wj_tensor_info`.
    struct Declaration {
        let name: String
        let cName: UnsafeMutablePointer<CChar>
        let cDType: UnsafeMutablePointer<CChar>
        let cCoding: UnsafeMutablePointer<CChar>
        /// The decoded tensor's shape (`OpenedFile.decodedShape`).
        let shape: [Int]
        /// `product(shape) × dtype size`; 0 for a dtype this library does not know (reading it fails).
        let decodedBytes: Int
        let storedBytes: Int
    }

    let reader: ContainerReader
    let declarations: [Declaration]
    let indexByName: [String: Int]
    /// Metadata pairs in key order, as C strings; nil when the file has no `__metadata__`.
    let metadata: [(key: UnsafeMutablePointer<CChar>, value: UnsafeMutablePointer<CChar>)]?
    private let lock = NSLock()
    private var idleCodecs: [JPEGTensorCodec] = []

    init(_ reader: ContainerReader) {
        self.reader = reader
        var declarations: [Declaration] = []
        var indexByName: [String: Int] = [:]
        for i in 0..<reader.count {
            let d = reader.declaration(i)
            let shape = Self.decodedShape(reader, i)
            let bytes = SafetensorsDType(rawValue: d.dtype).map { shape.reduce(1, *) * $0.byteSize } ?? 0
            declarations.append(Declaration(name: d.name, cName: strdup(d.name), cDType: strdup(d.dtype), cCoding: strdup(d.coding.name),
                                            shape: shape, decodedBytes: bytes, storedBytes: reader.payloadBytes(i)))
            indexByName[d.name] = i
        }
        self.declarations = declarations
        self.indexByName = indexByName
        metadata = reader.metadata.map { $0.sorted { $0.key < $1.key }.map { (strdup($0.key)!, strdup($0.value)!) } }
    }

    deinit {
        for d in declarations { free(d.cName); free(d.cDType); free(d.cCoding) }
        for m in metadata ?? [] { free(m.key); free(m.value) }
    }

    /// The shape of tensor `index` as decoding restores it (zero slices of removed dead units put
    /// back): the one place the C interface, and so the Python package, takes a tensor's shape from.
    static func decodedShape(_ reader: ContainerReader, _ index: Int) -> [Int] {
        reader.declaration(index).restoredShape
    }

    /// Decodes tensor `index` into `buffer` (exactly its `decodedBytes`) through the library's decode
    /// path (`ModelCodec.decode`), reading only that tensor's payloads, then drops their pages.
    func read(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        let codec = try takeCodec()
        defer { keep(codec) }
        let entry = try reader.entry(index)
        reader.release(index)  // the entry holds a copy of the payloads: the mapped pages are not needed
        try ModelCodec.decode(entry, codec: codec, path: reader.path, into: buffer)
    }

    private func takeCodec() throws -> JPEGTensorCodec {
        if let codec = lock.withLock({ idleCodecs.popLast() }) { return codec }
        return try JPEGTensorCodec()
    }

    private func keep(_ codec: JPEGTensorCodec) {
        lock.withLock { idleCodecs.append(codec) }
    }
}
