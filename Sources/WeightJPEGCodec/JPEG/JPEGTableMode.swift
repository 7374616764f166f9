/// Whether a JPEG stream carries its own tables.
public enum JPEGTableMode: Sendable, Equatable {
    /// A full (interchange) stream with its quantization and Huffman tables.
    case included
    /// An abbreviated image stream without the quantization table and the standard Huffman
    /// tables; decode it with the tables-only stream from `JPEGEncoder.tablesOnly(options:)`.
    /// Optimized Huffman tables are per image and are still written.
    case omitted
}
