import CWeightJPEG
import Foundation
import WeightJPEG

// The reading half of include/weightjpeg.h (Sources/CWeightJPEG/include): open, list, decode one
// tensor, metadata, close. Every function validates its pointers and indices and reports failures
// through `CStatus.run`; none traps on bad input.

/// The `OpenedFile` behind a handle.
private func opened(_ file: OpaquePointer?) throws -> OpenedFile {
    guard let file else { throw CInterfaceError.argument("file is NULL") }
    return Unmanaged<OpenedFile>.fromOpaque(UnsafeRawPointer(file)).takeUnretainedValue()
}

private func handle(_ file: OpenedFile) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(file).toOpaque())
}

/// `index` checked against the tensor count.
private func checked(_ index: Int, _ file: OpenedFile) throws -> Int {
    guard index >= 0, index < file.declarations.count else {
        throw CInterfaceError.argument("tensor index \(index) is out of range (\(file.declarations.count) tensors)")
    }
    return index
}

@_cdecl("wj_version")
public func wj_version() -> UnsafePointer<CChar> { CVersion.string }

@_cdecl("wj_api_version")
public func wj_api_version() -> Int32 { WJ_API_VERSION }

/// The version string as a C string that lives as long as the process.
enum CVersion {
    nonisolated(unsafe) static let string: UnsafePointer<CChar> = UnsafePointer(strdup(WeightJPEGVersion.current)!)
}

@_cdecl("wj_open")
public func wj_open(_ path: UnsafePointer<CChar>?, _ file: UnsafeMutablePointer<OpaquePointer?>?,
                    _ error: UnsafeMutablePointer<wj_error>?) -> Int32 {
    CStatus.run(error) {
        guard let file else { throw CInterfaceError.argument("file (the handle's address) is NULL") }
        file.pointee = nil
        let path = try CStatus.string(path, "path")
        file.pointee = handle(OpenedFile(try ContainerReader(path: path)))
    }
}

@_cdecl("wj_open_memory")
public func wj_open_memory(_ data: UnsafeRawPointer?, _ size: Int, _ file: UnsafeMutablePointer<OpaquePointer?>?,
                           _ error: UnsafeMutablePointer<wj_error>?) -> Int32 {
    CStatus.run(error) {
        guard let file else { throw CInterfaceError.argument("file (the handle's address) is NULL") }
        file.pointee = nil
        guard data != nil || size == 0 else { throw CInterfaceError.argument("data is NULL") }
        guard size >= 0 else { throw CInterfaceError.argument("size \(size) is negative") }
        let reader = try ContainerReader(copying: UnsafeRawBufferPointer(start: data, count: size), label: "<memory>")
        file.pointee = handle(OpenedFile(reader))
    }
}

@_cdecl("wj_close")
public func wj_close(_ file: OpaquePointer?) {
    guard let file else { return }
    Unmanaged<OpenedFile>.fromOpaque(UnsafeRawPointer(file)).release()
}

@_cdecl("wj_tensor_count")
public func wj_tensor_count(_ file: OpaquePointer?) -> Int {
    (try? opened(file).declarations.count) ?? 0
}

@_cdecl("wj_tensor_find")
public func wj_tensor_find(_ file: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ index: UnsafeMutablePointer<Int>?,
                           _ error: UnsafeMutablePointer<wj_error>?) -> Int32 {
    CStatus.run(error) {
        let file = try opened(file)
        let name = try CStatus.string(name, "name")
        guard let index else { throw CInterfaceError.argument("index is NULL") }
        guard let found = file.indexByName[name] else {
            throw CInterfaceError(code: WJ_ERROR_NOT_FOUND, description: "\(file.reader.path): no tensor named '\(name)'")
        }
        index.pointee = found
    }
}

@_cdecl("wj_tensor_info_get")
public func wj_tensor_info_get(_ file: OpaquePointer?, _ index: Int, _ info: UnsafeMutablePointer<wj_tensor_info>?,
                               _ error: UnsafeMutablePointer<wj_error>?) -> Int32 {
    CStatus.run(error) {
        let file = try opened(file)
        let d = file.declarations[try checked(index, file)]
        guard let info else { throw CInterfaceError.argument("info is NULL") }
        guard d.shape.count <= Int(WJ_MAX_RANK) else { throw CInterfaceError(code: WJ_ERROR_FORMAT, description: "tensor '\(d.name)' has rank \(d.shape.count)") }
        info.pointee.name = UnsafePointer(d.cName)
        info.pointee.dtype = UnsafePointer(d.cDType)
        info.pointee.coding = UnsafePointer(d.cCoding)
        info.pointee.rank = Int32(d.shape.count)
        withUnsafeMutableBytes(of: &info.pointee.shape) { raw in
            let dims = raw.bindMemory(to: Int64.self)
            for k in 0..<dims.count { dims[k] = k < d.shape.count ? Int64(d.shape[k]) : 0 }
        }
        info.pointee.decoded_bytes = UInt64(d.decodedBytes)
        info.pointee.stored_bytes = UInt64(d.storedBytes)
    }
}

@_cdecl("wj_tensor_read")
public func wj_tensor_read(_ file: OpaquePointer?, _ index: Int, _ buffer: UnsafeMutableRawPointer?, _ size: Int,
                           _ error: UnsafeMutablePointer<wj_error>?) -> Int32 {
    CStatus.run(error) {
        let file = try opened(file)
        let d = file.declarations[try checked(index, file)]
        guard size >= d.decodedBytes else {
            throw CInterfaceError(code: WJ_ERROR_BUFFER, description: "tensor '\(d.name)': buffer of \(size) bytes, the decoded tensor needs \(d.decodedBytes)")
        }
        guard buffer != nil || d.decodedBytes == 0 else { throw CInterfaceError.argument("buffer is NULL") }
        try file.read(index, into: UnsafeMutableRawBufferPointer(start: buffer, count: d.decodedBytes))
    }
}

@_cdecl("wj_has_metadata")
public func wj_has_metadata(_ file: OpaquePointer?) -> Int32 {
    (try? opened(file).metadata != nil) == true ? 1 : 0
}

@_cdecl("wj_metadata_count")
public func wj_metadata_count(_ file: OpaquePointer?) -> Int {
    (try? opened(file).metadata?.count) ?? 0
}

@_cdecl("wj_metadata_get")
public func wj_metadata_get(_ file: OpaquePointer?, _ index: Int, _ key: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                            _ value: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ error: UnsafeMutablePointer<wj_error>?) -> Int32 {
    CStatus.run(error) {
        let file = try opened(file)
        let pairs = file.metadata ?? []
        guard index >= 0, index < pairs.count else {
            throw CInterfaceError.argument("metadata index \(index) is out of range (\(pairs.count) pairs)")
        }
        guard let key, let value else { throw CInterfaceError.argument("key or value is NULL") }
        key.pointee = UnsafePointer(pairs[index].key)
        value.pointee = UnsafePointer(pairs[index].value)
    }
}
