import WeightJPEGFormats

extension JPEGTensorParameters {
    /// The libjpeg options these parameters stand for (`table` overrides the quality).
    package func jpegOptions(table: [UInt16]? = nil) -> JPEGOptions {
        JPEGOptions(quality: max(quality, 1), quantizationTable: table, optimizeHuffman: optimizeHuffman,
                    arithmetic: arithmetic, progressive: progressive)
    }
}
