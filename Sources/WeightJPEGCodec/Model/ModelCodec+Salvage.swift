import WeightJPEGFormats
/// What a salvaging decompression recovered.
public struct SalvageResult: Sendable {
    /// Every tensor that decoded, in the container's order, with the container's metadata.
    public var file: SafetensorsFile
    /// One error per tensor that could not be restored (failed checksum or bounds, or a payload that
    /// does not decode), in the container's order; each names the file and the tensor.
    public var damaged: [ContainerError]

    /// Whether every tensor was restored.
    public var isComplete: Bool { damaged.isEmpty }
}

extension ModelCodec {
    /// Restores every undamaged tensor of a container read with `salvage: true`; the damaged ones
    /// are listed instead of failing the whole file. A tensor is only ever included whole and with
    /// verified payloads (its CRC-32s matched), never partly.
    public static func salvage(_ container: Container, path: String) throws -> SalvageResult {
        let codec = try JPEGTensorCodec()
        var tensors: [SafetensorsTensor] = []
        var damaged: [ContainerError] = []
        for entry in container.entries {
            do {
                tensors.append(try decode(entry, codec: codec, path: path))
            } catch let e as ContainerError {
                damaged.append(e)
            } catch {
                damaged.append(ContainerError(path: path, tensor: entry.name, fault: .corruptPayload("\(error)")))
            }
        }
        return SalvageResult(file: SafetensorsFile(tensors: tensors, metadata: container.metadata), damaged: damaged)
    }
}
